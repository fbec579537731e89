package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

func (f *fixture) widgetApp(t *testing.T, hostnames ...string) (*service.App, string) {
	t.Helper()
	s := service.DefaultAppSettings()
	s.MaxAttempts = 3 // a widget key allows one answer whatever the app says
	app, secret, err := f.svc.CreateWidgetApp(context.Background(), "widget", s, hostnames)
	if err != nil {
		t.Fatal(err)
	}
	return app, secret
}

// A right answer gets a token that /siteverify redeems once, for its own app's secret; a
// repeat with the redeeming call's idempotency key gets the same answer until it expires.
func TestWidgetTokenFlow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	app, secret := f.widgetApp(t, "Shop.Example.", "shop.example")
	if !slices.Equal(app.Hostnames, []string{"shop.example"}) {
		t.Errorf("hostnames %q", app.Hostnames)
	}
	_, otherSecret := f.widgetApp(t)
	nhn, nhnSecret, err := f.svc.CreateApp(ctx, "nhn", service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	k := f.key(t, app)
	if k.MaxAttempts != 1 {
		t.Errorf("a widget key allows %d answers", k.MaxAttempts)
	}
	w := service.WidgetAnswer{Hostname: "shop.example", Action: "login/v2", CData: "세션 42"}
	issued, err := f.svc.AnswerWidget(ctx, app, k.ID, k.Answer, w)
	if err != nil || len(issued.Token) != 43 || issued.ExpiresIn != service.DefaultTokenLifetime {
		t.Fatalf("issued %+v, %v", issued, err)
	}
	solved := f.clock.Now()
	if strings.Contains(issued.Token, k.Answer) || strings.Contains(issued.Token, k.ID) {
		t.Error("the token shows the answer or the key")
	}
	f.clock.Advance(10 * time.Second)

	for name, v := range map[string]service.SiteVerification{
		"another app's secret":     {Secret: otherSecret, Response: issued.Token},
		"a site key not the app's": {Secret: secret, Response: issued.Token, SiteKey: nhn.AppKey},
		"a token never issued":     {Secret: secret, Response: strings.Repeat("A", 43)},
		"a malformed token":        {Secret: secret, Response: "not a token"},
	} {
		if _, err := f.svc.SiteVerify(ctx, v); !errors.Is(err, service.ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, s := range map[string]string{"an unknown secret": "nope", "no secret": "", "an NHN app's": nhnSecret} {
		if _, err := f.svc.SiteVerify(ctx, service.SiteVerification{Secret: s, Response: issued.Token}); !errors.Is(err, service.ErrBadSecret) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.svc.SiteVerify(ctx, service.SiteVerification{Secret: secret, Response: issued.Token,
		IdempotencyKey: "with space"}); !errors.Is(err, service.ErrBadTokenData) {
		t.Errorf("a bad idempotency key: %v", err)
	}

	v := service.SiteVerification{Secret: secret, Response: issued.Token, SiteKey: app.AppKey, IdempotencyKey: "req-1"}
	tok, err := f.svc.SiteVerify(ctx, v)
	if err != nil || !tok.ChallengeAt.Equal(solved) || tok.Hostname != "shop.example" || tok.Action != w.Action || tok.CData != w.CData {
		t.Fatalf("verified %+v, %v", tok, err)
	}
	if again, err := f.svc.SiteVerify(ctx, v); err != nil || !again.ChallengeAt.Equal(solved) {
		t.Errorf("the same call again: %+v, %v", again, err)
	}
	for _, ik := range []string{"", "req-2"} {
		v.IdempotencyKey = ik
		if _, err := f.svc.SiteVerify(ctx, v); !errors.Is(err, service.ErrTokenUsed) {
			t.Errorf("a second verification with idempotency key %q: %v", ik, err)
		}
	}
	f.clock.Advance(service.DefaultTokenLifetime)
	v.IdempotencyKey = "req-1"
	if _, err := f.svc.SiteVerify(ctx, v); !errors.Is(err, service.ErrTokenUsed) {
		t.Errorf("the first call again once the token expired: %v", err)
	}
}

// A wrong answer uses the key up and gets no token; an expired token is refused.
func TestWidgetWrongAnswerAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	app, secret := f.widgetApp(t)
	k := f.key(t, app)
	if _, err := f.svc.AnswerWidget(ctx, app, k.ID, "WRONG", service.WidgetAnswer{}); !errors.Is(err, service.ErrWrongAnswer) {
		t.Fatalf("wrong answer: %v", err)
	}
	if _, err := f.svc.AnswerWidget(ctx, app, k.ID, k.Answer, service.WidgetAnswer{}); !errors.Is(err, service.ErrKeyUsedUp) {
		t.Fatalf("the right answer after a wrong one: %v", err)
	}
	k = f.key(t, app)
	for _, w := range []service.WidgetAnswer{{Action: "a b"}, {Action: strings.Repeat("a", 65)}, {CData: "a\x00b"},
		{CData: strings.Repeat("가", 256)}} {
		if _, err := f.svc.AnswerWidget(ctx, app, k.ID, k.Answer, w); !errors.Is(err, service.ErrBadTokenData) {
			t.Errorf("%+v: %v", w, err)
		}
	}
	issued, err := f.svc.AnswerWidget(ctx, app, k.ID, k.Answer, service.WidgetAnswer{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(service.DefaultTokenLifetime)
	if _, err := f.svc.SiteVerify(ctx, service.SiteVerification{Secret: secret, Response: issued.Token}); !errors.Is(err, service.ErrTokenUsed) {
		t.Errorf("an expired token: %v", err)
	}
}

func TestHostnamesAndTokenLifetimeAreChecked(t *testing.T) {
	for _, bad := range []string{"https://a.example", "a.example:8080", "a.example/x", "-a.example", "a..example",
		"::1", "*.example", "例え.jp", strings.Repeat("a", 64) + ".example"} {
		var fe *engine.FieldError
		if _, err := service.ParseHostnames("ok.example, " + bad); !errors.As(err, &fe) || fe.Field != "hostnames" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	got, err := service.ParseHostnames(" A.example,b.example\nlocalhost 127.0.0.1 a.example xn--r8jz45g.jp ")
	if err != nil || !slices.Equal(got, []string{"a.example", "b.example", "localhost", "127.0.0.1", "xn--r8jz45g.jp"}) {
		t.Errorf("parsed %q, %v", got, err)
	}
	for _, d := range []time.Duration{0, 29 * time.Second, 3601 * time.Second, 1500 * time.Millisecond} {
		s := service.DefaultAppSettings()
		s.TokenLifetime = d
		var fe *engine.FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "token_lifetime" {
			t.Errorf("token lifetime %v: %v", d, err)
		}
	}
	app := &service.App{Hostnames: []string{"a.example"}}
	if !app.AllowsHost("A.EXAMPLE") || app.AllowsHost("b.a.example") || !(&service.App{}).AllowsHost("any.example") {
		t.Error("AllowsHost")
	}
	f := newFixture(t)
	app, _ = f.widgetApp(t)
	if err := f.svc.SetAppHostnames(context.Background(), app.ID, []string{"x.example", "bad host"}); err == nil {
		t.Error("a bad host was stored")
	}
	if err := f.svc.SetAppHostnames(context.Background(), app.ID, []string{"X.example"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.AppByID(context.Background(), app.ID); !slices.Equal(got.Hostnames, []string{"x.example"}) {
		t.Errorf("stored %q", got.Hostnames)
	}
}
