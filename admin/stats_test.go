package admin_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/admin"
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

// channelRow reads one row of the table of channels: solved, verifications, success rate.
func channelRow(t *testing.T, body, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`<tr id="channel-` + name + `"><th scope="row">[^<]*</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>`).FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	return m[1:]
}

// The share of solves through audio and the success rate of each channel, for the server
// and per app; a share above the alert is marked, in words as well as in colour; escalated
// challenges are counted.
func TestAudioShareAndChannels(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	shop, _, _ := v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	blog, _, _ := v.svc.CreateApp(ctx, "blog", service.NHN, service.DefaultAppSettings())
	play := func(app *service.App, audio, right bool, network string) {
		t.Helper()
		k, err := v.svc.IssueKey(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if audio {
			_, err = v.svc.KeyAudio(ctx, service.NHN, k.ID, "", network)
		} else {
			_, err = v.svc.KeyImage(ctx, service.NHN, k.ID, "", network)
		}
		if err != nil {
			t.Fatal(err)
		}
		v.clock.Advance(3 * time.Second)
		answer := "NOPE"
		if right {
			answer = v.answerOf(k.ID)
		}
		if _, err := v.svc.Verify(ctx, app, k.ID, answer, service.NoChannel); err != nil && !errors.Is(err, service.ErrWrongAnswer) {
			t.Fatal(err)
		}
	}
	// shop: 19 solves by image, one wrong image answer; blog: 2 solves and 5 wrong answers by
	// audio from one network, whose next key is escalated, and one key answered unseen.
	for range 19 {
		play(shop, false, true, "")
	}
	play(shop, false, false, "")
	for i := range 7 {
		play(blog, true, i < 2, "203.0.113.9")
	}
	play(blog, false, true, "203.0.113.9") // escalated: its answer is read back after delivery
	k, _ := v.svc.IssueKey(ctx, blog)
	v.svc.Verify(ctx, blog, k.ID, "NOPE", service.NoChannel)
	cookies, _ := v.session()

	body := v.do(http.MethodGet, "/admin", nil, cookies, nil).Body.String()
	// 2 of 22 solves by audio: 9.1%, above the default alert at 5%.
	if got := stat(t, body, "audio-share"); got != "9.1%" {
		t.Errorf("server audio share %q", got)
	}
	if !strings.Contains(body, `<div class="stat alarm"><span class="label">Solved by audio</span>`) ||
		!strings.Contains(body, `<p class="notice warn" id="audio-alert" role="status">9.1% of the solves came through the audio, above the alert at 5%.`) {
		t.Error("the server's audio share is not marked")
	}
	if got := stat(t, body, "escalated"); got != "1" {
		t.Errorf("server escalated %q", got)
	}
	for name, want := range map[string][]string{
		"image": {"20", "21", "95.2%"}, "audio": {"2", "7", "28.6%"}, "none": {"0", "1", "0%"},
	} {
		if got := channelRow(t, body, name); !slices.Equal(got, want) {
			t.Errorf("server %s row %v, want %v", name, got, want)
		}
	}

	shopPage := v.do(http.MethodGet, "/admin/apps/"+strconv.FormatInt(shop.ID, 10)+"/stats", nil, cookies, nil).Body.String()
	if stat(t, shopPage, "audio-share") != "0%" || strings.Contains(shopPage, `id="audio-alert"`) || stat(t, shopPage, "escalated") != "0" {
		t.Error("shop, without audio, is marked")
	}
	if channelRow(t, shopPage, "none") != nil || !slices.Equal(channelRow(t, shopPage, "audio"), []string{"0", "0", "–"}) {
		t.Errorf("shop's channels: %v, %v", channelRow(t, shopPage, "none"), channelRow(t, shopPage, "audio"))
	}
	c := append([]*http.Cookie{{Name: "lang", Value: "ko"}}, cookies...)
	blogPage := v.do(http.MethodGet, "/admin/apps/"+strconv.FormatInt(blog.ID, 10)+"/stats", nil, c, nil).Body.String()
	if stat(t, blogPage, "audio-share") != "66.7%" || stat(t, blogPage, "escalated") != "1" ||
		!strings.Contains(blogPage, "통과의 66.7%가 음성으로 이루어져 경고 기준 5%를 넘었습니다.") {
		t.Error("blog's audio share is not marked in Korean")
	}
}

// The alert's threshold is a setting.
func TestAudioShareAlertSetting(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, _, _ := v.svc.CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	for _, audio := range []bool{true, false, false, false} {
		k, _ := v.svc.IssueKey(ctx, app)
		if audio {
			v.svc.KeyAudio(ctx, service.NHN, k.ID, "", "")
		}
		v.svc.Verify(ctx, app, k.ID, v.answerOf(k.ID), service.NoChannel)
	}
	cookies, _ := v.session()
	for alert, marked := range map[float64]bool{0.2: true, 0.25: false, 0.5: false} {
		h, err := admin.New(admin.Options{Service: v.svc, Operators: v.ops, Now: v.clock.Now, AudioShareAlert: alert})
		if err != nil {
			t.Fatal(err)
		}
		v.e = echo.New()
		h.Register(v.e)
		body := v.do(http.MethodGet, "/admin", nil, cookies, nil).Body.String()
		if got := strings.Contains(body, `id="audio-alert"`); got != marked || stat(t, body, "audio-share") != "25%" {
			t.Errorf("25%% against an alert at %v: marked %v", alert, got)
		}
	}
}
