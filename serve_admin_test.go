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

	"captcha/engine/service"
)

// The first start creates the admin account, logging its password once, and the demo app;
// a second start creates neither and logs no password.
func TestServeOpensTheAdminUIOnce(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	start := func() (string, *service.Service) {
		t.Helper()
		svc, db, err := openService(ctx, cfg, nil, service.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var logged strings.Builder
		h, err := openAdmin(ctx, cfg, svc, db, nil, slog.New(slog.NewTextHandler(&logged, nil)))
		if err != nil {
			t.Fatal(err)
		}
		e := echo.New()
		h.Register(e)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin", nil))
		if rec.Code != http.StatusSeeOther {
			t.Errorf("GET /admin without a session: %d", rec.Code)
		}
		return logged.String(), svc
	}

	logged, svc := start()
	m := regexp.MustCompile(`user=admin password=(\S+)`).FindStringSubmatch(logged)
	if m == nil {
		t.Fatalf("no password in the log:\n%s", logged)
	}
	_, db, _ := openService(ctx, cfg, nil, service.Options{})
	defer db.Close()
	ops, _ := service.NewOperators(db, service.OperatorOptions{})
	if _, err := ops.Authenticate(ctx, "admin", m[1]); err != nil {
		t.Errorf("the logged password: %v", err)
	}
	if _, err := svc.DemoApp(ctx); err != nil {
		t.Errorf("the demo app: %v", err)
	}

	logged, svc = start()
	if strings.Contains(logged, "password") || strings.Contains(logged, "created") {
		t.Errorf("the second start logged:\n%s", logged)
	}
	if apps, _ := svc.Apps(ctx); len(apps) != 1 {
		t.Errorf("%d apps after two starts", len(apps))
	}
}

// startAdmin opens the data directory as serve does and returns its admin UI on a router,
// with what it logged.
func startAdmin(t *testing.T, cfg Config) (*echo.Echo, *strings.Builder) {
	t.Helper()
	ctx := context.Background()
	svc, db, err := openService(ctx, cfg, nil, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logged := &strings.Builder{}
	h, err := openAdmin(ctx, cfg, svc, db, nil, slog.New(slog.NewTextHandler(logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	return e, logged
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn posts the sign-in form from ip, with the form's own CSRF token.
func signIn(t *testing.T, e *echo.Echo, user, password, ip string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
	m := csrfField.FindStringSubmatch(rec.Body.String())
	cookies := rec.Result().Cookies()
	if m == nil || len(cookies) == 0 {
		t.Fatalf("the sign-in page: %d", rec.Code)
	}
	form := url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = ip + ":1234"
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}
