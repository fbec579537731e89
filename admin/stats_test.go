package admin_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

// stat reads the value of one statistics card.
func stat(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`id="stat-` + name + `">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s on the page", name)
	}
	return m[1]
}

// Known traffic, through the service: on app shop, three solves after 1, 4 and 10 seconds,
// one wrong answer, one key never answered; on app blog, one solve after 0.5 s.
func playKnownTraffic(t *testing.T, v *env) (shop, blog *service.App) {
	t.Helper()
	ctx := context.Background()
	shop, _, _ = v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	blog, _, _ = v.svc.CreateApp(ctx, "blog", service.NHN, service.DefaultAppSettings())
	solve := func(app *service.App, after time.Duration, right bool) {
		t.Helper()
		k, err := v.svc.IssueKey(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.svc.KeyImage(ctx, service.NHN, k.ID, "", ""); err != nil {
			t.Fatal(err)
		}
		v.clock.Advance(after)
		answer := k.Answer
		if !right {
			answer = "NOPE"
		}
		if _, err := v.svc.Verify(ctx, app, k.ID, answer, service.NoChannel); err != nil && !errors.Is(err, service.ErrWrongAnswer) {
			t.Fatal(err)
		}
	}
	solve(shop, time.Second, true)
	solve(shop, 4*time.Second, true)
	solve(shop, 10*time.Second, true)
	solve(shop, 3*time.Second, false)
	solve(blog, 500*time.Millisecond, true)
	if _, err := v.svc.IssueKey(ctx, shop); err != nil {
		t.Fatal(err)
	}
	v.clock.Advance(service.DefaultKeyLifetime + time.Minute)
	v.svc.DeleteExpiredKeys(ctx)
	return shop, blog
}

func TestStatisticsPages(t *testing.T) {
	v := newEnv(t)
	shop, _ := playKnownTraffic(t, v)
	cookies, _ := v.session()

	body := v.do(http.MethodGet, "/admin", nil, cookies, nil).Body.String()
	for name, want := range map[string]string{
		"issued": "6", "images": "5", "sounds": "0", "solved": "4", "wrong": "1", "expired": "1",
		"success": "80%", "median": "1 s", "p90": "10 s", "fast": "50%", // 0.5 s and 1 s of 4 under 2 s
	} {
		if got := stat(t, body, name); got != want {
			t.Errorf("server %s: %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(body, `href="/admin/apps/`+strconv.FormatInt(shop.ID, 10)+`/stats?period=24h"`) {
		t.Error("the dashboard does not link to each app's statistics")
	}

	body = v.do(http.MethodGet, "/admin/apps/"+strconv.FormatInt(shop.ID, 10)+"/stats", nil, cookies, nil).Body.String()
	for name, want := range map[string]string{
		"issued": "5", "solved": "3", "wrong": "1", "expired": "1", "success": "75%", "median": "4 s", "p90": "10 s", "fast": "33.3%",
	} {
		if got := stat(t, body, name); got != want {
			t.Errorf("shop %s: %q, want %q", name, got, want)
		}
	}
	// The histogram: one fast bar (1–1.5 s) and two others; the hour chart: one hour of bars.
	if n := strings.Count(body, `<rect class="fast"`); n != 1 {
		t.Errorf("%d fast bars", n)
	}
	if n := strings.Count(body, `<rect class="issued"`); n != 1 {
		t.Errorf("%d hours with keys issued", n)
	}
	if strings.Contains(body, "No keys were issued") {
		t.Error("the hour chart says it is empty")
	}

	// A day later the 24-hour window is empty; the 7-day one still counts everything.
	v.clock.Advance(24 * time.Hour)
	cookies, _ = v.session() // the first one has expired
	body = v.do(http.MethodGet, "/admin?period=24h", nil, cookies, nil).Body.String()
	if stat(t, body, "issued") != "0" || stat(t, body, "median") != "–" || !strings.Contains(body, "No keys were issued") {
		t.Error("yesterday's traffic in the last 24 hours")
	}
	body = v.do(http.MethodGet, "/admin?period=7d", nil, cookies, nil).Body.String()
	if stat(t, body, "issued") != "6" || stat(t, body, "solved") != "4" {
		t.Error("the 7-day window lost traffic")
	}
}

// Every statistics page draws with no data at all, in both languages.
func TestStatisticsWithoutData(t *testing.T) {
	v := newEnv(t)
	cookies, _ := v.session()
	for _, lang := range []string{"en", "ko"} {
		c := append([]*http.Cookie{{Name: "lang", Value: lang}}, cookies...)
		for _, target := range []string{"/admin", "/admin?period=7d", "/admin?period=30d", "/admin?period=bogus",
			"/admin/apps/" + strconv.FormatInt(v.demo.ID, 10) + "/stats?period=30d"} {
			rec := v.do(http.MethodGet, target, nil, c, nil)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || strings.Count(body, "<svg") != 2 || !strings.Contains(body, `class="chart-empty"`) {
				t.Errorf("%s in %s: %d", target, lang, rec.Code)
			}
			if got := stat(t, body, "success"); got != "–" {
				t.Errorf("%s: success rate %q without verifications", target, got)
			}
		}
	}
}
