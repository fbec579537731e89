package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

var demoSiteKey = regexp.MustCompile(`<div class="captcha" id="demo-widget" data-sitekey="([0-9a-f]+)"`)

// demoWidget loads the demo page and returns the site key its widget is embedded with.
func demoWidget(t *testing.T, v *env) string {
	t.Helper()
	rec := v.do(http.MethodGet, "/", nil, nil, nil)
	body := rec.Body.String()
	m := demoSiteKey.FindStringSubmatch(body)
	if rec.Code != http.StatusOK || m == nil || !strings.Contains(body, `<script src="/api.js" async defer></script>`) {
		t.Fatalf("demo page: %d, without the widget", rec.Code)
	}
	return m[1]
}

// demoToken solves a challenge of the demo app as the widget does, and returns its token.
func demoToken(t *testing.T, v *env) string {
	t.Helper()
	ctx := context.Background()
	k, err := v.svc.IssueKey(ctx, v.demo)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := v.svc.AnswerWidget(ctx, v.demo, k.ID, k.Answer, service.WidgetAnswer{Action: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	return issued.Token
}

var demoVerdict = regexp.MustCompile(`<p id="verdict" class="notice (ok|bad|warn)" role="status">([^<]*)</p>`)

func verdict(t *testing.T, v *env, form url.Values) string {
	t.Helper()
	rec := v.do(http.MethodPost, "/demo/verify", form, nil, nil)
	m := demoVerdict.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("verdict: %d", rec.Code)
	}
	if !demoSiteKey.MatchString(rec.Body.String()) && !strings.Contains(m[2], "turned off") {
		t.Error("no widget with the verdict")
	}
	return m[1] + ": " + m[2]
}

// The demo embeds the widget with the demo app's site key, and its server side redeems the
// form's token once, as a site's server does with /siteverify.
func TestDemo(t *testing.T) {
	v := newEnv(t)
	if got := demoWidget(t, v); got != v.demo.AppKey || v.demo.API != service.Widget {
		t.Fatalf("the widget's site key %q, the demo app %s %q", got, v.demo.API, v.demo.AppKey)
	}
	token := demoToken(t, v)
	if got := verdict(t, v, url.Values{"captcha-response": {token}}); !strings.HasPrefix(got, "ok: Verified") {
		t.Errorf("a fresh token: %s", got)
	}
	if got := verdict(t, v, url.Values{"captcha-response": {token}}); !strings.Contains(got, "already verified") {
		t.Errorf("the same token again: %s", got)
	}
	if got := verdict(t, v, url.Values{}); !strings.Contains(got, "without a token") {
		t.Errorf("no token: %s", got)
	}
	if got := verdict(t, v, url.Values{"captcha-response": {"made-up"}}); !strings.Contains(got, "no token of the demo") {
		t.Errorf("a made-up token: %s", got)
	}
	// A token of another widget app is none of the demo's.
	other, _, err := v.svc.CreateWidgetApp(context.Background(), "shop", service.DefaultAppSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := v.svc.IssueKey(context.Background(), other)
	issued, err := v.svc.AnswerWidget(context.Background(), other, k.ID, k.Answer, service.WidgetAnswer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := verdict(t, v, url.Values{"captcha-response": {issued.Token}}); !strings.Contains(got, "no token of the demo") {
		t.Errorf("another app's token: %s", got)
	}
	// An expired token.
	token = demoToken(t, v)
	v.clock.Advance(service.DefaultTokenLifetime)
	if got := verdict(t, v, url.Values{"captcha-response": {token}}); !strings.Contains(got, "expired") {
		t.Errorf("an expired token: %s", got)
	}

	// The statistics count the demo's solves like any other.
	st, err := v.svc.Stats(context.Background(), v.demo.ID, 24)
	if err != nil || st.Totals.Passed != 2 {
		t.Errorf("demo statistics %+v, %v", st.Totals, err)
	}
}

// The demo app's secret never reaches a browser: the page carries the site key alone.
func TestDemoKeepsTheSecretOnTheServer(t *testing.T) {
	v := newEnv(t)
	secret, err := v.svc.DemoSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string]url.Values{"the verdict": {"captcha-response": {demoToken(t, v)}}, "a refusal": {}} {
		rec := v.do(http.MethodPost, "/demo/verify", form, nil, nil)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), secret) {
			t.Errorf("%s: %d, or it shows the secret", name, rec.Code)
		}
	}
	if strings.Contains(v.do(http.MethodGet, "/", nil, nil, nil).Body.String(), secret) {
		t.Error("the page shows the secret")
	}
}

// Disabling the demo app turns the demo off; a demo app turned into another dialect does too
// (until the next start turns it back).
func TestDemoTurnedOff(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	if err := v.svc.SetAppEnabled(ctx, v.demo.AppKey, false); err != nil {
		t.Fatal(err)
	}
	rec := v.do(http.MethodGet, "/", nil, nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "The demo is turned off") || demoSiteKey.MatchString(rec.Body.String()) {
		t.Errorf("disabled: %d", rec.Code)
	}
	if got := verdict(t, v, url.Values{"captcha-response": {"x"}}); !strings.Contains(got, "turned off") {
		t.Errorf("a token while disabled: %s", got)
	}
	if err := v.svc.SetAppEnabled(ctx, v.demo.AppKey, true); err != nil {
		t.Fatal(err)
	}
	if err := v.svc.SetAppAPI(ctx, v.demo.AppKey, service.NHN); err != nil {
		t.Fatal(err)
	}
	if rec := v.do(http.MethodGet, "/", nil, nil, nil); !strings.Contains(rec.Body.String(), "The demo is turned off") {
		t.Errorf("an NHN demo app: %d", rec.Code)
	}
	if err := v.svc.DeleteApp(ctx, v.demo.AppKey); err != nil {
		t.Fatal(err)
	}
	if rec := v.do(http.MethodGet, "/", nil, nil, nil); !strings.Contains(rec.Body.String(), "The demo is turned off") {
		t.Errorf("deleted: %d", rec.Code)
	}
}

// One network cannot hammer the database through the demo's verifications.
func TestDemoIsLimitedPerNetwork(t *testing.T) {
	v := newEnv(t)
	for range 30 {
		verdict(t, v, url.Values{"captcha-response": {"x"}})
	}
	if got := verdict(t, v, url.Values{"captcha-response": {demoToken(t, v)}}); !strings.Contains(got, "Too many verifications") {
		t.Errorf("the 31st verification in a minute: %s", got)
	}
	v.clock.Advance(time.Minute)
	if got := verdict(t, v, url.Values{"captcha-response": {demoToken(t, v)}}); !strings.HasPrefix(got, "ok: Verified") {
		t.Errorf("a minute later: %s", got)
	}
}
