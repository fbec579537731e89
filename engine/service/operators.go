package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Operators are the people who manage the server through the admin UI. Their accounts and
// sessions are a concern apart from the CAPTCHA API's, so they have their own type and
// store interface: the API never needs them, and a Store need not implement them.

// Operator is an account that may sign in to the admin UI.
type Operator struct {
	ID           int64
	Name         string
	PasswordHash []byte // bcrypt
	CreatedAt    time.Time
	// UpdatedAt is when the password was last set: nothing else about an operator changes.
	UpdatedAt time.Time
	// MustChangePassword marks a password that was generated, not chosen: the operator
	// must choose one before doing anything else in the admin UI.
	MustChangePassword bool
}

// Session is a signed-in operator. Its token lives only in the operator's cookie; the store
// keeps its SHA-256.
type Session struct {
	TokenHash    []byte
	OperatorID   int64
	OperatorName string
	// MustChangePassword is the operator's: it still has the password it was given.
	MustChangePassword bool
	// CSRFToken goes in every form of the session and must come back with it.
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OperatorStore keeps operators and their sessions; engine/sqlite implements it. Lookups
// that find nothing return ErrUnknownOperator or ErrNoSession.
type OperatorStore interface {
	// CreateFirstOperator inserts op, setting its ID, only if there is no operator at all,
	// atomically; it says whether it did.
	CreateFirstOperator(ctx context.Context, op *Operator) (bool, error)
	// SetOperatorPassword creates the operator or replaces its password, clears its
	// MustChangePassword, and ends every session it has, in one transaction.
	SetOperatorPassword(ctx context.Context, name string, hash []byte, at time.Time) error
	OperatorByName(ctx context.Context, name string) (*Operator, error)

	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns the session, with its operator's name and
	// MustChangePassword, if it has not expired by now.
	SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (*Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}

// Errors of operator accounts and sessions.
var (
	ErrUnknownOperator     = errors.New("no such operator")
	ErrBadLogin            = errors.New("wrong user name or password")
	ErrNoSession           = errors.New("no such session, or it expired")
	ErrOperatorNameInvalid = errors.New("a user name is 1 to 64 letters, digits, dots, dashes, underscores or @")
	ErrPasswordTooShort    = fmt.Errorf("a password needs at least %d characters", MinPasswordLength)
	// bcrypt reads only the first 72 bytes; refusing more beats silently ignoring the rest.
	ErrPasswordTooLong = fmt.Errorf("a password may have at most %d bytes", MaxPasswordBytes)
)

// Password limits.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

// DefaultSessionLifetime is how long a sign-in lasts: a working day, after which the
// operator signs in again whatever they did meanwhile.
const DefaultSessionLifetime = 12 * time.Hour

// FirstOperatorName is the account created on the first start.
const FirstOperatorName = "admin"

// OperatorOptions tune Operators; zero values get the defaults.
type OperatorOptions struct {
	Now             func() time.Time
	SessionLifetime time.Duration
	// PasswordCost is the bcrypt cost; bcrypt.DefaultCost when 0. Tests lower it.
	PasswordCost int
	// CompareHashAndPassword checks a password against its hash; bcrypt's when nil. Tests
	// count and hold the checks through it, to see how many attempts get that far.
	CompareHashAndPassword func(hash, password []byte) error
}

// Operators manages operator accounts and sessions.
type Operators struct {
	store    OperatorStore
	now      func() time.Time
	lifetime time.Duration
	cost     int
	compare  func(hash, password []byte) error
	// decoy is compared against when the user name is unknown, so that a wrong name takes
	// as long as a wrong password and does not tell which accounts exist.
	decoy []byte
}

// NewOperators returns the operator accounts kept in store.
func NewOperators(store OperatorStore, o OperatorOptions) (*Operators, error) {
	ops := &Operators{store: store, now: o.Now, lifetime: o.SessionLifetime, cost: o.PasswordCost,
		compare: o.CompareHashAndPassword}
	if ops.now == nil {
		ops.now = time.Now
	}
	if ops.compare == nil {
		ops.compare = bcrypt.CompareHashAndPassword
	}
	if ops.lifetime <= 0 {
		ops.lifetime = DefaultSessionLifetime
	}
	if ops.cost == 0 {
		ops.cost = bcrypt.DefaultCost
	}
	decoy, err := bcrypt.GenerateFromPassword(randomToken(16), ops.cost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt cost %d: %w", ops.cost, err)
	}
	ops.decoy = decoy
	return ops, nil
}

// ValidOperatorName reports whether name may name an account.
func ValidOperatorName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '@':
		default:
			return false
		}
	}
	return true
}

