package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"captcha/engine/service"
	"captcha/internal/browsertest"
	"captcha/web"
)

// The widget's browser tests: the whole server, wired as serve wires it, on a loopback
// port (the CAPTCHA's origin, http://127.0.0.1:PORT), and a customer's site on another
// origin (http://localhost:PORT) whose pages have a strict Content-Security-Policy that
// allows the CAPTCHA's origin alone. A person's part is played by chromium with the
// answer read from the server's database, as only the test can; the site's part by its
// own backend, which verifies the token through /siteverify.
//
// With CAPTCHA_SCREENSHOTS=1, TestWidgetAccessibility also saves the widget's screenshots
// of README.md in docs/screenshots/.

// widgetServer is the CAPTCHA server with two widget apps whose pages may be on localhost:
// one in English with letters and digits, one in Korean with Hangul.
type widgetServer struct {
	url string
	db  database
	svc *service.Service
	en  widgetApp
	ko  widgetApp
	// elsewhere is a widget app for example.com alone, which the test's site is not.
	elsewhere widgetApp
}

type widgetApp struct {
	app    *service.App
	secret string
}

func startWidgetServer(t *testing.T) *widgetServer {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	metrics := web.NewMetrics()
	svc, db, err := openService(ctx, cfg, true, service.Options{Observer: metrics, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	adminUI, err := openAdmin(ctx, cfg, svc, db, svc.Renderer(), log)
	if err != nil {
		t.Fatal(err)
	}
	router := newRouter(cfg, svc, metrics, adminUI, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s := &widgetServer{url: "http://" + ln.Addr().String(), db: db, svc: svc}
	ko := service.DefaultAppSettings()
	ko.Charset, ko.Lang = "hangul", "ko"
	for _, a := range []struct {
		app      *widgetApp
		name     string
		settings service.AppSettings
		hosts    []string
	}{
		{&s.en, "site", service.DefaultAppSettings(), []string{"localhost"}},
		{&s.ko, "한국어 사이트", ko, []string{"localhost"}},
		{&s.elsewhere, "elsewhere", service.DefaultAppSettings(), []string{"example.com"}},
	} {
		if a.app.app, a.app.secret, err = svc.CreateWidgetApp(ctx, a.name, a.settings, a.hosts); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// answer reads a challenge's answer from the database, through the writer, which sees a
// first delivery before it is committed (one that escalated the key changed its answer).
func (s *widgetServer) answer(t *testing.T, key string) string {
	t.Helper()
	var answer string
	err := s.db.UpdateKey(context.Background(), key, func(k *service.Key) (*service.Verification, error) {
		answer = k.Answer
		return nil, nil
	})
	if err != nil {
		t.Fatalf("the answer of %s: %v", key, err)
	}
	return answer
}

// widgetSite is a customer's site: a sign-up form with the widget, and a backend that
// checks the form's token with /siteverify.
type widgetSite struct {
	url     string
	captcha *widgetServer
	mu      sync.Mutex
	replies []siteverifyReply
	reports []string // what the browser reported to the CSP's report-uri
}

// siteverifyReply is /siteverify's answer, as a site's backend reads it.
type siteverifyReply struct {
	Success     bool     `json:"success"`
	ChallengeTS string   `json:"challenge_ts"`
	Hostname    string   `json:"hostname"`
	ErrorCodes  []string `json:"error-codes"`
	Action      string   `json:"action"`
	CData       string   `json:"cdata"`
}

// sitePageData is what a page of the site is made of.
type sitePageData struct {
	Lang, Script, Class, Sitekey, Field        string
	Theme, Size, DataLang, Action, CData, Name string
	Callbacks                                  bool
}

var sitePage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><title>Sign up</title>
<script src="{{.Script}}" async defer></script>
</head>
<body>
<main>
<h1>Sign up</h1>
<form method="post" action="/signup?field={{.Field}}">
<p><label for="email">Email</label> <input id="email" name="email" type="email" value="someone@example.com"></p>
<div id="box" class="{{.Class}}" data-sitekey="{{.Sitekey}}"
{{- with .Theme}} data-theme="{{.}}"{{end}}
{{- with .Size}} data-size="{{.}}"{{end}}
{{- with .DataLang}} data-lang="{{.}}"{{end}}
{{- with .Action}} data-action="{{.}}"{{end}}
{{- with .CData}} data-cdata="{{.}}"{{end}}
{{- with .Name}} data-response-field-name="{{.}}"{{end}}
{{- if .Callbacks}} data-callback="onSolved" data-expired-callback="onExpired" data-error-callback="onCaptchaError"{{end}}></div>
<p><button type="submit" id="send">Sign up</button></p>
</form>
</main>
</body>
</html>
`))

var siteResult = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed up?</title></head>
<body><main><p id="verdict">{{if .Success}}passed{{else}}refused{{end}}</p>
<p id="codes">{{range .ErrorCodes}}{{.}} {{end}}</p></main></body></html>
`))

func startWidgetSite(t *testing.T, captcha *widgetServer) *widgetSite {
	t.Helper()
	s := &widgetSite{captcha: captcha}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("POST /signup", s.signup)
	mux.HandleFunc("POST /csp-report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reports = append(s.reports, string(b))
		s.mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// Another origin than the CAPTCHA's: another host name and port.
	s.url = fmt.Sprintf("http://localhost:%d", srv.Listener.Addr().(*net.TCPAddr).Port)
	return s
}

// csp allows the CAPTCHA's origin alone, for everything the widget loads; nothing inline.
func (s *widgetSite) csp(w http.ResponseWriter) {
	o := s.captcha.url
	w.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src %[1]s; style-src %[1]s; "+
		"img-src %[1]s; media-src %[1]s; connect-src %[1]s; form-action 'self'; report-uri /csp-report", o))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
}

// page serves the sign-up page that the query describes: ?lang=ko (the page's language),
// ?compat=recaptcha (a page written for reCAPTCHA v2), ?explicit=1 (rendered by script),
// and the widget's data- attributes theme, size, data-lang, action, cdata, name.
func (s *widgetSite) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app := s.captcha.en
	switch q.Get("app") {
	case "ko":
		app = s.captcha.ko
	case "elsewhere":
		app = s.captcha.elsewhere
	case "none":
		app.app = &service.App{AppKey: "0123456789abcdef0123456789abcdef"}
	}
	d := sitePageData{
		Lang: "en", Script: s.captcha.url + "/api.js", Class: "captcha", Sitekey: app.app.AppKey,
		Field: "captcha-response", Theme: q.Get("theme"), Size: q.Get("size"), DataLang: q.Get("data-lang"),
		Action: q.Get("action"), CData: q.Get("cdata"), Name: q.Get("name"), Callbacks: true,
	}
	if l := q.Get("lang"); l != "" {
		d.Lang = l
	}
	if d.Name != "" {
		d.Field = d.Name
	}
	var params []string
	if q.Get("compat") == "recaptcha" {
		// As a reCAPTCHA v2 page has it: only the script's URL changed.
		d.Class, d.Field, d.Callbacks = "g-recaptcha", "g-recaptcha-response", false
		params = append(params, "compat=recaptcha")
	}
	if q.Get("explicit") == "1" {
		params = append(params, "onload=renderExplicitly", "render=explicit")
	}
	if hl := q.Get("hl"); hl != "" {
		params = append(params, "hl="+hl)
	}
	if len(params) > 0 {
		d.Script += "?" + strings.Join(params, "&")
	}
	s.csp(w)
	sitePage.Execute(w, d)
}

// signup is the site's backend: it verifies the form's token and shows the verdict.
func (s *widgetSite) signup(w http.ResponseWriter, r *http.Request) {
	field := r.URL.Query().Get("field")
	reply, err := s.verify(r.Context(), r.FormValue(field), r.RemoteAddr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.csp(w)
	siteResult.Execute(w, reply)
}

func (s *widgetSite) verify(ctx context.Context, token, remote string) (*siteverifyReply, error) {
	ip, _, _ := net.SplitHostPort(remote)
	app := s.captcha.en
	form := url.Values{"secret": {app.secret}, "response": {token}, "remoteip": {ip}}
	reply, err := siteverify(ctx, s.captcha.url, form)
	if err == nil && slicesContain(reply.ErrorCodes, "invalid-input-response") {
		// The Korean app's token: the site knows both secrets, as one with two forms would.
		form.Set("secret", s.captcha.ko.secret)
		reply, err = siteverify(ctx, s.captcha.url, form)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.replies = append(s.replies, *reply)
	s.mu.Unlock()
	return reply, nil
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// siteverify posts form to the CAPTCHA's /siteverify, as a site's backend does.
func siteverify(ctx context.Context, base string, form url.Values) (*siteverifyReply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/siteverify", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("siteverify: HTTP %d", res.StatusCode)
	}
	var reply siteverifyReply
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil {
		return nil, fmt.Errorf("siteverify: %w", err)
	}
	return &reply, nil
}

// lastReply is the site's last verdict from /siteverify.
func (s *widgetSite) lastReply(t *testing.T) siteverifyReply {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		t.Fatal("the site has verified no token")
	}
	return s.replies[len(s.replies)-1]
}

// replay posts a form with token to the site again, as someone replaying a sign-up would,
// and returns the site's verdict.
func (s *widgetSite) replay(t *testing.T, field, token string) siteverifyReply {
	t.Helper()
	res, err := http.PostForm(s.url+"/signup?field="+field, url.Values{field: {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return s.lastReply(t)
}

// widgetBrowser is chromium with what the pages reported: console errors and warnings,
// CSP violations, and the calls of the widget's callbacks (Go functions the page sees as
// window.onSolved, onExpired and onCaptchaError).
type widgetBrowser struct {
	ctx        context.Context
	mu         sync.Mutex
	console    []string
	violations []string
	solved     []string
	expired    int
	errors     []string
}

// The script every page of the test gets before its own: it passes CSP violations to the
// test, renders the widget of ?explicit=1 pages from the onload callback, and with ?fast=1
// runs the page's timers a hundred times faster, so that a token's 300 s pass in 3.
const browserPrelude = `
document.addEventListener("securitypolicyviolation", (e) =>
  window.cspViolation(e.violatedDirective + " " + e.blockedURI + " at " + e.sourceFile + ":" + e.lineNumber));
window.renderExplicitly = () => {
  window.explicitID = captcha.render("box", { theme: "dark", size: "compact", callback: (t) => window.onSolved(t) });
};
if (new URLSearchParams(location.search).has("fast")) {
  const setTimeout0 = window.setTimeout;
  window.setTimeout = (f, ms, ...args) => setTimeout0(f, (ms || 0) / 100, ...args);
}
`

func newWidgetBrowser(t *testing.T) *widgetBrowser {
	t.Helper()
	b := &widgetBrowser{ctx: browsertest.New(t)}
	messages := chromedp.Console(b.ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	record := func(list *[]string) func(context.Context, string) (chromedp.Void, error) {
		return func(_ context.Context, s string) (chromedp.Void, error) {
			b.mu.Lock()
			*list = append(*list, s)
			b.mu.Unlock()
			return chromedp.Void{}, nil
		}
	}
	browsertest.Do(t, b.ctx, "expose the callbacks",
		chromedp.ExposeFunc("cspViolation", record(&b.violations)),
		chromedp.ExposeFunc("onSolved", record(&b.solved)),
		chromedp.ExposeFunc("onCaptchaError", record(&b.errors)),
		chromedp.ExposeFunc("onExpired", func(context.Context, []any) (chromedp.Void, error) {
			b.mu.Lock()
			b.expired++
			b.mu.Unlock()
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: browserPrelude})
			return err
		}),
	)
	return b
}

// clean fails the test on any console error or warning or CSP violation so far.
func (b *widgetBrowser) clean(t *testing.T, site *widgetSite) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // let the last reports arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	site.mu.Lock()
	defer site.mu.Unlock()
	for _, v := range b.violations {
		t.Errorf("CSP violation: %s", v)
	}
	for _, r := range site.reports {
		t.Errorf("CSP report: %s", r)
	}
	for _, m := range b.console {
		t.Errorf("console: %s", m)
	}
	if t.Failed() {
		return
	}
	b.violations, site.reports, b.console = nil, nil, nil
}

func (b *widgetBrowser) lastSolved(t *testing.T) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.solved) == 0 {
		return ""
	}
	return b.solved[len(b.solved)-1]
}

// The widget's states, as the page's script sees them.
const (
	// widgetReady: a challenge is shown, its image loaded, widget.css applied.
	widgetReady = `(() => {
		const r = document.querySelector(".cw"), i = r && r.querySelector(".cw-img");
		return !!i && !r.hidden && !r.classList.contains("cw-loading") && i.complete && i.naturalWidth > 0 &&
			getComputedStyle(r).borderTopLeftRadius === "8px";
	})()`
	widgetSolved = `!!document.querySelector(".cw.cw-solved")`
	activeClass  = `document.activeElement ? document.activeElement.className : ""`
	liveText     = `document.querySelector(".cw [aria-live=polite]").textContent`
)

func (b *widgetBrowser) open(t *testing.T, url string) {
	t.Helper()
	browsertest.Do(t, b.ctx, "open "+url, chromedp.Navigate(url))
	browsertest.WaitJS(t, b.ctx, "the widget's challenge", widgetReady)
}

// challenge is the key of the challenge the widget shows, from its image's URL.
func (b *widgetBrowser) challenge(t *testing.T) string {
	t.Helper()
	return path.Base(browsertest.Eval[string](t, b.ctx, `document.querySelector(".cw-img").src`))
}

// newChallenge waits for a challenge other than old.
func (b *widgetBrowser) newChallenge(t *testing.T, old string) string {
	t.Helper()
	browsertest.WaitJS(t, b.ctx, "a new challenge", fmt.Sprintf(`%s && !document.querySelector(".cw-img").src.endsWith("/"+%q)`, widgetReady, old))
	return b.challenge(t)
}

func (b *widgetBrowser) eval(t *testing.T, expr string) string {
	t.Helper()
	return browsertest.Eval[string](t, b.ctx, expr)
}

// answerByMouse types the answer and clicks the check button, and returns the token.
func (b *widgetBrowser) answerByMouse(t *testing.T, answer string) {
	t.Helper()
	browsertest.Do(t, b.ctx, "type the answer",
		chromedp.SendKeys(chromedp.CSS(".cw-input"), answer),
	)
	browsertest.Do(t, b.ctx, "check", chromedp.Click(chromedp.CSS(".cw-check")))
}

// field is the value of the form's hidden field name.
func (b *widgetBrowser) field(t *testing.T, name string) string {
	t.Helper()
	return b.eval(t, fmt.Sprintf(`(document.querySelector('form input[type=hidden][name="%s"]') || {value: "(no field)"}).value`, name))
}

// submit sends the sign-up form and waits for the site's verdict page.
func (b *widgetBrowser) submit(t *testing.T, site *widgetSite) {
	t.Helper()
	browsertest.Do(t, b.ctx, "submit the form", chromedp.Click(chromedp.ID("send")))
	browsertest.WaitJS(t, b.ctx, "the site's verdict", `location.pathname === "/signup" && !!document.getElementById("verdict")`)
}

func key(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }

func shiftTab() chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
}

