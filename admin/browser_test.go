package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"captcha/admin"
	"captcha/engine/service"
	"captcha/engine/service/servicetest"
	"captcha/engine/sqlite"
	"captcha/internal/browsertest"
	"captcha/web"
)

// The browser tests drive Debian's chromium, headless, against the real server: the API
// router of web/ with the admin UI mounted on it, on a real SQLite file, on a loopback
// port. Without a browser they skip, except under CI (CI=true), where .ci/run installs one.
// With CAPTCHA_SCREENSHOTS=1 they first play a day of traffic into the database and save
// the screenshots of README.md in docs/screenshots/.

// browserServer is the whole server, wired as serve.go wires it.
type browserServer struct {
	url          string
	path         string
	passwordFile string // the first start's password file
	db           *sqlite.DB
	svc          *service.Service
	ops          *service.Operators
	demo         *service.App
}

// startServer starts the server with the test operator's account.
func startServer(t *testing.T) *browserServer {
	t.Helper()
	return startServerWith(t, func(s *browserServer) {
		if err := s.ops.SetPassword(context.Background(), testUser, testPassword); err != nil {
			t.Fatal(err)
		}
	})
}

// startServerWith starts the server after accounts(s) has made its operator accounts.
func startServerWith(t *testing.T, accounts func(*browserServer)) *browserServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s := &browserServer{path: filepath.Join(dir, sqlite.FileName), passwordFile: filepath.Join(dir, "initial-admin-password")}
	db, err := sqlite.Open(ctx, s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db
	r, err := sharedRenderer()
	if err != nil {
		t.Fatal(err)
	}
	if s.svc, err = service.New(ctx, db, r, service.Options{}); err != nil {
		t.Fatal(err)
	}
	if s.ops, err = service.NewOperators(db, service.OperatorOptions{PasswordCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	accounts(s)
	if s.demo, _, err = s.svc.EnsureDemoApp(ctx); err != nil {
		t.Fatal(err)
	}
	e := web.New(web.Options{Service: s.svc, Logger: slog.New(slog.DiscardHandler)})
	h, err := admin.New(admin.Options{Service: s.svc, Operators: s.ops, Renderer: r, InitialPasswordFile: s.passwordFile})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

// text reads an element's text with JavaScript, once the element is there: a DOM query
// of chromedp can still hold the document a form post has just replaced.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	browsertest.WaitJS(t, ctx, "#"+id, fmt.Sprintf(`!!document.getElementById(%q)`, id))
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// click clicks an element with JavaScript once its page has loaded (and its script has
// set up its buttons). chromedp's own Click finds the element in the document it tracks,
// which right after a form post can still be the previous page with the same ids, and
// clicks where the element was there.
func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, "#"+id+" on a loaded page", fmt.Sprintf(`document.readyState === "complete" && !!document.getElementById(%q)`, id))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(document.getElementById(%q).click(), true)`, id))); err != nil {
		t.Fatalf("clicking #%s: %v", id, err)
	}
}

// value reads an input's value with JavaScript, like text.
func value(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	browsertest.WaitJS(t, ctx, "#"+id, fmt.Sprintf(`!!document.getElementById(%q)`, id))
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).value`, id)))
	if err != nil {
		t.Fatalf("value of #%s: %v", id, err)
	}
	return v
}

func count(t *testing.T, ctx context.Context, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(text(t, ctx, id), ",", ""))
	if err != nil {
		t.Fatalf("#%s is not a count: %v", id, err)
	}
	return n
}

