package service

import (
	"context"
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

// EnsureDemoApp returns the demo app, creating it with the default settings if there is
// none, and says whether it did. It speaks NHN, whose browsers load challenges by the key
// alone, as the demo page does. Its secret is thrown away: the demo page calls the service
// directly, and an operator who wants to call the API as the demo app rotates it.
func (s *Service) EnsureDemoApp(ctx context.Context) (*App, bool, error) {
	app, err := s.DemoApp(ctx)
	if !errors.Is(err, ErrUnknownApp) {
		return app, false, err
	}
	app, _, err = s.CreateApp(ctx, DemoAppName, NHN, DefaultAppSettings())
	return app, err == nil, err
}
