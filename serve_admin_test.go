package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The first start creates the admin account, with a password in a file only the server's
// user can read (the log says where, never the password), and the demo app; a second start
// creates neither.
func TestServeOpensTheAdminUIOnce(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	e, logged := startAdmin(t, cfg)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin", nil))
	if rec.Code != http.StatusSeeOther {
		t.Errorf("GET /admin without a session: %d", rec.Code)
	}

	path := filepath.Join(cfg.DataDir, "initial-admin-password")
	if !strings.Contains(logged.String(), "password_file="+path) {
		t.Errorf("the log does not say where the password is:\n%s", logged)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(content))
	if strings.Contains(logged.String(), password) {
		t.Errorf("the log shows the password:\n%s", logged)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("the password file has mode %v", fi.Mode().Perm())
	}
	_, db, _ := openService(ctx, cfg, false, service.Options{})
	defer db.Close()
	ops, _ := service.NewOperators(db, service.OperatorOptions{})
	if _, err := ops.Authenticate(ctx, "admin", password); err != nil {
		t.Errorf("the password in the file: %v", err)
	}
	svc, _ := service.New(ctx, db, nil, service.Options{})
	if _, err := svc.DemoApp(ctx); err != nil {
		t.Errorf("the demo app: %v", err)
	}
	// Signing in with it leads to choosing another.
	if rec := signIn(t, e, "admin", password, "192.0.2.1"); rec.Header().Get("Location") != "/admin/account" {
		t.Errorf("signing in with the generated password: %d to %q", rec.Code, rec.Header().Get("Location"))
	}

	_, logged = startAdmin(t, cfg)
	if strings.Contains(logged.String(), "password") || strings.Contains(logged.String(), "created") {
		t.Errorf("the second start logged:\n%s", logged)
	}
	if again, _ := os.ReadFile(path); string(again) != string(content) {
		t.Error("the second start rewrote the password file")
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
	svc, db, err := openService(ctx, cfg, false, service.Options{})
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