func TestWidgetInTheBrowser(t *testing.T) {
	captcha := startWidgetServer(t)
	site := startWidgetSite(t, captcha)
	b := newWidgetBrowser(t)

	// A person reads the image, types it and checks it; the form carries the token, which
	// the site's backend verifies once: a replayed form is refused.
	t.Run("english", func(t *testing.T) {
		b.open(t, site.url+"/?action=signup&cdata=order-17")
		if got := b.eval(t, `document.querySelector(".cw-check").textContent`); got != "Check" {
			t.Errorf("the check button says %q", got)
		}
		wrong := b.challenge(t)
		b.answerByMouse(t, "WRONG1")
		next := b.newChallenge(t, wrong)
		if got := b.eval(t, liveText); !strings.Contains(got, "not right") {
			t.Errorf("after a wrong answer the widget says %q", got)
		}
		b.answerByMouse(t, strings.ToLower(captcha.answer(t, next)))
		browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
		token := b.field(t, "captcha-response")
		if token == "" || b.lastSolved(t) != token || b.eval(t, `captcha.getResponse()`) != token {
			t.Fatalf("token %q, callback %q", token, b.lastSolved(t))
		}
		if got := b.eval(t, liveText); !strings.Contains(got, "Verified") {
			t.Errorf("solved, the widget says %q", got)
		}
		b.submit(t, site)
		first := site.lastReply(t)
		if !first.Success || first.Hostname != "localhost" || first.Action != "signup" || first.CData != "order-17" {
			t.Errorf("siteverify: %+v", first)
		}
		if _, err := time.Parse(time.RFC3339, first.ChallengeTS); err != nil {
			t.Errorf("challenge_ts %q: %v", first.ChallengeTS, err)
		}
		if again := site.replay(t, "captcha-response", token); again.Success || !slicesContain(again.ErrorCodes, "timeout-or-duplicate") {
			t.Errorf("a replayed token: %+v", again)
		}
		b.clean(t, site)
	})

	// A challenge that expired before its answer came: a new one at once, with a message.
	t.Run("expired challenge", func(t *testing.T) {
		b.open(t, site.url+"/")
		old := b.challenge(t)
		if err := captcha.svc.ExpireKey(context.Background(), captcha.en.app, old); err != nil {
			t.Fatal(err)
		}
		b.answerByMouse(t, captcha.answer(t, old))
		b.newChallenge(t, old)
		if got := b.eval(t, liveText); !strings.Contains(got, "expired") {
			t.Errorf("after an expired challenge the widget says %q", got)
		}
		if got := b.field(t, "captcha-response"); got != "" {
			t.Errorf("a token for an expired challenge: %q", got)
		}
		b.clean(t, site)
	})

	// In Korean, from the page's lang, with a Hangul challenge; the field renamed.
	t.Run("korean", func(t *testing.T) {
		b.open(t, site.url+"/?lang=ko&app=ko&name=captcha_token")
		for sel, want := range map[string]string{".cw-check": "확인", ".cw-title": "보안 확인"} {
			if got := b.eval(t, fmt.Sprintf(`document.querySelector(%q).textContent`, sel)); got != want {
				t.Errorf("%s says %q, want %q", sel, got, want)
			}
		}
		if got := b.eval(t, `document.querySelector(".cw-play").getAttribute("aria-label")`); got != "문자를 소리로 듣기" {
			t.Errorf("the play button is labelled %q", got)
		}
		b.answerByMouse(t, captcha.answer(t, b.challenge(t)))
		browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
		if got := b.eval(t, liveText); !strings.Contains(got, "확인되었습니다") {
			t.Errorf("solved, the widget says %q", got)
		}
		token := b.field(t, "captcha_token")
		if token == "" || b.field(t, "captcha-response") != "(no field)" {
			t.Fatalf("the renamed field holds %q", token)
		}
		b.submit(t, site)
		if r := site.lastReply(t); !r.Success {
			t.Errorf("siteverify: %+v", r)
		}
		b.clean(t, site)
	})

	// By keyboard alone: Tab reaches the image, the sound, the answer, the check and the
	// new-challenge buttons in that order; Enter and Space press them; Enter in the answer
	// checks it rather than sending the form.
	t.Run("keyboard", func(t *testing.T) {
		b.open(t, site.url+"/")
		browsertest.Do(t, b.ctx, "focus the email field", chromedp.Focus(chromedp.ID("email")))
		for _, want := range []string{"cw-img", "cw-btn cw-icon cw-play", "cw-input", "cw-btn cw-check", "cw-btn cw-icon cw-fresh"} {
			browsertest.Do(t, b.ctx, "tab", key(kb.Tab))
			if got := b.eval(t, activeClass); got != want {
				t.Fatalf("tab reached %q, want %q", got, want)
			}
			if outline := b.eval(t, `getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
				t.Errorf("%s shows no focus", want)
			}
		}
		// Enter on "new challenge": another challenge, the focus in the answer field.
		old := b.challenge(t)
		browsertest.Do(t, b.ctx, "press new challenge", key(kb.Enter))
		current := b.newChallenge(t, old)
		if got := b.eval(t, activeClass); got != "cw-input" {
			t.Errorf("after a new challenge the focus is on %q", got)
		}
		browsertest.WaitJS(t, b.ctx, "the announcement", `document.querySelector(".cw-msg").textContent.includes("New challenge")`)
		// Space on the sound button plays the challenge's sound, inside the widget.
		browsertest.Do(t, b.ctx, "back to the sound button", shiftTab())
		browsertest.Do(t, b.ctx, "press play", key(" "))
		browsertest.WaitJS(t, b.ctx, "the sound playing", `(() => { const a = document.querySelector(".cw-audio");
			return a.currentSrc.endsWith("/audio/" + `+fmt.Sprintf("%q", current)+`) && (!a.paused || a.ended); })()`)
		browsertest.Do(t, b.ctx, "to the answer", key(kb.Tab), key(captcha.answer(t, current)), key(kb.Enter))
		browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
		if got := b.eval(t, `location.pathname`); got != "/" {
			t.Fatalf("Enter in the answer field left the page for %s", got)
		}
		// The focus stays in the widget, and the next Tab reaches the form's button.
		browsertest.Do(t, b.ctx, "tab to the form's button", key(kb.Tab))
		if got := b.eval(t, `document.activeElement.id`); got != "send" {
			t.Fatalf("after solving, tab reached %q", got)
		}
		browsertest.Do(t, b.ctx, "send the form", key(kb.Enter))
		browsertest.WaitJS(t, b.ctx, "the site's verdict", `location.pathname === "/signup" && !!document.getElementById("verdict")`)
		if r := site.lastReply(t); !r.Success {
			t.Errorf("siteverify: %+v", r)
		}
		b.clean(t, site)
	})

	// A page written for reCAPTCHA v2, with only the script's URL changed.
	t.Run("compat recaptcha", func(t *testing.T) {
		b.open(t, site.url+"/?compat=recaptcha")
		if got := b.eval(t, `typeof grecaptcha.getResponse + typeof grecaptcha.render + typeof grecaptcha.reset + typeof grecaptcha.ready`); got != "functionfunctionfunctionfunction" {
			t.Fatalf("grecaptcha: %s", got)
		}
		b.answerByMouse(t, captcha.answer(t, b.challenge(t)))
		browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
		token := b.field(t, "g-recaptcha-response")
		if token == "" || b.eval(t, `grecaptcha.getResponse()`) != token {
			t.Fatalf("g-recaptcha-response %q", token)
		}
		b.submit(t, site)
		if r := site.lastReply(t); !r.Success {
			t.Errorf("siteverify: %+v", r)
		}
		if again := site.replay(t, "g-recaptcha-response", token); !slicesContain(again.ErrorCodes, "timeout-or-duplicate") {
			t.Errorf("a replayed token: %+v", again)
		}
		b.clean(t, site)
	})

	// ?onload=fn&render=explicit: nothing renders until the page asks, with its options;
	// getResponse, reset and remove by id.
	t.Run("explicit render", func(t *testing.T) {
		b.open(t, site.url+"/?explicit=1")
		if got := b.eval(t, `String(window.explicitID) + " " + document.querySelector(".cw").className`); got != "0 cw cw-dark cw-compact" {
			t.Errorf("explicitly rendered: %q", got)
		}
		id := browsertest.Eval[int](t, b.ctx, `window.explicitID`)
		old := b.challenge(t)
		browsertest.Eval[bool](t, b.ctx, fmt.Sprintf(`(captcha.reset(%d), true)`, id))
		b.answerByMouse(t, captcha.answer(t, b.newChallenge(t, old)))
		browsertest.WaitJS(t, b.ctx, "the solved widget", widgetSolved)
		if got := b.eval(t, fmt.Sprintf(`captcha.getResponse(%d)`, id)); got == "" || got != b.lastSolved(t) {
			t.Errorf("getResponse: %q, callback %q", got, b.lastSolved(t))
		}
		browsertest.Eval[bool](t, b.ctx, fmt.Sprintf(`(captcha.reset(%d), true)`, id))
		browsertest.WaitJS(t, b.ctx, "the reset widget", widgetReady)
		if got := b.eval(t, fmt.Sprintf(`captcha.getResponse(%d) + document.querySelector("input[name=captcha-response]").value`, id)); got != "" {
			t.Errorf("after reset: %q", got)
		}
		browsertest.Eval[bool](t, b.ctx, fmt.Sprintf(`(captcha.remove(%d), true)`, id))
		if got := browsertest.Eval[bool](t, b.ctx, `!document.querySelector(".cw") && !document.getElementById("box").dataset.captchaWidget`); !got {
			t.Error("the removed widget is still there")
		}
		b.clean(t, site)
	})

	// A token's expiry is announced before it happens, then the widget empties the field,
	// calls data-expired-callback and shows a new challenge. The page's timers run a
	// hundred times faster here.
	t.Run("token expiry", func(t *testing.T) {
		b.open(t, site.url+"/?fast=1")
		browsertest.Eval[bool](t, b.ctx, `(() => {
			window.said = [];
			new MutationObserver(() => said.push(document.querySelector(".cw-msg").textContent))
				.observe(document.querySelector(".cw-msg"), { childList: true, characterData: true, subtree: true });
			return true;
		})()`)
		b.mu.Lock()
		expiredBefore := b.expired
		b.mu.Unlock()
		first := b.challenge(t)
		b.answerByMouse(t, captcha.answer(t, first))
		browsertest.WaitJS(t, b.ctx, "the expiry", `said.some((s) => s.includes("verification expired"))`)
		b.newChallenge(t, first)
		said := b.eval(t, `said.join(" | ")`)
		if !strings.Contains(said, "Verified") || !strings.Contains(said, "expires in 30 seconds") {
			t.Errorf("the widget said: %s", said)
		}
		if got := b.field(t, "captcha-response"); got != "" {
			t.Errorf("the expired token stayed in the form: %q", got)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.expired != expiredBefore+1 {
			t.Errorf("the expired callback was called %d times", b.expired-expiredBefore)
		}
	})

	// An unknown site key, and one of an app for other hosts: the widget says the site is
	// not set up, and the error callback hears why. The console shows the server's 403s and
	// nothing else.
	t.Run("refused sitekeys", func(t *testing.T) {
		for app, code := range map[string]string{"none": "invalid-sitekey", "elsewhere": "origin-not-allowed"} {
			b.mu.Lock()
			b.errors = nil
			b.mu.Unlock()
			browsertest.Do(t, b.ctx, "open", chromedp.Navigate(site.url+"/?app="+app))
			browsertest.WaitJS(t, b.ctx, "the failed widget", `!!document.querySelector(".cw.cw-failed:not([hidden])")`)
			if got := b.eval(t, liveText); !strings.Contains(got, "not set up") {
				t.Errorf("%s: the widget says %q", app, got)
			}
			b.mu.Lock()
			if len(b.errors) != 1 || b.errors[0] != code {
				t.Errorf("%s: the error callback heard %q, want %s", app, b.errors, code)
			}
			for _, m := range b.console {
				if !strings.Contains(m, "403") {
					t.Errorf("console: %s", m)
				}
			}
			b.console = nil
			b.mu.Unlock()
		}
		b.clean(t, site)
	})
}

// saveWidgetScreenshot writes a PNG of the widget to docs/screenshots/name.
func saveWidgetScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := browsertest.Screenshot(t, ctx, ".cw", 2)
	dir := filepath.Join("docs", "screenshots")
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", filepath.Join(dir, name))
}
