package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"captcha/engine"
)

// App is one customer site: its credentials and the kind of challenge its keys get.
type App struct {
	ID         int64
	Name       string
	AppKey     string // the NHN credential; public in the Naver flow (its image URLs)
	SecretHash []byte // SHA-256 of the secret, which is shown once and never stored
	Enabled    bool
	API        API // the one dialect the app answers in
	Settings   AppSettings
	CreatedAt  time.Time
	// Hostnames are the hosts whose pages may embed the app's widget (dialect Widget), in
	// the canonical form ParseHostnames gives; none allows any (hostnames.go).
	Hostnames []string
}

// AppSettings say what an app's challenges look like and how long and how often they may be
// answered.
type AppSettings struct {
	engine.Options
	KeyLifetime time.Duration
	MaxAttempts int
	Escalation  Escalation
	// TokenLifetime is how long a widget's response token may be verified (token.go).
	TokenLifetime time.Duration
}

// Limits of the per-app settings.
const (
	DefaultKeyLifetime = 10 * time.Minute
	MinKeyLifetime     = 30 * time.Second // less would time out a person still reading
	MaxKeyLifetime     = 7200 * time.Second
	DefaultMaxAttempts = 1
	MaxAttemptsLimit   = 5
	// A response token is verified by the site's server right after the form is sent, so
	// minutes are plenty; the convention's is 300 s.
	DefaultTokenLifetime = 300 * time.Second
	MinTokenLifetime     = 30 * time.Second
	MaxTokenLifetime     = 3600 * time.Second
)

// DefaultAppSettings are what a new app gets unless told otherwise.
func DefaultAppSettings() AppSettings {
	return AppSettings{Options: engine.DefaultOptions(), KeyLifetime: DefaultKeyLifetime, MaxAttempts: DefaultMaxAttempts,
		Escalation: DefaultEscalation(), TokenLifetime: DefaultTokenLifetime}
}

// Validate reports the first setting that is out of range, as an *engine.FieldError.
func (s AppSettings) Validate() error {
	if err := s.Options.Validate(); err != nil {
		return err
	}
	if s.KeyLifetime < MinKeyLifetime || s.KeyLifetime > MaxKeyLifetime || s.KeyLifetime%time.Second != 0 {
		return &engine.FieldError{Field: "lifetime", Value: s.KeyLifetime,
			Allowed: fmt.Sprintf("whole seconds from %v to %v", MinKeyLifetime, MaxKeyLifetime)}
	}
	if s.MaxAttempts < 1 || s.MaxAttempts > MaxAttemptsLimit {
		return &engine.FieldError{Field: "attempts", Value: s.MaxAttempts, Allowed: fmt.Sprintf("1 to %d", MaxAttemptsLimit)}
	}
	if s.TokenLifetime < MinTokenLifetime || s.TokenLifetime > MaxTokenLifetime || s.TokenLifetime%time.Second != 0 {
		return &engine.FieldError{Field: "token_lifetime", Value: s.TokenLifetime,
			Allowed: fmt.Sprintf("whole seconds from %v to %v", MinTokenLifetime, MaxTokenLifetime)}
	}
	return s.Escalation.Validate()
}

// Credential sizes. An appkey is 128 random bits in hex (it is the only credential of the
// NHN dialect, so it must not be guessable); a secret is 256 random bits in base64url.
const (
	appKeyBytes = 16
	secretBytes = 32
)

// CreateApp registers an app that answers in api and returns it with its secret, which
// exists nowhere else afterwards: only its hash is stored.
func (s *Service) CreateApp(ctx context.Context, name string, api API, settings AppSettings) (*App, string, error) {
	return s.createApp(ctx, name, api, settings, nil)
}

// CreateWidgetApp registers an app of the Widget dialect whose widget pages of hostnames
// may embed (any, when there are none), in the same step: an app never exists, however
// briefly, that allows more than it was created to.
func (s *Service) CreateWidgetApp(ctx context.Context, name string, settings AppSettings, hostnames []string) (*App, string, error) {
	return s.createApp(ctx, name, Widget, settings, hostnames)
}

