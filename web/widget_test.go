package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"captcha/engine/service"
	"captcha/web"
)

// The widget dialect and /siteverify through the real router, on a real SQLite file: the
// answers come from the test's own oracle (the store, as only the server knows them), never
// from anything a page could see.

// newWidgetHarness is the harness with widget apps (app, other, disabled), which allow any
// page; widgetApp makes one that allows some hosts only.
func newWidgetHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessFor(t, service.Widget, t.TempDir()+"/captcha.db", opts...)
}

func (h *harness) widgetApp(name string, hostnames ...string) (*service.App, string) {
	h.t.Helper()
	app, secret, err := h.svc.CreateWidgetApp(context.Background(), name, service.DefaultAppSettings(), hostnames)
	if err != nil {
		h.t.Fatal(err)
	}
	return app, secret
}

// post sends body with a content type; headers are name/value pairs.
func (h *harness) post(path, contentType, body string, headers ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return h.send(req)
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (h *harness) postJSON(path string, v any, headers ...string) reply {
	h.t.Helper()
	return h.post(path, "application/json", jsonBody(v), headers...)
}

const shopOrigin = "https://shop.example"

// challenge asks for a challenge of app from a page of origin and returns its reply.
func (h *harness) challenge(app *service.App, origin string, headers ...string) map[string]any {
	h.t.Helper()
	r := h.postJSON("/widget/v1/challenge", map[string]string{"sitekey": app.AppKey}, append(headers, "Origin", origin)...)
	if r.status != 200 {
		h.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	return r.json(h.t)
}

// solve gets a challenge, fetches its image as the widget does, answers it rightly and
// returns the response token.
func (h *harness) solve(app *service.App, extra map[string]string) string {
	h.t.Helper()
	c := h.challenge(app, shopOrigin)
	key := c["challenge"].(string)
	if img := h.do("GET", c["image"].(string), "Origin", shopOrigin); img.status != 200 || !isJPEG(img.body) {
		h.t.Fatalf("image: %d", img.status)
	}
	h.clock.Advance(4 * time.Second)
	body := map[string]string{"sitekey": app.AppKey, "challenge": key, "answer": strings.ToLower(h.answer(key))}
	for k, v := range extra {
		body[k] = v
	}
	r := h.postJSON("/widget/v1/answer", body, "Origin", shopOrigin)
	m := r.json(h.t)
	if r.status != 200 || m["success"] != true || m["expires_in"] != float64(300) {
		h.t.Fatalf("answer: %d %s", r.status, r.body)
	}
	return m["token"].(string)
}

// siteverify posts the form and returns the decoded reply, checking the convention's shape.
func (h *harness) siteverify(form url.Values) map[string]any {
	h.t.Helper()
	r := h.post("/siteverify", "application/x-www-form-urlencoded", form.Encode())
	return checkSiteverify(h.t, r)
}

func checkSiteverify(t testing.TB, r reply) map[string]any {
	t.Helper()
	m := r.json(t)
	if r.status != 200 {
		t.Errorf("siteverify answered HTTP %d: %s", r.status, r.body)
	}
	if _, ok := m["error-codes"].([]any); !ok {
		t.Errorf("siteverify without error-codes: %s", r.body)
	}
	return m
}

// codes is the reply's error codes, joined.
func codes(m map[string]any) string {
	var out []string
	for _, c := range m["error-codes"].([]any) {
		out = append(out, c.(string))
	}
	return strings.Join(out, ",")
}

func TestWidgetFlow(t *testing.T) {
	h := newWidgetHarness(t)
	c := h.challenge(h.app, shopOrigin)
	key := c["challenge"].(string)
	if c["image"] != "/widget/v1/image/"+key || c["audio"] != "/widget/v1/audio/"+key || c["length"] != float64(6) ||
		c["expires_in"] != float64(600) || c["audio_lang"] != "en" {
		t.Fatalf("challenge reply: %v", c)
	}
	img := h.do("GET", c["image"].(string), "Origin", shopOrigin)
	if img.status != 200 || !isJPEG(img.body) || img.header.Get("Access-Control-Allow-Origin") != shopOrigin {
		t.Fatalf("image: %d %v", img.status, img.header)
	}
	if again := h.do("GET", c["image"].(string)+"?t=2"); !bytes.Equal(again.body, img.body) {
		t.Error("the image changed on a second fetch")
	}
	if snd := h.do("GET", c["audio"].(string)); snd.status != 200 || !isWAV(snd.body) {
		t.Fatalf("audio: %d", snd.status)
	}
	h.clock.Advance(3 * time.Second)
	answer := map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": " " + strings.ToLower(h.answer(key)),
		"action": "login", "cdata": "session 42"}
	r := h.postJSON("/widget/v1/answer", answer, "Origin", shopOrigin+":8443")
	m := r.json(t)
	token, _ := m["token"].(string)
	if r.status != 200 || m["success"] != true || len(token) != 43 || m["expires_in"] != float64(300) {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	// The same answer again: the challenge is used up.
	if again := h.postJSON("/widget/v1/answer", answer, "Origin", shopOrigin).json(t); again["success"] != false || again["error"] != "expired" {
		t.Errorf("answering twice: %v", again)
	}

	solvedAt := h.clock.Now().UTC().Format(time.RFC3339)
	h.clock.Advance(20 * time.Second)
	v := h.siteverify(url.Values{"secret": {h.secret}, "response": {token}, "remoteip": {"192.0.2.1"}})
	if v["success"] != true || codes(v) != "" || v["challenge_ts"] != solvedAt || v["hostname"] != "shop.example" ||
		v["action"] != "login" || v["cdata"] != "session 42" {
		t.Fatalf("siteverify: %v", v)
	}
	if v := h.siteverify(url.Values{"secret": {h.secret}, "response": {token}}); v["success"] != false ||
		codes(v) != "timeout-or-duplicate" || v["challenge_ts"] != nil {
		t.Errorf("replay: %v", v)
	}

	// The solve counts in the app's statistics like the other dialects'.
	st, err := h.svc.Stats(context.Background(), h.app.ID, 1)
	if err != nil || st.Totals.Passed != 1 || st.Totals.Refused != 1 || st.Solves != 1 || st.Totals.Images != 1 || st.Totals.Sounds != 1 {
		t.Errorf("statistics: %+v, %v", st, err)
	}
	if p, _ := st.SolveTimePercentile(1); p != 3*time.Second {
		t.Errorf("solve time %v, want 3s", p)
	}
}

// A wrong answer uses the challenge up: the right one after it is too late.
func TestWidgetChallengeAllowsOneAnswer(t *testing.T) {
	h := newWidgetHarness(t)
	key := h.challenge(h.app, shopOrigin)["challenge"].(string)
	a := map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": "WRONG1"}
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["success"] != false || m["error"] != "wrong-answer" {
		t.Fatalf("wrong answer: %v", m)
	}
	a["answer"] = h.answer(key)
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["success"] != false || m["error"] != "expired" || m["token"] != nil {
		t.Fatalf("the right answer after a wrong one: %v", m)
	}
	// Another app's challenge is no challenge of this one.
	other := h.challenge(h.other, shopOrigin)["challenge"].(string)
	a = map[string]string{"sitekey": h.app.AppKey, "challenge": other, "answer": h.answer(other)}
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["error"] != "expired" {
		t.Errorf("another app's challenge: %v", m)
	}
	// A challenge past its lifetime.
	key = h.challenge(h.app, shopOrigin)["challenge"].(string)
	h.clock.Advance(service.DefaultKeyLifetime)
	a = map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": h.answer(key)}
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["error"] != "expired" {
		t.Errorf("an expired challenge: %v", m)
	}
	checkWidgetError(t, h.do("GET", "/widget/v1/image/"+key), 404, "expired")
}

func checkWidgetError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	m := r.json(t)
	if r.status != status || m["error"] != code || m["message"] == "" {
		t.Errorf("got %d %s, want %d %q", r.status, r.body, status, code)
	}
}

// Requests the widget's endpoints refuse: never a 500, never a key issued or used.
func TestWidgetRefusals(t *testing.T) {
	h := newWidgetHarness(t)
	key := h.challenge(h.app, shopOrigin)["challenge"].(string)
	nhn, _ := h.createApp("nhn", service.NHN, service.DefaultAppSettings())
	for name, tc := range map[string]struct {
		path, contentType, body string
		status                  int
		code                    string
	}{
		"not JSON":             {"/widget/v1/challenge", "application/json", "sitekey=" + h.app.AppKey, 400, "bad-request"},
		"an array":             {"/widget/v1/challenge", "application/json", `["x"]`, 400, "bad-request"},
		"a number":             {"/widget/v1/challenge", "application/json", `{"sitekey":12}`, 400, "bad-request"},
		"trailing data":        {"/widget/v1/challenge", "application/json", `{"sitekey":"` + h.app.AppKey + `"} {}`, 400, "bad-request"},
		"no site key":          {"/widget/v1/challenge", "application/json", `{}`, 400, "bad-request"},
		"oversized":            {"/widget/v1/challenge", "application/json", `{"sitekey":"` + strings.Repeat("a", 20000) + `"}`, 400, "bad-request"},
		"an unknown site key":  {"/widget/v1/challenge", "application/json", `{"sitekey":"` + unknownAppKey + `"}`, 403, "invalid-sitekey"},
		"a disabled app":       {"/widget/v1/challenge", "application/json", `{"sitekey":"` + h.disabled.AppKey + `"}`, 403, "invalid-sitekey"},
		"an NHN app":           {"/widget/v1/challenge", "application/json", `{"sitekey":"` + nhn.AppKey + `"}`, 403, "invalid-sitekey"},
		"no challenge":         {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": h.app.AppKey, "answer": "x"}), 400, "bad-request"},
		"an empty answer":      {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": h.app.AppKey, "challenge": key}), 400, "bad-request"},
		"an overlong answer":   {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": strings.Repeat("A", 65)}), 400, "bad-request"},
		"a bad action":         {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": "A", "action": "log in"}), 400, "bad-request"},
		"a bad cdata":          {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": "A", "cdata": strings.Repeat("x", 256)}), 400, "bad-request"},
		"an unknown site key ": {"/widget/v1/answer", "application/json", jsonBody(map[string]string{"sitekey": nhn.AppKey, "challenge": key, "answer": "A"}), 403, "invalid-sitekey"},
		"an unknown path":      {"/widget/v1/nope", "application/json", `{}`, 404, "bad-request"},
	} {
		r := h.post(tc.path, tc.contentType, tc.body)
		if r.status != tc.status || r.json(t)["error"] != tc.code {
			t.Errorf("%s: %d %s, want %d %s", name, r.status, r.body, tc.status, tc.code)
		}
	}
	// A wrong method: echo answers it as an unknown route of the group.
	if r := h.do("GET", "/widget/v1/challenge"); (r.status != 404 && r.status != 405) || r.json(t)["error"] != "bad-request" {
		t.Errorf("GET of the challenge: %d %s", r.status, r.body)
	}
	checkWidgetError(t, h.do("GET", "/widget/v1/image/nope"), 404, "expired")
	checkWidgetError(t, h.do("GET", "/widget/v1/audio/"+h.nhnKeyOfNHN(nhn)), 404, "expired")
	// Nothing refused used the key: it still passes.
	h.clock.Advance(3 * time.Second)
	a := map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": h.answer(key)}
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["success"] != true {
		t.Errorf("the key after the refusals: %v", m)
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("a refusal was logged as a server failure: %s", h.logs)
	}
}

// nhnKeyOfNHN issues a key of an NHN app through the service.
func (h *harness) nhnKeyOfNHN(app *service.App) string {
	h.t.Helper()
	k, err := h.svc.IssueKey(context.Background(), app)
	if err != nil {
		h.t.Fatal(err)
	}
	return k.ID
}

// Pages of the app's hostnames only may ask for challenges and answer them; every reply
// lets the page's script read it.
func TestWidgetOrigins(t *testing.T) {
	h := newWidgetHarness(t)
	shop, _ := h.widgetApp("shop", "shop.example", "localhost")
	challenge := func(app *service.App, headers ...string) reply {
		return h.postJSON("/widget/v1/challenge", map[string]string{"sitekey": app.AppKey}, headers...)
	}
	for origin, allowed := range map[string]bool{
		"https://shop.example":      true,
		"https://SHOP.example:8443": true,
		"http://localhost:3000":     true,
		"https://evil.example":      false,
		"https://www.shop.example":  false,
		"https://shop.example.evil": false,
		"null":                      false,
		"":                          false,
	} {
		var headers []string
		if origin != "" {
			headers = []string{"Origin", origin}
		}
		r := challenge(shop, headers...)
		if allowed && r.status != 200 || !allowed && (r.status != 403 || r.json(t)["error"] != "origin-not-allowed") {
			t.Errorf("Origin %q: %d %s", origin, r.status, r.body)
		}
		if r.header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Errorf("Origin %q: CORS headers %v", origin, r.header)
		}
		if r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("Origin %q: credentials allowed", origin)
		}
	}
	// An app without hostnames allows every page, and calls without an Origin.
	for _, origin := range []string{"https://anyone.example", "null", ""} {
		if r := challenge(h.app, "Origin", origin); r.status != 200 {
			t.Errorf("an app for any page, Origin %q: %d", origin, r.status)
		}
	}
	// The answer is checked too, and its token names the page's host.
	key := h.challenge(shop, "https://shop.example")["challenge"].(string)
	a := map[string]string{"sitekey": shop.AppKey, "challenge": key, "answer": h.answer(key)}
	checkWidgetError(t, h.postJSON("/widget/v1/answer", a, "Origin", "https://evil.example"), 403, "origin-not-allowed")
	if m := h.postJSON("/widget/v1/answer", a, "Origin", "http://localhost:3000").json(t); m["success"] != true {
		t.Errorf("the answer from an allowed page after a refused one: %v", m)
	}
}

func TestWidgetPreflight(t *testing.T) {
	h := newWidgetHarness(t)
	for _, path := range []string{"/widget/v1/challenge", "/widget/v1/answer"} {
		r := h.do("OPTIONS", path, "Origin", shopOrigin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != shopOrigin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.EqualFold(r.header.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			r.header.Get("Access-Control-Max-Age") == "" {
			t.Errorf("%s: %d %v", path, r.status, r.header)
		}
	}
}

// The widget's endpoints are limited per client network, never per app: apps share a
// client's budget, and another client has its own.
func TestWidgetLimitsPerClient(t *testing.T) {
	h := newWidgetHarness(t, withLimits(tight, "127.0.0.0/8"))
	const browser, neighbour = "192.0.2.10", "192.0.2.11"
	h.challenge(h.app, shopOrigin, from(browser)...)
	key := h.challenge(h.other, shopOrigin, from(browser)...)["challenge"].(string)
	r := h.postJSON("/widget/v1/challenge", map[string]string{"sitekey": h.app.AppKey}, from(browser)...)
	checkWidgetError(t, r, 429, "rate-limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	checkWidgetError(t, h.postJSON("/widget/v1/answer", map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": "x"},
		from(browser)...), 429, "rate-limited")
	h.challenge(h.app, shopOrigin, from(neighbour)...) // a neighbour has a budget of its own

	// Images and sounds are fetches, under the fetch limit and the quota of sounds.
	for range 2 {
		if r := h.do("GET", "/widget/v1/image/"+key, from(browser)...); r.status != 200 {
			t.Fatalf("image: %d", r.status)
		}
	}
	checkWidgetError(t, h.do("GET", "/widget/v1/image/"+key, from(browser)...), 429, "rate-limited")
	// The quota of sounds: two first deliveries, then none, even for a client with fetches left.
	n := newWidgetHarness(t, withLimits(web2Sounds(), "127.0.0.0/8"))
	var keys []string
	for range 3 {
		keys = append(keys, n.challenge(n.app, shopOrigin, from(browser)...)["challenge"].(string))
	}
	for i, k := range keys {
		r := n.do("GET", "/widget/v1/audio/"+k, from(browser)...)
		if i < 2 && r.status != 200 {
			t.Fatalf("sound %d: %d", i, r.status)
		}
		if i == 2 {
			checkWidgetError(t, r, 429, "rate-limited")
			if r.header.Get("Retry-After") == "" {
				t.Error("the sound quota's 429 without Retry-After")
			}
		}
	}
}

// web2Sounds are limits with room for everything but sounds, of which there are two.
func web2Sounds() web.Limits {
	roomy := web.Rate{PerSecond: 1000, Burst: 1000}
	return web.Limits{Enabled: true, AppIssue: roomy, AppVerify: roomy, IPFetch: roomy, IPAuthFailure: roomy,
		IPSounds: tight.IPSounds}
}

// Siteverify is limited per client too, generously by default.
func TestSiteverifyLimitPerClient(t *testing.T) {
	h := newWidgetHarness(t, withLimits(tight, "127.0.0.0/8"))
	form := url.Values{"secret": {h.secret}, "response": {strings.Repeat("A", 43)}}.Encode()
	for range 2 {
		checkSiteverify(t, h.post("/siteverify", "application/x-www-form-urlencoded", form, from("198.51.100.7")...))
	}
	r := h.post("/siteverify", "application/x-www-form-urlencoded", form, from("198.51.100.7")...)
	if m := r.json(t); r.status != 429 || codes(m) != "rate-limited" || m["success"] != false || r.header.Get("Retry-After") == "" {
		t.Errorf("past the limit: %d %v %s", r.status, r.header, r.body)
	}
	checkSiteverify(t, h.post("/siteverify", "application/x-www-form-urlencoded", form, from("198.51.100.8")...))
}

// Every error code of /siteverify, always with HTTP 200; none of the refused calls redeems
// the token, which passes at the end.
func TestSiteverifyErrorCodes(t *testing.T) {
	h := newWidgetHarness(t)
	token := h.solve(h.app, nil)
	otherToken := h.solve(h.other, nil)
	_, nhnSecret := h.createApp("nhn", service.NHN, service.DefaultAppSettings())
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formType, jsonType = "application/x-www-form-urlencoded", "application/json"
	for _, tc := range []struct {
		name, contentType, body, codes string
	}{
		{"nothing", formType, "", "missing-input-secret,missing-input-response"},
		{"no secret", formType, form("response", token), "missing-input-secret"},
		{"no response", formType, form("secret", h.secret), "missing-input-response"},
		{"an unknown secret", formType, form("secret", "nope", "response", token), "invalid-input-secret"},
		{"an NHN app's secret", formType, form("secret", nhnSecret, "response", token), "invalid-input-secret"},
		{"a disabled app's secret", formType, form("secret", h.disSec, "response", token), "invalid-input-secret"},
		{"another app's token", formType, form("secret", h.secret, "response", otherToken), "invalid-input-response"},
		{"another app's site key", formType, form("secret", h.secret, "response", token, "sitekey", h.other.AppKey), "invalid-input-response"},
		{"a made-up token", formType, form("secret", h.secret, "response", strings.Repeat("A", 43)), "invalid-input-response"},
		{"an overlong token", formType, form("secret", h.secret, "response", strings.Repeat("A", 2049)), "invalid-input-response"},
		{"a bad idempotency key", formType, form("secret", h.secret, "response", token, "idempotency_key", "a b"), "bad-request"},
		{"a bad form", formType, "secret=%zz&response=" + token, "bad-request"},
		{"oversized", formType, form("secret", h.secret, "response", token, "x", strings.Repeat("a", 20000)), "bad-request"},
		{"bad JSON", jsonType, `{"secret":`, "bad-request"},
		{"a JSON number", jsonType, `{"secret":1,"response":"` + token + `"}`, "bad-request"},
		{"a JSON array", jsonType, `[]`, "bad-request"},
		{"JSON without a secret", jsonType, `{"response":"` + token + `"}`, "missing-input-secret"},
		{"JSON with a null secret", jsonType, `{"secret":null,"response":"` + token + `"}`, "missing-input-secret"},
	} {
		m := checkSiteverify(t, h.post("/siteverify", tc.contentType, tc.body))
		if m["success"] != false || codes(m) != tc.codes || m["challenge_ts"] != nil || m["hostname"] != nil {
			t.Errorf("%s: %v, want %s", tc.name, m, tc.codes)
		}
	}
	for _, method := range []string{"GET", "PUT"} {
		if m := checkSiteverify(t, h.do(method, "/siteverify")); codes(m) != "bad-request" {
			t.Errorf("%s: %v", method, m)
		}
	}
	// None of that redeemed it: JSON, with the right site key, passes once.
	body := jsonBody(map[string]string{"secret": h.secret, "response": token, "sitekey": h.app.AppKey})
	if m := checkSiteverify(t, h.post("/siteverify", jsonType, body)); m["success"] != true {
		t.Fatalf("the token after the refusals: %v", m)
	}
	// A token past its lifetime.
	late := h.solve(h.app, nil)
	h.clock.Advance(service.DefaultTokenLifetime)
	if m := h.siteverify(url.Values{"secret": {h.secret}, "response": {late}}); codes(m) != "timeout-or-duplicate" {
		t.Errorf("an expired token: %v", m)
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("a refusal was logged as a server failure: %s", h.logs)
	}
}

// Each answer of /siteverify counts once, by its result: success, or its first error code
// (missing-input-secret, for a call that misses the response too); no other result moves.
func TestSiteverifyResultsAreCounted(t *testing.T) {
	h := newWidgetHarness(t)
	token := h.solve(h.app, nil)
	const formType = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, method, body, result string
	}{
		{"a wrong secret", "POST", url.Values{"secret": {"nope"}, "response": {token}}.Encode(), "invalid-input-secret"},
		{"the token", "POST", url.Values{"secret": {h.secret}, "response": {token}}.Encode(), "success"},
		{"the token again", "POST", url.Values{"secret": {h.secret}, "response": {token}}.Encode(), "timeout-or-duplicate"},
		{"nothing", "POST", "", "missing-input-secret"},
		{"a wrong method", "GET", "", "bad-request"},
	} {
		before := h.scrape()
		req, err := http.NewRequest(tc.method, h.url+"/siteverify", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", formType)
		checkSiteverify(t, h.send(req))
		after := h.scrape()
		if _, ok := after[`captcha_siteverify_total{result="`+tc.result+`"}`]; !ok {
			t.Fatalf("%s: /metrics has no result %s", tc.name, tc.result)
		}
		for series, v := range after {
			if !strings.HasPrefix(series, "captcha_siteverify_total{") {
				continue
			}
			want := 0.0
			if series == `captcha_siteverify_total{result="`+tc.result+`"}` {
				want = 1
			}
			if n := v - before[series]; n != want {
				t.Errorf("%s: %s rose by %v, want %v", tc.name, series, n, want)
			}
		}
	}
}

// A repeat of the redeeming verification with its idempotency key gets its answer again; any
// other verification gets timeout-or-duplicate.
func TestSiteverifyIdempotencyKey(t *testing.T) {
	h := newWidgetHarness(t)
	token := h.solve(h.app, map[string]string{"action": "signup"})
	first := h.siteverify(url.Values{"secret": {h.secret}, "response": {token}, "idempotency_key": {"8e2c-1"}})
	if first["success"] != true {
		t.Fatalf("first: %v", first)
	}
	h.clock.Advance(time.Minute)
	again := h.siteverify(url.Values{"secret": {h.secret}, "response": {token}, "idempotency_key": {"8e2c-1"}})
	if fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the repeat: %v, first %v", again, first)
	}
	for _, ik := range []string{"", "8e2c-2"} {
		if m := h.siteverify(url.Values{"secret": {h.secret}, "response": {token}, "idempotency_key": {ik}}); codes(m) != "timeout-or-duplicate" {
			t.Errorf("idempotency key %q: %v", ik, m)
		}
	}
}

// Of 32 concurrent verifications of one token exactly one succeeds.
func TestSiteverifyConcurrentRedemption(t *testing.T) {
	h := newWidgetHarness(t)
	checkOneRedemption(t, h, h.solve(h.app, nil), h.secret)
}

func checkOneRedemption(t *testing.T, h *harness, token, secret string) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	start := make(chan struct{})
	for i := range 32 {
		wg.Go(func() {
			<-start
			form := url.Values{"secret": {secret}, "response": {token}, "idempotency_key": {fmt.Sprint("call-", i)}}
			res, err := http.Post(h.url+"/siteverify", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
				t.Errorf("%d, %v", res.StatusCode, err)
				return
			}
			mu.Lock()
			results[fmt.Sprint(m["success"], " ", m["error-codes"])]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if results["true []"] != 1 || results["false [timeout-or-duplicate]"] != 31 {
		t.Errorf("32 concurrent verifications: %v", results)
	}
}

// The same on PostgreSQL, where the verifications race on one row from a pool of connections.
func TestSiteverifyConcurrentRedemptionOnPostgres(t *testing.T) {
	db := postgresStore(t)
	h := newHarnessOn(t, service.Widget, db)
	token := h.solve(h.app, map[string]string{"cdata": "pg"})
	checkOneRedemption(t, h, token, h.secret)
	if m := h.siteverify(url.Values{"secret": {h.otherSec}, "response": {h.solve(h.app, nil)}}); codes(m) != "invalid-input-response" {
		t.Errorf("a token of another app: %v", m)
	}
}

// A widget app is unknown to both cloud dialects, and their apps to the widget, as the
// dialects are to each other; none of it touches the widget's key.
func TestWidgetAppIsUnknownToNHNAndNaver(t *testing.T) {
	h := newWidgetHarness(t)
	unknownNHN := h.do("POST", nhnIssuePath(unknownAppKey))
	checkNHN(t, unknownNHN, 200, -4)
	if r := h.do("POST", nhnIssuePath(h.app.AppKey)); !bytes.Equal(r.body, unknownNHN.body) {
		t.Errorf("NHN issuance: %s", r.body)
	}
	unknownNaver := h.do("GET", nkey+"?code=0", "X-NCP-APIGW-API-KEY-ID", unknownAppKey, "X-NCP-APIGW-API-KEY", h.secret)
	key := h.challenge(h.app, shopOrigin)["challenge"].(string)
	answer := h.answer(key)
	for name, r := range map[string]reply{
		"Naver issuance": h.do("GET", nkey+"?code=0", naverAuth(h.app, h.secret)...),
		"Naver compare":  h.do("GET", naverCompare(nkey, key, answer), naverAuth(h.app, h.secret)...),
		"Naver image":    h.do("GET", "/captcha-bin/v1/ncaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey),
	} {
		if r.status != 401 || !bytes.Equal(r.body, unknownNaver.body) {
			t.Errorf("%s: %d %s, for an unknown appkey %s", name, r.status, r.body, unknownNaver.body)
		}
	}
	for name, r := range map[string]reply{
		"NHN verification": h.do("GET", nhnVerifyPath(h.app.AppKey, key, answer)),
		"NHN expiry":       h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+key),
	} {
		if !bytes.Equal(r.body, unknownNHN.body) {
			t.Errorf("%s: %s", name, r.body)
		}
	}
	checkNHN(t, h.do("GET", "/captcha/v1.0/keys/"+key+"/img"), 404, -7)
	checkNHN(t, h.do("GET", "/captcha/v1.0/keys/"+key+"/sound"), 404, -7)
	// None of that touched the key: it passes once, through the widget.
	a := map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": answer}
	if m := h.postJSON("/widget/v1/answer", a).json(t); m["success"] != true {
		t.Errorf("the key after the other dialects: %v", m)
	}
}

func TestNHNAndNaverAppsAreUnknownToTheWidget(t *testing.T) {
	for _, api := range []service.API{service.NHN, service.Naver} {
		h := newHarnessFor(t, api, t.TempDir()+"/captcha.db")
		unknown := h.postJSON("/widget/v1/challenge", map[string]string{"sitekey": unknownAppKey})
		checkWidgetError(t, unknown, 403, "invalid-sitekey")
		if r := h.postJSON("/widget/v1/challenge", map[string]string{"sitekey": h.app.AppKey}); !bytes.Equal(r.body, unknown.body) {
			t.Errorf("%s: %s", api, r.body)
		}
		k, err := h.svc.IssueKey(context.Background(), h.app)
		if err != nil {
			t.Fatal(err)
		}
		checkWidgetError(t, h.do("GET", "/widget/v1/image/"+k.ID), 404, "expired")
		a := map[string]string{"sitekey": h.app.AppKey, "challenge": k.ID, "answer": h.answer(k.ID)}
		checkWidgetError(t, h.postJSON("/widget/v1/answer", a), 403, "invalid-sitekey")
		if m := h.siteverify(url.Values{"secret": {h.secret}, "response": {strings.Repeat("A", 43)}}); codes(m) != "invalid-input-secret" {
			t.Errorf("%s app's secret at siteverify: %v", api, m)
		}
		if got := h.stored(k.ID); got.Attempts != 0 || !got.ImageServedAt.IsZero() {
			t.Errorf("%s: the widget touched the key: %+v", api, got)
		}
	}
}

// A network whose answers were wrong gets its next widget challenges harder, as through the
// other dialects.
func TestEscalationThroughTheWidget(t *testing.T) {
	const bot = "203.0.113.9"
	h := newWidgetHarness(t, behindProxy())
	for range 5 {
		key := h.challenge(h.app, shopOrigin, from(bot)...)["challenge"].(string)
		h.do("GET", "/widget/v1/image/"+key, from(bot)...)
		h.clock.Advance(3 * time.Second)
		a := map[string]string{"sitekey": h.app.AppKey, "challenge": key, "answer": "WRONG1"}
		if m := h.postJSON("/widget/v1/answer", a, from(bot)...).json(t); m["error"] != "wrong-answer" {
			t.Fatalf("wrong answer: %v", m)
		}
	}
	key := h.challenge(h.app, shopOrigin, from(bot)...)["challenge"].(string)
	h.do("GET", "/widget/v1/image/"+key, from(bot)...)
	if k := h.stored(key); !k.Escalated || len(k.Answer) != 8 {
		t.Errorf("the bot's next key: %+v", k)
	}
}

func TestWidgetFiles(t *testing.T) {
	h := newWidgetHarness(t)
	for _, tc := range []struct {
		path, contentType, cache string
	}{
		{"/api.js", "application/javascript; charset=utf-8", "public, max-age=300"},
		{"/api.js?onload=f&render=explicit&hl=ko", "application/javascript; charset=utf-8", "public, max-age=300"},
	} {
		res, err := http.Get(h.url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != tc.contentType ||
			res.Header.Get("Cache-Control") != tc.cache || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
			res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %v", tc.path, res.StatusCode, res.Header)
		}
	}
	for _, path := range []string{"/widget/ui/nope.css", "/widget/ui/", "/widget/ui/../embed.go", "/widget/ui/%2e%2e/embed.go"} {
		if r := h.do("GET", path); r.status != 404 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}
