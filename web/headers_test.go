package web_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"captcha/web"
)

// Every kind of response carries X-Content-Type-Options: nosniff (and Cache-Control:
// no-store): harness.send checks both on every response of every test; this test makes sure
// each kind is among them.
func TestEveryKindOfResponseIsNoSniff(t *testing.T) {
	cases := []struct {
		name   string
		run    func(h *harness) reply
		status int
	}{
		{"NHN JSON", func(h *harness) reply { return h.do("POST", nhnIssuePath(h.app.AppKey)) }, 200},
		{"NHN image", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/img") }, 200},
		{"NHN sound", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/sound") }, 200},
		{"NHN error", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/img") }, 404},
		{"Naver JSON", func(h *harness) reply { return h.do("GET", nkey+"?code=0", naverAuth(h.app, h.secret)...) }, 200},
		{"Naver image", func(h *harness) reply { return h.naverImage(h.naverKey(nkey)) }, 200},
		{"Naver sound", func(h *harness) reply {
			return h.do("GET", "/scaptcha-bin/v1/scaptcha?key="+h.naverKey("/scaptcha/v1/skey")+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey)
		}, 200},
		{"Naver error", func(h *harness) reply { return h.naverImage("t521bp3qM7Qyk2X2") }, 403},
		{"unknown path", func(h *harness) reply { return h.do("GET", "/nowhere") }, 404},
		{"wrong method", func(h *harness) reply { return h.do("DELETE", "/healthz") }, 405},
		{"body too large", func(h *harness) reply {
			req, _ := http.NewRequest("POST", h.url+nhnIssuePath(h.app.AppKey), bytes.NewReader(make([]byte, 17<<10)))
			return h.send(req)
		}, 413},
		{"rate limited", func(h *harness) reply {
			for range tight.IPFetch.Burst {
				h.do("GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/img")
			}
			return h.do("GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/img")
		}, 429},
		{"healthz", func(h *harness) reply { return h.do("GET", "/healthz") }, 200},
		{"metrics", func(h *harness) reply { return h.do("GET", "/metrics") }, 200},
		{"server failure", func(h *harness) reply {
			key := h.nhnKey(h.app)
			h.db.Close()
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
		}, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withLimits(tight))
			if strings.HasPrefix(tc.name, "Naver") {
				h = newNaverHarness(t, withLimits(tight)) // an app answers its own dialect only
			}
			if r := tc.run(h); r.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %.100s", r.status, tc.status, r.body)
			}
		})
	}
}

// c.Scheme() believes the scheme headers only from a trusted proxy, and is the connection's
// otherwise: a client cannot say it came over HTTPS (or did not).
func TestSchemeHeadersCountOnlyFromTrustedProxies(t *testing.T) {
	cases := []struct {
		name    string
		trusted []string
		peer    string
		header  []string
		tls     bool
		want    string
	}{
		{"plain HTTP", nil, "203.0.113.5", nil, false, "http"},
		{"TLS", nil, "203.0.113.5", nil, true, "https"},
		{"X-Forwarded-Proto from a client", nil, "203.0.113.5", []string{"X-Forwarded-Proto", "https"}, false, "http"},
		{"X-Forwarded-Proto from loopback, no proxy trusted", nil, "127.0.0.1", []string{"X-Forwarded-Proto", "https"}, false, "http"},
		{"X-Forwarded-Proto from a private address, no proxy trusted", nil, "10.1.2.3", []string{"X-Forwarded-Proto", "https"}, false, "http"},
		{"X-Forwarded-Protocol from a client", nil, "10.1.2.3", []string{"X-Forwarded-Protocol", "https"}, false, "http"},
		{"X-Forwarded-Ssl from a client", nil, "10.1.2.3", []string{"X-Forwarded-Ssl", "on"}, false, "http"},
		{"X-Url-Scheme from a client", nil, "10.1.2.3", []string{"X-Url-Scheme", "https"}, false, "http"},
		{"X-Forwarded-Proto from an untrusted address", []string{"10.0.0.0/24"}, "10.0.1.1", []string{"X-Forwarded-Proto", "https"}, false, "http"},
		{"X-Forwarded-Proto http over TLS from a client", nil, "203.0.113.5", []string{"X-Forwarded-Proto", "http"}, true, "https"},
		{"X-Forwarded-Proto from a trusted proxy", []string{"10.0.0.0/24"}, "10.0.0.7", []string{"X-Forwarded-Proto", "https"}, false, "https"},
		{"X-Forwarded-Ssl from a trusted proxy", []string{"10.0.0.0/24"}, "10.0.0.7", []string{"X-Forwarded-Ssl", "on"}, false, "https"},
		{"a trusted proxy saying http", []string{"10.0.0.0/24"}, "10.0.0.7", []string{"X-Forwarded-Proto", "http"}, false, "http"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withLimits(web.Limits{}, tc.trusted...))
			e := h.handler.(*echo.Echo)
			e.GET("/test/scheme", func(c echo.Context) error { return c.String(http.StatusOK, c.Scheme()) })
			target := "http://captcha.example/test/scheme"
			if tc.tls {
				target = "https://captcha.example/test/scheme" // httptest sets req.TLS
			}
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.RemoteAddr = tc.peer + ":40000"
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got := strings.TrimSpace(rec.Body.String()); got != tc.want {
				t.Fatalf("scheme %q, want %q", got, tc.want)
			}
		})
	}
}