func TestInTheBrowser(t *testing.T) {
	s := startServer(t)
	screenshots := os.Getenv("CAPTCHA_SCREENSHOTS") == "1"
	if screenshots {
		playTraffic(t, s)
	}
	ctx := browsertest.New(t)
	bg := context.Background()

	// An anonymous visit to the dashboard lands on the sign-in page; signing in goes back.
	browsertest.Do(t, ctx, "sign in",
		chromedp.Navigate(s.url+"/admin"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("user"), testUser),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Submit(chromedp.ID("login-form")),
	)
	browsertest.WaitJS(t, ctx, "the dashboard", `location.pathname === "/admin" && !!document.getElementById("totals")`)
	solvedBefore := count(t, ctx, "stat-solved")
	issuedBefore := count(t, ctx, "stat-issued")

	// Create an app: the secret is shown once, and it authenticates.
	browsertest.Do(t, ctx, "create an app",
		chromedp.Navigate(s.url+"/admin/apps/new"),
		chromedp.WaitVisible(chromedp.ID("app-form")),
		chromedp.SendKeys(chromedp.ID("f-name"), "webshop"),
		chromedp.SetValue(chromedp.ID("f-api"), string(service.Naver)),
	)
	click(t, ctx, "save")
	browsertest.WaitJS(t, ctx, "the new secret", `location.pathname === "/admin/apps" && !!document.getElementById("secret")`)
	appKey, secret := text(t, ctx, "appkey"), text(t, ctx, "secret")
	app, err := s.svc.AuthenticateApp(bg, service.Naver, appKey, secret)
	if err != nil {
		t.Fatalf("the secret the page showed: %v", err)
	}

	// The preview image loads, then follows the width typed before saving; a refused
	// value gets its reason next to the field.
	browsertest.Do(t, ctx, "open the app", chromedp.Navigate(fmt.Sprintf("%s/admin/apps/%d", s.url, app.ID)),
		chromedp.WaitVisible(chromedp.ID("preview-image")))
	browsertest.WaitJS(t, ctx, "the preview image", `(() => { const i = document.getElementById("preview-image"); return i.complete && i.naturalWidth === 240; })()`)
	browsertest.Do(t, ctx, "change the width",
		chromedp.SetValue(chromedp.ID("f-width"), ""),
		chromedp.SendKeys(chromedp.ID("f-width"), "320"),
	)
	browsertest.WaitJS(t, ctx, "the preview at the new width", `(() => { const i = document.getElementById("preview-image"); return i.complete && i.naturalWidth === 320; })()`)
	browsertest.Do(t, ctx, "type a refused length",
		chromedp.SetValue(chromedp.ID("f-length"), ""),
		chromedp.SendKeys(chromedp.ID("f-length"), "12"),
	)
	browsertest.WaitJS(t, ctx, "the preview's reason", `document.getElementById("err-length").textContent.includes("4 to 8")`)
	if got, _ := s.svc.AppByID(bg, app.ID); got.Settings.Width != 240 {
		t.Errorf("the preview saved the width: %d", got.Settings.Width)
	}

	// Rotate the secret: the new one works, the old one no longer does.
	browsertest.Do(t, ctx, "open the app again", chromedp.Navigate(fmt.Sprintf("%s/admin/apps/%d", s.url, app.ID)))
	click(t, ctx, "rotate")
	browsertest.WaitJS(t, ctx, "the rotated secret", `location.pathname.endsWith("/secret") && !!document.getElementById("secret")`)
	rotated := text(t, ctx, "secret")
	if _, err := s.svc.AuthenticateApp(bg, service.Naver, appKey, rotated); err != nil || rotated == secret {
		t.Errorf("rotated secret %q: %v", rotated, err)
	}
	if _, err := s.svc.AuthenticateApp(bg, service.Naver, appKey, secret); !errors.Is(err, service.ErrBadSecret) {
		t.Errorf("the old secret after rotation: %v", err)
	}

	// The demo: the widget shows a challenge; the answer, read from the database, gets a
	// token, which the page's server verifies.
	browsertest.Do(t, ctx, "open the demo", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("demo-form")))
	const widgetReady = `(() => {
		const r = document.querySelector("#demo-widget .cw"), i = r && r.querySelector(".cw-img");
		return !!i && !r.hidden && !r.classList.contains("cw-loading") && i.complete && i.naturalWidth > 0;
	})()`
	browsertest.WaitJS(t, ctx, "the widget's challenge", widgetReady)
	if screenshots {
		saveScreenshot(t, ctx, "demo.png")
	}
	challenge := func() string {
		t.Helper()
		src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#demo-widget .cw-img").src`))
		if err != nil {
			t.Fatal(err)
		}
		return path.Base(src)
	}
	openDB := &env{t: t, path: s.path}
	browsertest.Do(t, ctx, "answer the demo",
		chromedp.SendKeys(chromedp.CSS("#demo-widget .cw-input"), openDB.answerOf(challenge())),
		chromedp.Click(chromedp.CSS("#demo-widget .cw-check")),
	)
	browsertest.WaitJS(t, ctx, "the token", `document.querySelector("#demo-form input[name=captcha-response]").value !== ""`)
	click(t, ctx, "demo-submit")
	browsertest.WaitJS(t, ctx, "the verdict", `(() => { const v = document.getElementById("verdict"); return !!v && v.classList.contains("ok"); })()`)

	// A new challenge by the widget's button, without a reload.
	browsertest.WaitJS(t, ctx, "the widget after the verdict", widgetReady)
	before := challenge()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#demo-widget .cw-fresh").click(), true)`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitJS(t, ctx, "a new challenge", fmt.Sprintf(`%s && !document.querySelector("#demo-widget .cw-img").src.endsWith("/"+%q)`, widgetReady, before))

	// The dashboard counts the solve.
	browsertest.Do(t, ctx, "open the dashboard", chromedp.Navigate(s.url+"/admin"), chromedp.WaitVisible(chromedp.ID("totals")))
	if got := count(t, ctx, "stat-solved"); got != solvedBefore+1 {
		t.Errorf("solved: %d, want %d", got, solvedBefore+1)
	}
	// Keys: the demo's widget asked for one on the page's first load, one with the verdict,
	// one on request.
	if got := count(t, ctx, "stat-issued"); got != issuedBefore+3 {
		t.Errorf("issued: %d, want %d", got, issuedBefore+3)
	}
	// The demo was solved from its image: the table of channels counts it there, and the
	// share of solves by audio and the escalated challenges are shown beside the others.
	browsertest.WaitJS(t, ctx, "the image channel's solves", `(() => {
		const row = document.querySelector("#channels tr#channel-image");
		return !!row && !!row.querySelector("th[scope=row]") && Number(row.querySelector("td").textContent.replace(/,/g, "")) >= 1;
	})()`)
	if got := text(t, ctx, "stat-audio-share"); !strings.HasSuffix(got, "%") {
		t.Errorf("audio share %q", got)
	}
	count(t, ctx, "stat-escalated")
	if screenshots {
		saveScreenshot(t, ctx, "dashboard.png")
	}
	browsertest.Do(t, ctx, "open the demo app's statistics",
		chromedp.Navigate(fmt.Sprintf("%s/admin/apps/%d/stats", s.url, s.demo.ID)),
		chromedp.WaitVisible(chromedp.ID("totals")),
	)
	if got := count(t, ctx, "stat-solved"); got < 1 {
		t.Errorf("the demo app's statistics show %d solves", got)
	}

	// Signing out ends the session: the dashboard sends back to the sign-in page.
	click(t, ctx, "logout")
	browsertest.WaitJS(t, ctx, "the sign-in page", `location.pathname === "/admin/login" && !!document.getElementById("login-form")`)
	browsertest.Do(t, ctx, "visit after signing out", chromedp.Navigate(s.url+"/admin/apps"), chromedp.WaitVisible(chromedp.ID("login-form")))
}