func (s *Service) createApp(ctx context.Context, name string, api API, settings AppSettings, hostnames []string) (*App, string, error) {
	hostnames, err := CanonicalHostnames(hostnames)
	if err != nil {
		return nil, "", err
	}
	name = strings.TrimSpace(name)
	if !validAppName(name) {
		return nil, "", ErrAppNameInvalid
	}
	if err := api.Validate(); err != nil {
		return nil, "", err
	}
	if err := settings.Validate(); err != nil {
		return nil, "", err
	}
	key := make([]byte, appKeyBytes)
	rand.Read(key)
	secretText := newSecret()
	app := &App{
		Name:       name,
		AppKey:     hex.EncodeToString(key),
		SecretHash: hashSecret(secretText),
		Enabled:    true,
		API:        api,
		Settings:   settings,
		CreatedAt:  s.now().Truncate(time.Millisecond),
		Hostnames:  hostnames,
	}
	if err := s.store.CreateApp(ctx, app); err != nil {
		return nil, "", err
	}
	return app, secretText, nil
}

func validAppName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// newSecret draws an app secret; CreateApp and RotateSecret store only its hash.
func newSecret() string {
	secret := make([]byte, secretBytes)
	rand.Read(secret)
	return base64.RawURLEncoding.EncodeToString(secret)
}

// hashSecret is a plain SHA-256: the secret is 256 random bits, so there is nothing for a
// slow password hash to protect, every Naver request checks it, and /siteverify looks an
// app up by it.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// App returns the enabled app that has this appkey and answers in api: ErrUnknownApp or
// ErrAppDisabled otherwise. An app of another dialect is ErrUnknownApp, like an appkey no
// app has, even when disabled: a dialect reaches its own apps only, and a caller of another
// learns nothing from trying (but for timing, since apps found recently are cached). The
// NHN dialect authenticates with the appkey alone, as that cloud does.
func (s *Service) App(ctx context.Context, api API, appKey string) (*App, error) {
	if !validAppKey(appKey) {
		return nil, ErrUnknownApp // cannot be one of ours: spare the database
	}
	app, err := s.store.AppByKey(ctx, appKey)
	if err != nil {
		return nil, err
	}
	if app.API != api {
		return nil, ErrUnknownApp
	}
	if !app.Enabled {
		return nil, ErrAppDisabled
	}
	return app, nil
}

// AuthenticateApp returns the enabled app of api whose appkey and secret these are. The
// secret is compared in constant time.
func (s *Service) AuthenticateApp(ctx context.Context, api API, appKey, secret string) (*App, error) {
	app, err := s.App(ctx, api, appKey)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(hashSecret(secret), app.SecretHash) != 1 {
		return nil, ErrBadSecret
	}
	return app, nil
}

func validAppKey(k string) bool {
	if len(k) != 2*appKeyBytes {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Apps lists every app, enabled or not, oldest first.
func (s *Service) Apps(ctx context.Context) ([]*App, error) { return s.store.ListApps(ctx) }

// SetAppEnabled disables or re-enables an app. A disabled app's keys cannot be fetched or
// verified, and it cannot issue new ones.
func (s *Service) SetAppEnabled(ctx context.Context, appKey string, enabled bool) error {
	if !validAppKey(appKey) {
		return ErrUnknownApp
	}
	return s.store.SetAppEnabled(ctx, appKey, enabled)
}

// SetAppAPI switches the dialect an app answers in. Its keys already issued can then be
// fetched and verified only through the new dialect.
func (s *Service) SetAppAPI(ctx context.Context, appKey string, api API) error {
	if err := api.Validate(); err != nil {
		return err
	}
	if !validAppKey(appKey) {
		return ErrUnknownApp
	}
	return s.store.SetAppAPI(ctx, appKey, api)
}

// DeleteApp removes an app with its keys and its verification history.
func (s *Service) DeleteApp(ctx context.Context, appKey string) error {
	if !validAppKey(appKey) {
		return ErrUnknownApp
	}
	return s.store.DeleteApp(ctx, appKey)
}
