package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"captcha/engine/service"
	"captcha/engine/sqlite"
	"captcha/web"
)

func withLimits(l web.Limits, trusted ...string) harnessOption {
	return func(o *web.Options, _ *service.AppSettings) {
		o.Limits = l
		for _, cidr := range trusted {
			_, n, _ := net.ParseCIDR(cidr)
			o.TrustedProxies = append(o.TrustedProxies, n)
		}
	}
}

// tight limits: a burst of two and a trickle of refill, so the third request is refused.
var tight = web.Limits{Enabled: true, AppIssue: web.Rate{PerSecond: 0.001, Burst: 2},
	AppVerify: web.Rate{PerSecond: 0.001, Burst: 2}, IPFetch: web.Rate{PerSecond: 0.001, Burst: 2},
	IPAuthFailure: web.Rate{PerSecond: 0.001, Burst: 2}, IPSounds: web.Rate{PerSecond: 0.001, Burst: 2}}

func TestIssueAndVerifyAreLimitedPerApp(t *testing.T) {
	h := newHarness(t, withLimits(tight))
	h.nhnKey(h.app)
	h.nhnKey(h.app)
	checkNHN(t, h.do("POST", nhnIssuePath(h.app.AppKey)), 429, -3)
	h.nhnKey(h.other) // another app has its own bucket

	// Verification has a bucket of its own.
	key := h.nhnKey(h.other)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.other.AppKey, key, "WRONG1")), 200, -6)
	checkNHN(t, h.do("DELETE", "/captcha/v1.0/appkeys/"+h.other.AppKey+"?key="+key), 200, 0)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.other.AppKey, key, "WRONG1")), 429, -3)

	// The same for Naver apps; the image and voice CAPTCHAs share the app's buckets.
	n := newNaverHarness(t, withLimits(tight))
	n.naverKey(nkey)
	n.naverKey("/scaptcha/v1/skey")
	checkNaverError(t, n.do("GET", nkey, naverAuth(n.app, n.secret)...), 429, "420")
	key = n.naverKeyOf(n.other, n.otherSec, nkey)
	n.naverImageOf(n.other, key)
	compare := naverCompare(nkey, key, "WRONG1")
	checkNaverResult(t, n.do("GET", compare, naverAuth(n.other, n.otherSec)...), false, 0)
	checkNaverError(t, n.do("GET", compare, naverAuth(n.other, n.otherSec)...), 403, "CT001")
	checkNaverError(t, n.do("GET", compare, naverAuth(n.other, n.otherSec)...), 429, "420")
}

// Calls whose app cannot be identified are limited per client and charged to no app. A
// client past its budget is refused whatever it sends, so that it cannot go on guessing.
func TestFailedIdentificationIsLimitedPerClient(t *testing.T) {
	const prober, customer, neighbour = "203.0.113.66", "198.51.100.7", "198.51.100.8"
	h := newNaverHarness(t, withLimits(tight, "127.0.0.0/8"))
	nhnApp, _ := h.createApp("nhn shop", service.NHN, service.DefaultAppSettings())
	from := func(ip string, headers ...string) []string { return append(headers, "X-Forwarded-For", ip) }

	// Every kind of failure takes one from a client's budget of two.
	failures := []struct {
		name string
		nhn  bool // answered in the NHN dialect, else in Naver's
		call func(ip string) reply
	}{
		{"a wrong secret", false, func(ip string) reply { return h.do("GET", nkey, from(ip, naverAuth(h.app, "a guess")...)...) }},
		{"no credentials", false, func(ip string) reply { return h.do("GET", nkey, from(ip)...) }},
		{"a disabled app", false, func(ip string) reply { return h.do("GET", nkey, from(ip, naverAuth(h.disabled, h.disSec)...)...) }},
		{"an unknown appkey on the image", false, func(ip string) reply {
			return h.do("GET", "/captcha-bin/v1/ncaptcha?key=AAAAAAAAAAAAAAAAAAAAAA&X-NCP-APIGW-API-KEY-ID="+unknownAppKey, from(ip)...)
		}},
		{"an unknown appkey", true, func(ip string) reply { return h.do("POST", nhnIssuePath(unknownAppKey), from(ip)...) }},
		{"the other dialect's appkey", true, func(ip string) reply { return h.do("POST", nhnIssuePath(h.app.AppKey), from(ip)...) }},
	}
	for i, f := range failures {
		ip := fmt.Sprintf("192.0.2.%d", i+1) // a client of its own for each
		for range 2 {
			if f.nhn {
				checkNHN(t, f.call(ip), 200, -4)
			} else {
				checkNaverError(t, f.call(ip), 401, "200")
			}
		}
		if r := f.call(ip); r.status != 429 {
			t.Errorf("%s past the budget: %d %s", f.name, r.status, r.body)
		}
	}

	// Past its budget the prober is refused even with the right credentials...
	h.do("GET", nkey, from(prober, naverAuth(h.app, "guess 1")...)...)
	h.do("GET", nkey, from(prober, naverAuth(h.app, "guess 2")...)...)
	checkNaverError(t, h.do("GET", nkey, from(prober, naverAuth(h.app, h.secret)...)...), 429, "420")
	checkNHN(t, h.do("POST", nhnIssuePath(nhnApp.AppKey), from(prober)...), 429, -3)
	// ...while the apps it named lost none of their budget, and other clients none of theirs.
	fromCustomer := from(customer, naverAuth(h.app, h.secret)...)
	for range 2 {
		if r := h.do("GET", nkey, fromCustomer...); r.status != 200 {
			t.Fatalf("the customer's issuance: %d %s", r.status, r.body)
		}
	}
	checkNaverError(t, h.do("GET", nkey, fromCustomer...), 429, "420") // the app's own limit, as before
	checkNaverError(t, h.do("GET", nkey, from(neighbour, naverAuth(h.app, "wrong")...)...), 401, "200")
	checkNHN(t, h.do("POST", nhnIssuePath(nhnApp.AppKey), from(neighbour)...), 200, 0)
}

