package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// What operators do to apps beyond creating, disabling and deleting them (app.go): look one
// up by its ID (the admin UI's URLs carry IDs, not appkeys, so that an appkey never lands in
// a browser history or a proxy log), edit it, rotate its secret, and keep the demo app.

// AppByID returns an app, enabled or not, or ErrUnknownApp.
func (s *Service) AppByID(ctx context.Context, id int64) (*App, error) {
	if id <= 0 {
		return nil, ErrUnknownApp
	}
	return s.store.AppByID(ctx, id)
}

// UpdateApp renames an app and replaces its dialect and settings, after checking them all:
// an invalid value changes nothing. Keys already issued keep the options they were issued
// with.
func (s *Service) UpdateApp(ctx context.Context, id int64, name string, api API, settings AppSettings) (*App, error) {
	name = strings.TrimSpace(name)
	if !validAppName(name) {
		return nil, ErrAppNameInvalid
	}
	if err := api.Validate(); err != nil {
		return nil, err
	}
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, ErrUnknownApp
	}
	if err := s.store.UpdateApp(ctx, id, name, api, settings); err != nil {
		return nil, err
	}
	return s.store.AppByID(ctx, id)
}

// RotateSecret gives an app a new secret and returns it; like the first one, it is never
// stored and cannot be shown again. The old secret stops working at once. The appkey does not
// change, so keys already issued stay valid.
func (s *Service) RotateSecret(ctx context.Context, id int64) (string, error) {
	if id <= 0 {
		return "", ErrUnknownApp
	}
	secret := newSecret()
	if err := s.store.SetAppSecret(ctx, id, hashSecret(secret)); err != nil {
		return "", err
	}
	return secret, nil
}

// DemoAppName is the name of the built-in app the demo page issues its keys for.
const DemoAppName = "demo"

// DemoApp returns the demo app: the oldest app named DemoAppName, enabled or not, or
// ErrUnknownApp. An operator turns the demo page off by disabling it.
func (s *Service) DemoApp(ctx context.Context) (*App, error) {
	apps, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	for _, app := range apps {
		if app.Name == DemoAppName {
			return app, nil
		}
	}
	return nil, ErrUnknownApp
}

// EnsureDemoApp returns the demo app, creating it if there is none, and says whether it did.
// The demo page embeds the widget as a customer's site would, so the demo app is a widget
// app. It allows every page: the page is on this server's own origin, under whatever host
// name an operator serves it. Its secret is DemoSecret, with which the page's server side
// redeems the widget's tokens as a site's server does at /siteverify. A demo app from before
// the widget, of another dialect, becomes a widget app, and a secret rotated in the admin UI
// is put back: both at the next start.
func (s *Service) EnsureDemoApp(ctx context.Context) (*App, bool, error) {
	secret, err := s.DemoSecret(ctx)
	if err != nil {
		return nil, false, err
	}
	app, err := s.DemoApp(ctx)
	created := errors.Is(err, ErrUnknownApp)
	switch {
	case created:
		if app, _, err = s.CreateWidgetApp(ctx, DemoAppName, DefaultAppSettings(), nil); err != nil {
			return nil, false, err
		}
	case err != nil:
		return nil, false, err
	}
	if app.API != Widget {
		if err := s.SetAppAPI(ctx, app.AppKey, Widget); err != nil {
			return nil, false, err
		}
		app.API = Widget
	}
	if hash := hashSecret(secret); subtle.ConstantTimeCompare(hash, app.SecretHash) != 1 {
		if err := s.store.SetAppSecret(ctx, app.ID, hash); err != nil {
			return nil, false, err
		}
		app.SecretHash = hash
	}
	return app, created, nil
}

// DemoSecret is the demo app's secret, derived from the server secret: every node on one
// database knows it, and no file or column holds it. The label keeps it apart from the
// seeds drawn from the same secret, whose inputs are key ids (no spaces).
func (s *Service) DemoSecret(ctx context.Context) (string, error) {
	key, err := s.store.ServerSecret(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("demo app secret v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}
