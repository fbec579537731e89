package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

var demoKey = regexp.MustCompile(`<input type="hidden" name="key" id="demo-key" value="([^"]+)">`)

// demoChallenge loads the demo page and returns its key, checking that the page embeds the
// challenge by the public NHN URLs.
func demoChallenge(t *testing.T, v *env) string {
	t.Helper()
	rec := v.do(http.MethodGet, "/", nil, nil, nil)
	m := demoKey.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("demo page: %d", rec.Code)
	}
	for _, want := range []string{`src="/captcha/v1.0/keys/` + m[1] + `/img"`, `src="/captcha/v1.0/keys/` + m[1] + `/sound"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the demo page lacks %s", want)
		}
	}
	return m[1]
}

func verdict(t *testing.T, v *env, key, answer string) string {
	t.Helper()
	rec := v.do(http.MethodPost, "/demo/verify", url.Values{"key": {key}, "answer": {answer}}, nil, nil)
	m := regexp.MustCompile(`<p id="verdict" class="notice (ok|bad)" role="status">([^<]*)</p>`).FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("verdict: %d", rec.Code)
	}
	if demoKey.FindStringSubmatch(rec.Body.String()) == nil {
		t.Error("no new challenge with the verdict")
	}
	return m[1] + ": " + m[2]
}

func TestDemo(t *testing.T) {
	v := newEnv(t)
	key := demoChallenge(t, v)
	answer := v.answerOf(key)
	if got := verdict(t, v, key, strings.ToLower(answer)); !strings.HasPrefix(got, "ok: Correct") {
		t.Errorf("the right answer: %s", got)
	}
	if got := verdict(t, v, key, answer); !strings.Contains(got, "already used") {
		t.Errorf("the same key again: %s", got)
	}

	key = demoChallenge(t, v)
	if got := verdict(t, v, key, "  "); !strings.Contains(got, "empty") {
		t.Errorf("an empty answer: %s", got)
	}
	// An answer no one can type is refused like a wrong one, but uses no attempt.
	if got := verdict(t, v, key, "ACE\u200B234"); !strings.HasPrefix(got, "bad: Wrong answer") {
		t.Errorf("an answer with a zero-width space: %s", got)
	}
	if got := verdict(t, v, key, "WRONG1"); !strings.HasPrefix(got, "bad: Wrong answer") {
		t.Errorf("a wrong answer: %s", got)
	}
	key = demoChallenge(t, v)
	v.clock.Advance(service.DefaultKeyLifetime)
	if got := verdict(t, v, key, v.answerOf(key)); !strings.Contains(got, "expired") {
		t.Errorf("an expired key: %s", got)
	}
	if got := verdict(t, v, "not-a-key", "X"); !strings.Contains(got, "expired") {
		t.Errorf("a made-up key: %s", got)
	}

	// The statistics count the demo's solve like any other.
	st, err := v.svc.Stats(context.Background(), v.demo.ID, 24)
	if err != nil || st.Totals.Passed != 1 || st.Totals.Wrong != 1 {
		t.Errorf("demo statistics %+v, %v", st.Totals, err)
	}
}

func TestDemoChallengeForTheScript(t *testing.T) {
	v := newEnv(t)
	rec := v.do(http.MethodGet, "/demo/challenge", nil, nil, nil)
	var c struct{ Key, Image, Sound string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if c.Image != "/captcha/v1.0/keys/"+c.Key+"/img" || c.Sound != "/captcha/v1.0/keys/"+c.Key+"/sound" || v.answerOf(c.Key) == "" {
		t.Errorf("challenge %+v", c)
	}
}

// The demo app speaks NHN, whose appkey is its only credential: nothing the demo gives a
// browser carries it.
func TestDemoKeepsTheAppKeyOnTheServer(t *testing.T) {
	v := newEnv(t)
	if v.demo.API != service.NHN {
		t.Fatalf("the demo app speaks %q", v.demo.API)
	}
	key := demoChallenge(t, v)
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"the page":          v.do(http.MethodGet, "/", nil, nil, nil),
		"the verdict":       v.do(http.MethodPost, "/demo/verify", url.Values{"key": {key}, "answer": {"WRONG1"}}, nil, nil),
		"the script's call": v.do(http.MethodGet, "/demo/challenge", nil, nil, nil),
	} {
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), v.demo.AppKey) {
			t.Errorf("%s: %d, or it shows the appkey", name, rec.Code)
		}
	}
}

// A demo app an operator switched to Naver shows its challenges by Naver's URLs, which carry
// the appkey as that cloud's do, and explains that flow.
func TestDemoFollowsANaverDemoApp(t *testing.T) {
	v := newEnv(t)
	if err := v.svc.SetAppAPI(context.Background(), v.demo.AppKey, service.Naver); err != nil {
		t.Fatal(err)
	}
	body := v.do(http.MethodGet, "/", nil, nil, nil).Body.String()
	m := demoKey.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no challenge")
	}
	query := "key=" + m[1] + "&amp;X-NCP-APIGW-API-KEY-ID=" + v.demo.AppKey
	for _, want := range []string{`src="/captcha-bin/v1/ncaptcha?` + query + `"`, `src="/scaptcha-bin/v1/scaptcha?` + query + `"`, "/captcha/v1/nkey?code=0"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if got := verdict(t, v, m[1], v.answerOf(m[1])); !strings.HasPrefix(got, "ok: Correct") {
		t.Errorf("the right answer: %s", got)
	}
}

// Disabling the demo app turns the demo off, and issues no key for it.
func TestDemoTurnedOff(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	if err := v.svc.SetAppEnabled(ctx, v.demo.AppKey, false); err != nil {
		t.Fatal(err)
	}
	rec := v.do(http.MethodGet, "/", nil, nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "The demo is turned off") || demoKey.MatchString(rec.Body.String()) {
		t.Errorf("disabled: %d", rec.Code)
	}
	if rec := v.do(http.MethodGet, "/demo/challenge", nil, nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a challenge while disabled: %d", rec.Code)
	}
	if err := v.svc.DeleteApp(ctx, v.demo.AppKey); err != nil {
		t.Fatal(err)
	}
	if rec := v.do(http.MethodGet, "/", nil, nil, nil); !strings.Contains(rec.Body.String(), "The demo is turned off") {
		t.Errorf("deleted: %d", rec.Code)
	}
	if st, _ := v.svc.Stats(ctx, 0, 24); st.Totals.Issued != 0 {
		t.Errorf("%d keys issued", st.Totals.Issued)
	}
}

// One network cannot fill the database through the demo.
func TestDemoIsLimitedPerNetwork(t *testing.T) {
	v := newEnv(t)
	for range 30 {
		demoChallenge(t, v)
	}
	rec := v.do(http.MethodGet, "/", nil, nil, nil)
	if !strings.Contains(rec.Body.String(), "Too many new challenges") || demoKey.MatchString(rec.Body.String()) {
		t.Error("the 31st challenge in a minute was issued")
	}
	if rec := v.do(http.MethodGet, "/demo/challenge", nil, nil, nil); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the script's challenge: %d", rec.Code)
	}
	v.clock.Advance(time.Minute)
	demoChallenge(t, v)
}