// The first start's admin signs in with the generated password, is kept on the account
// page until it chooses one, and then signs in with that.
func TestInTheBrowserFirstSignIn(t *testing.T) {
	var generated string
	s := startServerWith(t, func(s *browserServer) {
		var err error
		if generated, _, err = s.ops.EnsureFirstOperator(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.passwordFile, []byte(generated+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	ctx := browsertest.New(t)
	const chosen = "one I chose myself"

	browsertest.Do(t, ctx, "sign in with the generated password",
		chromedp.Navigate(s.url+"/admin/apps"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("user"), service.FirstOperatorName),
		chromedp.SendKeys(chromedp.ID("password"), generated),
		chromedp.Submit(chromedp.ID("login-form")),
	)
	browsertest.WaitJS(t, ctx, "the account page, asking for a new password",
		`location.pathname === "/admin/account" && !!document.getElementById("must-change")`)
	browsertest.Do(t, ctx, "ask for the dashboard", chromedp.Navigate(s.url+"/admin"))
	browsertest.WaitJS(t, ctx, "the account page again", `location.pathname === "/admin/account" && !!document.getElementById("account-form")`)

	browsertest.Do(t, ctx, "choose a password",
		chromedp.SendKeys(chromedp.ID("current"), generated),
		chromedp.SendKeys(chromedp.ID("password"), chosen),
		chromedp.SendKeys(chromedp.ID("again"), chosen),
		chromedp.Submit(chromedp.ID("account-form")),
	)
	browsertest.WaitJS(t, ctx, "the sign-in page, saying the password changed",
		`location.pathname === "/admin/login" && document.body.innerText.includes("Password changed")`)
	if _, err := os.Stat(s.passwordFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the password file after the change: %v", err)
	}

	browsertest.Do(t, ctx, "sign in with the chosen password",
		chromedp.SendKeys(chromedp.ID("user"), service.FirstOperatorName),
		chromedp.SendKeys(chromedp.ID("password"), chosen),
		chromedp.Submit(chromedp.ID("login-form")),
	)
	browsertest.WaitJS(t, ctx, "the dashboard", `location.pathname === "/admin" && !!document.getElementById("totals")`)
}

// saveScreenshot writes the whole page to docs/screenshots/name.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", filepath.Join(dir, name))
}

// playTraffic plays a day of traffic through the service, with its own clock, so that the
// screenshots show something: people who take a few seconds and sometimes get it wrong, a
// script that answers in under a second, and visitors who leave without answering.
func playTraffic(t *testing.T, s *browserServer) {
	t.Helper()
	ctx := context.Background()
	r, _ := sharedRenderer()
	now := time.Now()
	c := servicetest.NewClock(now.Add(-23 * time.Hour))
	svc, err := service.New(ctx, s.db, r, service.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	shop, _, err := svc.CreateApp(ctx, "shop.example", service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	settings := service.DefaultAppSettings()
	settings.Charset, settings.Lang = "hangul", "ko"
	forum, _, err := svc.CreateApp(ctx, "forum.example", service.NHN, settings)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for hour := 0; hour < 23; hour++ {
		c.Set(now.Add(time.Duration(hour-23) * time.Hour))
		// Busier in the day: a bell over the hours.
		people := 2 + int(6*(1-math.Abs(float64(hour)-12)/12))
		bots := 0
		if hour >= 14 && hour < 18 {
			bots = 4 // a script finds the login page in the afternoon
		}
		for i := 0; i < people+bots; i++ {
			app := shop
			if i%3 == 2 {
				app = forum
			}
			k, err := svc.IssueKey(ctx, app)
			if err != nil {
				t.Fatal(err)
			}
			if i < people && rng.IntN(8) == 0 {
				continue // left without loading the challenge: it expires unsolved
			}
			if i < people && rng.IntN(6) == 0 {
				svc.KeyAudio(ctx, service.NHN, k.ID, "", "")
			} else {
				svc.KeyImage(ctx, service.NHN, k.ID, "", "")
			}
			answer := k.Answer
			if i < people {
				c.Advance(time.Duration(2500+rng.IntN(9000)) * time.Millisecond)
				if rng.IntN(7) == 0 {
					answer = "WRONG"
				}
			} else {
				c.Advance(time.Duration(300+rng.IntN(900)) * time.Millisecond)
			}
			svc.Verify(ctx, app, k.ID, answer, service.NoChannel)
		}
	}
	c.Set(now)
	svc.DeleteExpiredKeys(ctx)
}
