package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
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
