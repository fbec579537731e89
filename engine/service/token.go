package service

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Response tokens, the widget dialect's half of the convention that reCAPTCHA, hCaptcha and
// Turnstile share. The widget answers a challenge in the visitor's browser; a right answer
// gets a response token, which the page posts with its form, and the site's server checks
// the token with one call to /siteverify, authenticated by the app's secret. A token is 256
// bits of crypto/rand, says nothing about the challenge or its answer, is kept only as its
// SHA-256, and is redeemed once: of any number of concurrent verifications, on any nodes,
// exactly one succeeds (Store.RedeemToken). A verification may name an idempotency key; a
// repeat of the successful one with the same key gets the same answer again, so that a site
// whose first call timed out can ask again.

// Token is a response token as stored: everything /siteverify answers, and its redemption.
type Token struct {
	Hash        []byte // SHA-256 of the token, which is never stored
	AppID       int64
	ChallengeAt time.Time // when the challenge was solved
	// Hostname is the host of the page that solved the challenge (the Origin of its answer),
	// "" when the request carried none; Action and CData are what the widget sent with it.
	Hostname, Action, CData string
	ExpiresAt               time.Time
	RedeemedAt              time.Time // zero until a verification redeems it
	IdempotencyKey          string    // the redeeming verification's, "" when it sent none
}

// tokenBytes is a token's randomness; base64url makes it 43 characters, far under the
// convention's 2,048.
const tokenBytes = 32

var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// Limits of what the widget sends with an answer and a site with a verification.
const (
	MaxActionLength         = 64
	MaxCDataLength          = 255
	MaxIdempotencyKeyLength = 128
	maxSecretLength         = 256 // a secret is 43 characters: anything much longer is none
)

// expiredTokenGrace is how long housekeeping keeps a token past its expiry, so that a late
// repeat is told it came too late (or twice) rather than that the token is unknown.
const expiredTokenGrace = time.Hour

// The errors of the widget dialect beyond the shared ones (errors.go).
var (
	// ErrBadTokenData wraps what is refused in an answer's action or cdata, or in a
	// verification's idempotency key.
	ErrBadTokenData      = errors.New("invalid parameter")
	ErrBadAction         = fmt.Errorf("%w: action must be at most %d characters of A-Z a-z 0-9 _ - . / :", ErrBadTokenData, MaxActionLength)
	ErrBadCData          = fmt.Errorf("%w: cdata must be at most %d printable characters", ErrBadTokenData, MaxCDataLength)
	ErrBadIdempotencyKey = fmt.Errorf("%w: idempotency_key must be at most %d printable ASCII characters",
		ErrBadTokenData, MaxIdempotencyKeyLength)
	// ErrTokenInvalid: no such token of this app (never issued, another app's, deleted, or a
	// site key that is not its app's).
	ErrTokenInvalid = errors.New("invalid response token")
	// ErrTokenUsed: the token expired, or was redeemed by another verification.
	ErrTokenUsed = errors.New("response token expired or already verified")
)

// WidgetAnswer is what the widget sends with an answer besides the key and the answer.
type WidgetAnswer struct {
	Hostname string // the host of the page's Origin, "" when none
	Action   string
	CData    string
}

func (w WidgetAnswer) validate() error {
	if len(w.Action) > MaxActionLength {
		return ErrBadAction
	}
	for _, c := range []byte(w.Action) {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && !isActionPunct(c) {
			return ErrBadAction
		}
	}
	if !utf8.ValidString(w.CData) || utf8.RuneCountInString(w.CData) > MaxCDataLength {
		return ErrBadCData
	}
	for _, r := range w.CData {
		if !unicode.IsPrint(r) {
			return ErrBadCData
		}
	}
	return nil
}

func isActionPunct(c byte) bool { return c == '_' || c == '-' || c == '.' || c == '/' || c == ':' }

// IssuedToken is a token as handed to the widget, once: only its hash is kept.
type IssuedToken struct {
	Token     string
	ExpiresIn time.Duration
}

