package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

func TestUpdateApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	old := f.key(t, app)

	s := service.DefaultAppSettings()
	s.Charset, s.Length, s.Lang, s.KeyLifetime, s.MaxAttempts = engine.Hangul, 4, engine.Korean, time.Hour, 3
	got, err := f.svc.UpdateApp(ctx, app.ID, "  shop 2 ", service.Naver, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "shop 2" || got.API != service.Naver || got.Settings != s || got.AppKey != app.AppKey {
		t.Errorf("updated to %+v", got)
	}
	if k := f.key(t, got); k.Options.Charset != engine.Hangul || k.MaxAttempts != 3 {
		t.Errorf("a new key was issued with %+v", k)
	}
	// A key issued before the change keeps its own options.
	if _, err := f.svc.Verify(ctx, got, old.ID, old.Answer, service.NoChannel); err != nil {
		t.Errorf("the older key: %v", err)
	}
}

// An invalid value is refused with the field it concerns, and changes nothing.
func TestUpdateAppRefusesInvalidSettings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	for _, tc := range []struct {
		field  string
		change func(*service.AppSettings)
	}{
		{"length", func(s *service.AppSettings) { s.Length = engine.MaxLength + 1 }},
		{"width", func(s *service.AppSettings) { s.Width = 10 }},
		{"lang", func(s *service.AppSettings) { s.Charset = engine.Hangul }},
		{"lifetime", func(s *service.AppSettings) { s.KeyLifetime = service.MaxKeyLifetime + time.Second }},
		{"attempts", func(s *service.AppSettings) { s.MaxAttempts = service.MaxAttemptsLimit + 1 }},
	} {
		s := service.DefaultAppSettings()
		tc.change(&s)
		_, err := f.svc.UpdateApp(ctx, app.ID, "renamed", service.NHN, s)
		var fe *engine.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	for _, api := range []service.API{"", "recaptcha", "NHN"} {
		_, err := f.svc.UpdateApp(ctx, app.ID, "renamed", api, service.DefaultAppSettings())
		var fe *engine.FieldError
		if !errors.As(err, &fe) || fe.Field != "api" || fe.Allowed != "nhn, naver, widget" {
			t.Errorf("api %q: got %v", api, err)
		}
	}
	if _, err := f.svc.UpdateApp(ctx, app.ID, " ", service.NHN, service.DefaultAppSettings()); !errors.Is(err, service.ErrAppNameInvalid) {
		t.Errorf("blank name: %v", err)
	}
	if _, err := f.svc.UpdateApp(ctx, 9999, "x", service.NHN, service.DefaultAppSettings()); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("unknown app: %v", err)
	}
	if got, _ := f.svc.AppByID(ctx, app.ID); got.Name != app.Name || got.API != app.API || got.Settings != app.Settings {
		t.Errorf("a refused update changed the app: %+v", got)
	}
}

func TestRotateSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app, old, err := f.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	secret, err := f.svc.RotateSecret(ctx, app.ID)
	if err != nil || secret == old || len(secret) != len(old) {
		t.Fatalf("rotated %q (was %q): %v", secret, old, err)
	}
	if _, err := f.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, old); !errors.Is(err, service.ErrBadSecret) {
		t.Errorf("the old secret: %v", err)
	}
	if _, err := f.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, secret); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	if _, err := f.svc.RotateSecret(ctx, 9999); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("unknown app: %v", err)
	}
}

func TestEnsureDemoApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.DemoApp(ctx); !errors.Is(err, service.ErrUnknownApp) {
		t.Fatalf("before: %v", err)
	}
	app, created, err := f.svc.EnsureDemoApp(ctx)
	if err != nil || !created || app.Name != service.DemoAppName || !app.Enabled {
		t.Fatalf("first: %+v %v %v", app, created, err)
	}
	again, created, err := f.svc.EnsureDemoApp(ctx)
	if err != nil || created || again.ID != app.ID {
		t.Fatalf("second: %+v %v %v", again, created, err)
	}
	if app.API != service.Widget || len(app.Hostnames) != 0 {
		t.Errorf("the demo app speaks %s for %q; want a widget app for any page", app.API, app.Hostnames)
	}
	assertDemoSecret(t, f, app)
}

// A demo app from before the widget becomes a widget app at the next start, and a rotated
// secret is put back; the demo page's tokens redeem with DemoSecret.
func TestEnsureDemoAppConvertsAnOldOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old, _, err := f.svc.CreateApp(ctx, service.DemoAppName, service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	app, created, err := f.svc.EnsureDemoApp(ctx)
	if err != nil || created || app.ID != old.ID || app.API != service.Widget {
		t.Fatalf("%+v %v %v", app, created, err)
	}
	assertDemoSecret(t, f, app)
	if _, err := f.svc.RotateSecret(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if app, _, err = f.svc.EnsureDemoApp(ctx); err != nil {
		t.Fatal(err)
	}
	assertDemoSecret(t, f, app)
}

// assertDemoSecret redeems a token of the demo app with DemoSecret, as the demo page does.
func assertDemoSecret(t *testing.T, f *fixture, app *service.App) {
	t.Helper()
	ctx := context.Background()
	secret, err := f.svc.DemoSecret(ctx)
	if err != nil || len(secret) != 43 {
		t.Fatalf("DemoSecret: %q, %v", secret, err)
	}
	if again, _ := f.svc.DemoSecret(ctx); again != secret {
		t.Fatal("DemoSecret changes")
	}
	k, err := f.svc.IssueKey(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := f.svc.AnswerWidget(ctx, app, k.ID, k.Answer, service.WidgetAnswer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SiteVerify(ctx, service.SiteVerification{Secret: secret, Response: issued.Token, SiteKey: app.AppKey}); err != nil {
		t.Errorf("the demo app's token with DemoSecret: %v", err)
	}
}
