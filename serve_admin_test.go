package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
		svc, db, err := openService(ctx, cfg, false, service.Options{})
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
	_, db, _ := openService(ctx, cfg, false, service.Options{})
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
