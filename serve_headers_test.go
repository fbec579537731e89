package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"captcha/engine/service"
	"captcha/web"
)

// servedRouter is the router runServe serves, on a fresh data directory, with an operator
// that signs in as operatorName / operatorPassword.
func servedRouter(t *testing.T, cfg Config) (*echo.Echo, *service.Service) {
	t.Helper()
	ctx := context.Background()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc, db, err := openService(ctx, cfg, true, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	adminUI, err := openAdmin(ctx, cfg, svc, db, svc.Renderer(), log)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := service.NewOperators(db, service.OperatorOptions{PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.SetPassword(ctx, operatorName, operatorPassword); err != nil {
		t.Fatal(err)
	}
	return newRouter(cfg, svc, web.NewMetrics(), adminUI, log), svc
}

const (
	operatorName     = "alice"
	operatorPassword = "correct horse battery"
)

// request is one request as it reaches the server: from peer, over TLS or not.
type request struct {
	peer    string
	tls     bool
	headers []string // name/value pairs
}

func (r request) send(router http.Handler, method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	target := "http://captcha.example" + path
	if r.tls {
		target = "https://captcha.example" + path // httptest sets req.TLS
	}
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	req.RemoteAddr = r.peer + ":40000"
	for i := 0; i+1 < len(r.headers); i += 2 {
		req.Header.Set(r.headers[i], r.headers[i+1])
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	return rec
}

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn fetches the sign-in form and posts it, as r, and returns the sign-in form's cookie
// and the session cookie.
func (r request) signIn(t *testing.T, router http.Handler) (login, session *http.Cookie) {
	t.Helper()
	page := r.send(router, http.MethodGet, "/admin/login", nil)
	login = cookieNamed(page, "captcha_login")
	m := csrfInput.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || login == nil || m == nil {
		t.Fatalf("sign-in page: %d, cookie %v", page.Code, login)
	}
	form := url.Values{"csrf": {m[1]}, "user": {operatorName}, "password": {operatorPassword}}
	signedIn := r.send(router, http.MethodPost, "/admin/login", form, login)
	session = cookieNamed(signedIn, "captcha_admin")
	if signedIn.Code != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in: %d %s", signedIn.Code, signedIn.Body)
	}
	return login, session
}

// The admin UI's cookies are Secure over HTTPS: by the connection's TLS, by X-Forwarded-Proto
// (or another scheme header) from a trusted proxy, or always with admin.secure_cookies =
// "always"; never because a client says so.
func TestAdminCookiesAreSecureOnlyOverHTTPS(t *testing.T) {
	const proxy, client = "10.0.0.7", "10.9.8.7" // echo's defaults would trust both
	cases := []struct {
		name    string
		trusted []string
		always  bool
		req     request
		secure  bool
	}{
		{"plain HTTP", nil, false, request{peer: client}, false},
		{"TLS", nil, false, request{peer: client, tls: true}, true},
		{"X-Forwarded-Proto from a client", nil, false, request{peer: client, headers: []string{"X-Forwarded-Proto", "https"}}, false},
		{"X-Forwarded-Ssl from a client", nil, false, request{peer: client, headers: []string{"X-Forwarded-Ssl", "on"}}, false},
		{"X-Url-Scheme from loopback", nil, false, request{peer: "127.0.0.1", headers: []string{"X-Url-Scheme", "https"}}, false},
		{"X-Forwarded-Proto from outside the trusted proxies", []string{"10.0.0.0/24"}, false,
			request{peer: client, headers: []string{"X-Forwarded-Proto", "https"}}, false},
		{"X-Forwarded-Proto from a trusted proxy", []string{"10.0.0.0/24"}, false,
			request{peer: proxy, headers: []string{"X-Forwarded-Proto", "https"}}, true},
		{"a trusted proxy without X-Forwarded-Proto", []string{"10.0.0.0/24"}, false, request{peer: proxy}, false},
		{"always, over plain HTTP", nil, true, request{peer: client}, true},
		{"always, with a client saying http", nil, true, request{peer: client, headers: []string{"X-Forwarded-Proto", "http"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TrustedProxies = tc.trusted
			if tc.always {
				cfg.Admin.SecureCookies = SecureCookiesAlways
			}
			router, _ := servedRouter(t, cfg)
			login, session := tc.req.signIn(t, router)
			if login.Secure != tc.secure || session.Secure != tc.secure {
				t.Fatalf("Secure: sign-in form's cookie %v, session cookie %v; want %v", login.Secure, session.Secure, tc.secure)
			}
		})
	}
}

// Every kind of response the server gives, the admin UI's and the APIs' alike, tells
// browsers not to guess its type.
func TestEveryResponseIsNoSniff(t *testing.T) {
	router, svc := servedRouter(t, DefaultConfig())
	ctx := context.Background()
	nhn, _, err := svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.IssueKey(ctx, nhn)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := svc.DemoApp(ctx) // a widget app
	if err != nil {
		t.Fatal(err)
	}
	widgetKey, err := svc.IssueKey(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	browser := request{peer: "192.0.2.1"}
	_, session := browser.signIn(t, router)
	for _, tc := range []struct {
		name, method, path string
		signedIn           bool
		status             int
	}{
		{"demo page", "GET", "/", false, 200},
		{"asset", "GET", "/assets/admin.css", false, 200},
		{"sign-in page", "GET", "/admin/login", false, 200},
		{"sign-in without its CSRF token", "POST", "/admin/login", false, 403},
		{"admin page, signed out", "GET", "/admin", false, 303},
		{"admin preview, signed out", "GET", "/admin/preview/image", false, 401},
		{"admin page", "GET", "/admin/apps", true, 200},
		{"admin preview image", "GET", "/admin/preview/image?charset=alnum&length=6&difficulty=normal&width=240&height=80&lang=en", true, 200},
		{"admin not found", "GET", "/admin/apps/999999", true, 404},
		{"unknown language", "GET", "/lang/xx", false, 404},
		{"API JSON", "POST", "/captcha/v1.0/appkeys/" + nhn.AppKey + "/keys", false, 200},
		{"API image", "GET", "/captcha/v1.0/keys/" + key.ID + "/img", false, 200},
		{"API sound", "GET", "/captcha/v1.0/keys/" + key.ID + "/sound", false, 200},
		{"API error", "GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/img", false, 404},
		{"Naver error", "GET", "/captcha/v1/nkey?code=0", false, 401},
		{"widget script", "GET", "/api.js", false, 200},
		{"widget stylesheet", "GET", "/widget/ui/widget.css", false, 200},
		{"widget image", "GET", "/widget/v1/image/" + widgetKey.ID, false, 200},
		{"widget error", "GET", "/widget/v1/audio/AAAAAAAAAAAAAAAAAAAAAA", false, 404},
		{"unknown path", "GET", "/nowhere", false, 404},
		{"healthz", "GET", "/healthz", false, 200},
		{"metrics", "GET", "/metrics", false, 200},
	} {
		var cookies []*http.Cookie
		if tc.signedIn {
			cookies = append(cookies, session)
		}
		var form url.Values
		if tc.method == http.MethodPost {
			form = url.Values{}
		}
		rec := browser.send(router, tc.method, tc.path, form, cookies...)
		if rec.Code != tc.status {
			t.Errorf("%s: %s %s: HTTP %d, want %d", tc.name, tc.method, tc.path, rec.Code, tc.status)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: %s %s: X-Content-Type-Options %q", tc.name, tc.method, tc.path, got)
		}
	}
}