// AnswerWidget verifies an answer to one of a widget app's keys (Verify: the statistics,
// escalation and single use are the other dialects') and, when it passes, issues a response
// token for it. Its errors are Verify's, or ErrBadTokenData before anything is verified.
func (s *Service) AnswerWidget(ctx context.Context, app *App, keyID, answer string, w WidgetAnswer) (IssuedToken, error) {
	if err := w.validate(); err != nil {
		return IssuedToken{}, err
	}
	if _, err := s.Verify(ctx, app, keyID, answer, NoChannel); err != nil {
		return IssuedToken{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(randomToken(tokenBytes))
	now := s.now().Truncate(time.Millisecond)
	lifetime := app.Settings.TokenLifetime
	t := &Token{Hash: hashToken(token), AppID: app.ID, ChallengeAt: now, Hostname: w.Hostname, Action: w.Action,
		CData: w.CData, ExpiresAt: now.Add(lifetime)}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return IssuedToken{}, fmt.Errorf("storing a response token: %w", err)
	}
	return IssuedToken{Token: token, ExpiresIn: lifetime}, nil
}

// validTokenText rejects what cannot be one of our tokens before it reaches the database.
func validTokenText(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// SiteVerification is one call of /siteverify.
type SiteVerification struct {
	Secret, Response string
	// SiteKey, when given, must be the token's app's appkey; IdempotencyKey, when given,
	// lets a repeat of the redeeming call get its answer again.
	SiteKey, IdempotencyKey string
}

// SiteVerify redeems a response token for the widget app whose secret this is, and returns
// it. The errors: ErrBadSecret (no enabled widget app has this secret), ErrTokenInvalid (no
// such token of that app, or a SiteKey that is not the app's), ErrTokenUsed (expired, or
// redeemed by another verification), ErrBadIdempotencyKey.
func (s *Service) SiteVerify(ctx context.Context, v SiteVerification) (*Token, error) {
	if l := len(v.IdempotencyKey); l > MaxIdempotencyKeyLength || !printableASCII(v.IdempotencyKey) {
		return nil, ErrBadIdempotencyKey
	}
	app, err := s.appBySecret(ctx, v.Secret)
	if err != nil {
		return nil, err
	}
	// A site key names the app the site meant; one that is not the token's app's makes the
	// token no token of it, as the convention answers for a token of another site.
	if v.SiteKey != "" && subtle.ConstantTimeCompare([]byte(v.SiteKey), []byte(app.AppKey)) != 1 {
		return nil, ErrTokenInvalid
	}
	if !validTokenText(v.Response) {
		return nil, ErrTokenInvalid
	}
	now := s.now().Truncate(time.Millisecond)
	t, redeemed, err := s.store.RedeemToken(ctx, hashToken(v.Response), app.ID, v.IdempotencyKey, now)
	if err != nil {
		return nil, err
	}
	switch {
	case redeemed:
		return t, nil
	case v.IdempotencyKey != "" && now.Before(t.ExpiresAt) &&
		subtle.ConstantTimeCompare([]byte(v.IdempotencyKey), []byte(t.IdempotencyKey)) == 1:
		return t, nil // the redeeming call again: its answer again
	}
	return nil, ErrTokenUsed
}

// appBySecret returns the enabled widget app whose secret this is, or ErrBadSecret.
func (s *Service) appBySecret(ctx context.Context, secret string) (*App, error) {
	if secret == "" || len(secret) > maxSecretLength {
		return nil, ErrBadSecret
	}
	hash := hashSecret(secret)
	app, err := s.store.AppBySecretHash(ctx, hash)
	if errors.Is(err, ErrUnknownApp) {
		return nil, ErrBadSecret
	}
	if err != nil {
		return nil, err
	}
	// The store found it by the hash; compared again in constant time all the same, so that
	// nothing rests on how a database compares.
	if app.API != Widget || !app.Enabled || subtle.ConstantTimeCompare(hash, app.SecretHash) != 1 {
		return nil, ErrBadSecret
	}
	return app, nil
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// DeleteExpiredTokens deletes the response tokens that expired over expiredTokenGrace ago.
func (s *Service) DeleteExpiredTokens(ctx context.Context) {
	n, err := s.store.DeleteExpiredTokens(ctx, s.now().Add(-expiredTokenGrace))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("deleting expired response tokens", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Debug("deleted expired response tokens", "deleted", n)
	}
}