func TestFetchesAreLimitedPerClient(t *testing.T) {
	h := newHarness(t, withLimits(tight))
	key := h.nhnKey(h.app)
	for range 2 {
		if r := h.do("GET", "/captcha/v1.0/keys/"+key+"/img"); r.status != 200 {
			t.Fatalf("img: %d", r.status)
		}
	}
	checkNHN(t, h.do("GET", "/captcha/v1.0/keys/"+key+"/img"), 429, -3)
	checkNHN(t, h.do("GET", "/captcha/v1.0/keys/"+key+"/sound"), 429, -3)
	checkNaverError(t, h.naverImage(key), 429, "420")
	// Without a trusted proxy, X-Forwarded-For is the client's word and changes nothing.
	checkNHN(t, h.do("GET", "/captcha/v1.0/keys/"+key+"/img", "X-Forwarded-For", "203.0.113.9"), 429, -3)
}

func TestFetchLimitsFollowForwardedForFromTrustedProxies(t *testing.T) {
	h := newHarness(t, withLimits(tight, "127.0.0.0/8"))
	key := h.nhnKey(h.app)
	img := "/captcha/v1.0/keys/" + key + "/img"
	for range 2 {
		h.do("GET", img, "X-Forwarded-For", "203.0.113.9")
	}
	checkNHN(t, h.do("GET", img, "X-Forwarded-For", "203.0.113.9"), 429, -3)
	checkNHN(t, h.do("GET", img, "X-Forwarded-For", "203.0.113.9, 127.0.0.1"), 429, -3)
	if r := h.do("GET", img, "X-Forwarded-For", "203.0.113.10"); r.status != 200 {
		t.Fatalf("another client behind the proxy: %d", r.status)
	}
	// A client cannot pick its bucket by prepending to the header: the proxy appended the
	// address it saw, which is the one that counts.
	for range 2 {
		h.do("GET", img, "X-Forwarded-For", "198.51.100.1, 203.0.113.20")
	}
	checkNHN(t, h.do("GET", img, "X-Forwarded-For", "198.51.100.2, 203.0.113.20"), 429, -3)
}

func TestLimitsOff(t *testing.T) {
	off := tight
	off.Enabled = false
	h := newHarness(t, withLimits(off))
	key := h.nhnKey(h.app)
	for range 5 {
		h.nhnKey(h.app)
		if r := h.do("GET", "/captcha/v1.0/keys/"+key+"/img"); r.status != 200 {
			t.Fatalf("img: %d", r.status)
		}
	}
}

// Of 64 concurrent right answers to one key, exactly one passes.
func TestConcurrentVerificationPassesOnce(t *testing.T) {
	h := newHarness(t, func(_ *web.Options, s *service.AppSettings) { s.MaxAttempts = service.MaxAttemptsLimit })
	key := h.nhnServed(h.app)
	path := nhnVerifyPath(h.app.AppKey, key, h.answer(key))
	codes := make(chan int, 64)
	var start, done sync.WaitGroup
	start.Add(1)
	for range 64 {
		done.Go(func() {
			start.Wait()
			res, err := http.Get(h.url + path)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var body struct{ Header struct{ ResultCode int } }
			json.NewDecoder(res.Body).Decode(&body)
			codes <- body.Header.ResultCode
		})
	}
	start.Done()
	done.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[0] != 1 || count[-5] != 63 {
		t.Fatalf("result codes %v, want one 0 and 63 -5", count)
	}
}