// CheckPassword says why a password may not be used, or nil.
func CheckPassword(password string) error {
	switch {
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return ErrPasswordTooShort
	}
	return nil
}

// SetPassword creates the operator or resets its password, and signs it out everywhere.
// The password is one a person chose, so the operator need not change it.
func (o *Operators) SetPassword(ctx context.Context, name, password string) error {
	if !ValidOperatorName(name) {
		return ErrOperatorNameInvalid
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), o.cost)
	if err != nil {
		return err
	}
	return o.store.SetOperatorPassword(ctx, name, hash, o.now().Truncate(time.Millisecond))
}

// EnsureFirstOperator creates the FirstOperatorName account with a random password when
// there is no operator at all, and returns the password, which is stored only as its hash.
// The account must change it at its first sign-in. created is false, and the password
// empty, when an operator already existed.
func (o *Operators) EnsureFirstOperator(ctx context.Context) (password string, created bool, err error) {
	// 15 bytes: 120 bits, 20 characters of base64url.
	password = base64.RawURLEncoding.EncodeToString(randomToken(15))
	hash, err := bcrypt.GenerateFromPassword([]byte(password), o.cost)
	if err != nil {
		return "", false, err
	}
	now := o.now().Truncate(time.Millisecond)
	created, err = o.store.CreateFirstOperator(ctx, &Operator{Name: FirstOperatorName, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now, MustChangePassword: true})
	if err != nil || !created {
		return "", false, err
	}
	return password, true, nil
}

// Authenticate checks a user name and password: ErrBadLogin, whichever is wrong.
func (o *Operators) Authenticate(ctx context.Context, name, password string) (*Operator, error) {
	op, err := o.store.OperatorByName(ctx, name)
	if errors.Is(err, ErrUnknownOperator) || (err == nil && len(password) > MaxPasswordBytes) {
		o.compare(o.decoy, []byte(password))
		return nil, ErrBadLogin
	}
	if err != nil {
		return nil, err
	}
	if o.compare(op.PasswordHash, []byte(password)) != nil {
		return nil, ErrBadLogin
	}
	return op, nil
}

// PasswordSetAt is when name's password was last set, or the zero time when there is no
// such operator. The admin UI's sign-in throttle keys an account's records by it, so that a
// password set in another process, by `captcha admin passwd`, lifts the account's blocks.
func (o *Operators) PasswordSetAt(ctx context.Context, name string) (time.Time, error) {
	op, err := o.store.OperatorByName(ctx, name)
	if errors.Is(err, ErrUnknownOperator) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return op.UpdatedAt, nil
}

// Login authenticates and opens a session, returning the token for the cookie.
func (o *Operators) Login(ctx context.Context, name, password string) (string, *Session, error) {
	op, err := o.Authenticate(ctx, name, password)
	if err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(randomToken(32)) // 256 bits
	now := o.now().Truncate(time.Millisecond)
	s := &Session{
		TokenHash:          hashToken(token),
		OperatorID:         op.ID,
		OperatorName:       op.Name,
		MustChangePassword: op.MustChangePassword,
		CSRFToken:          base64.RawURLEncoding.EncodeToString(randomToken(32)),
		CreatedAt:          now,
		ExpiresAt:          now.Add(o.lifetime),
	}
	if err := o.store.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	return token, s, nil
}

// Session returns the live session of a cookie's token, or ErrNoSession.
func (o *Operators) Session(ctx context.Context, token string) (*Session, error) {
	// Anything else cannot be one of ours: spare the database.
	if len(token) != base64.RawURLEncoding.EncodedLen(32) {
		return nil, ErrNoSession
	}
	return o.store.SessionByTokenHash(ctx, hashToken(token), o.now())
}

// Logout ends a session; ending one that has already ended is not an error.
func (o *Operators) Logout(ctx context.Context, s *Session) error {
	return o.store.DeleteSession(ctx, s.TokenHash)
}

// ChangePassword replaces a signed-in operator's password after checking the current one.
// Every session of the operator ends, this one included. A new password that may not be
// used is refused before the current one is checked, so that the check's answer is never
// thrown away.
func (o *Operators) ChangePassword(ctx context.Context, s *Session, current, next string) error {
	if err := CheckPassword(next); err != nil {
		return err
	}
	if _, err := o.Authenticate(ctx, s.OperatorName, current); err != nil {
		return err
	}
	return o.SetPassword(ctx, s.OperatorName, next)
}

// DeleteExpiredSessions removes the sessions that have expired.
func (o *Operators) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	return o.store.DeleteExpiredSessions(ctx, o.now())
}

func randomToken(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// hashToken is a plain SHA-256: a session token, like a widget's response token, is 256
// random bits, so a slow hash would protect nothing, and every admin request checks one.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