// A key issued before a restart is verifiable after it: nothing acknowledged lives only in
// memory.
func TestRestartKeepsKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	before := newHarnessAt(t, path)
	naverApp, naverSecret := before.createApp("naver shop", service.Naver, service.DefaultAppSettings())
	nhnKey := before.nhnServed(before.app)
	naverKey := before.naverKeyOf(naverApp, naverSecret, nkey)
	before.naverImageOf(naverApp, naverKey)
	answers := map[string]string{nhnKey: before.answer(nhnKey), naverKey: before.answer(naverKey)}
	image := before.do("GET", "/captcha/v1.0/keys/"+nhnKey+"/img").body
	before.db.Close()

	after := newHarnessAt(t, path)
	if again := after.do("GET", "/captcha/v1.0/keys/"+nhnKey+"/img").body; string(again) != string(image) {
		t.Fatal("the image changed across the restart")
	}
	checkNHN(t, after.do("GET", nhnVerifyPath(after.app.AppKey, nhnKey, answers[nhnKey])), 200, 0)
	checkNaverResult(t, after.do("GET", naverCompare(nkey, naverKey, answers[naverKey]), naverAuth(naverApp, naverSecret)...), true, 0)
	if err := after.db.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *service.AppSettings) { o.Version = "1.2.3" })
	if r := h.do("GET", "/healthz"); r.status != 200 || r.json(t)["status"] != "ok" || r.json(t)["version"] != "1.2.3" {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	h.db.Close()
	if r := h.do("GET", "/healthz"); r.status != 503 {
		t.Fatalf("healthz with the database closed: %d %s", r.status, r.body)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	key := h.nhnServed(h.app)
	h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
	h.do("GET", "/nowhere")
	// Methods a client invents share one label, so that they cannot grow the series.
	h.do("BREW", "/nowhere")
	h.do("PROPFIND", "/captcha/v1.0/keys/"+key+"/img")
	expiring := h.nhnKey(h.app)
	h.clock.Advance(service.DefaultKeyLifetime)
	h.svc.DeleteExpiredKeys(context.Background())
	_ = expiring
	r := h.do("GET", "/metrics")
	body := string(r.body)
	if strings.Contains(body, "BREW") || strings.Contains(body, "PROPFIND") {
		t.Error("a made-up method became a label")
	}
	for _, want := range []string{
		`captcha_http_requests_total{method="POST",route="/captcha/v1.0/appkeys/:appKey/keys",status="200"} 2`,
		`captcha_http_requests_total{method="GET",route="/captcha/v1.0/keys/:key/img",status="200"} 1`,
		`captcha_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`captcha_http_requests_total{method="other",route="unmatched",status="404"} 1`,
		`captcha_http_requests_total{method="other",route="/captcha/v1.0/keys/:key/img",status="405"} 1`,
		`captcha_http_request_duration_seconds_count{route="/captcha/v1.0/keys/:key/img"} 2`, // with the 405
		`captcha_render_seconds_count{channel="image"} 1`,
		`captcha_keys_issued_total 2`,
		`captcha_keys_verified_total{outcome="passed"} 1`,
		`captcha_keys_expired_total 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// With a token, /metrics answers only requests that carry it.
func TestMetricsToken(t *testing.T) {
	const token = "s3cret-scrape-token"
	h := newHarness(t, func(o *web.Options, _ *service.AppSettings) { o.MetricsToken = token })
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", token, "Basic " + token} {
		var r reply
		if auth == "" {
			r = h.do("GET", "/metrics")
		} else {
			r = h.do("GET", "/metrics", "Authorization", auth)
		}
		if r.status != http.StatusUnauthorized || strings.Contains(string(r.body), "captcha_") {
			t.Errorf("Authorization %q: %d %.80s", auth, r.status, r.body)
		}
	}
	r := h.do("GET", "/metrics", "Authorization", "Bearer "+token)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "captcha_keys_issued_total") {
		t.Fatalf("with the token: %d %.80s", r.status, r.body)
	}
}

// One log line per request, naming the route and never the query, which carries answers.
func TestRequestLog(t *testing.T) {
	h := newHarness(t)
	key := h.nhnServed(h.app)
	h.do("GET", nhnVerifyPath(h.app.AppKey, key, "SECRET42"))
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 requests:\n%s", len(lines), h.logs.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &last); err != nil {
		t.Fatal(err)
	}
	if last["route"] != "/captcha/v1.0/appkeys/:appKey/keys/:key/verification" || last["status"] != 200.0 ||
		last["ip"] != "127.0.0.1" || last["level"] != "INFO" {
		t.Errorf("log line %s", lines[2])
	}
	if strings.Contains(h.logs.String(), "SECRET42") {
		t.Error("an answer reached the log")
	}
}
