package admin_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

// The routes that are pages: an anonymous browser asking for one is sent to sign in. Every
// other /admin route but the sign-in page answers it 401.
var adminPages = []string{
	"/admin", "/admin/apps", "/admin/apps/new", "/admin/apps/:id", "/admin/apps/:id/delete",
	"/admin/apps/:id/stats", "/admin/account",
}

// The routes anyone may use.
var publicRoutes = []string{
	"GET /", "POST /demo/verify", "GET /assets/:name", "GET /lang/:lang",
	"GET /admin/login", "POST /admin/login",
}

// concrete fills a route's parameters with values that exist.
func concrete(path string, appID int64) string {
	path = strings.ReplaceAll(path, ":id", strconv.FormatInt(appID, 10))
	path = strings.ReplaceAll(path, ":name", "admin.css")
	return strings.ReplaceAll(path, ":lang", "en")
}

// Walks every registered route, so that a route added later cannot escape the check.
func TestEveryAdminRouteNeedsASession(t *testing.T) {
	v := newEnv(t)
	bogus := []*http.Cookie{{Name: "captcha_admin", Value: strings.Repeat("A", 43)}}
	var checked int
	for _, r := range v.e.Routes() {
		id := r.Method + " " + r.Path
		if !strings.HasPrefix(r.Path, "/admin") || strings.HasPrefix(r.Path, "/admin/login") {
			if !slices.Contains(publicRoutes, id) {
				t.Errorf("%s is neither under /admin nor a known public route", id)
			}
			continue
		}
		checked++
		target := concrete(r.Path, v.demo.ID)
		for name, cookies := range map[string][]*http.Cookie{"no cookie": nil, "unknown token": bogus} {
			rec := v.do(r.Method, target, url.Values{}, cookies, nil)
			if r.Method == http.MethodGet && slices.Contains(adminPages, r.Path) {
				loc := rec.Header().Get("Location")
				if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login?next=") {
					t.Errorf("%s with %s: %d to %q, want a redirect to the sign-in page", id, name, rec.Code, loc)
				}
				if next, _ := url.Parse(loc); next.Query().Get("next") != target {
					t.Errorf("%s: the sign-in page would not come back to %s: %q", id, target, loc)
				}
				continue
			}
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401", id, name, rec.Code)
			}
		}
	}
	if checked < len(adminPages)+8 {
		t.Fatalf("only %d admin routes: the walk is not seeing them", checked)
	}
}

// Every form post without the session's CSRF token is refused and changes nothing.
func TestFormsNeedTheCSRFToken(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	app, secret, err := v.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	cookies, token := v.session()
	_, other := v.session() // another session's token is no good either
	form := url.Values{"name": {"renamed"}, "api": {"nhn"}, "charset": {"digits"}, "length": {"4"}, "difficulty": {"easy"},
		"width": {"200"}, "height": {"60"}, "lang": {"en"}, "lifetime": {"60"}, "attempts": {"2"},
		"enabled": {"0"}, "current": {testPassword}, "password": {"a new password"}, "again": {"a new password"}}
	var posts int
	for _, r := range v.e.Routes() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/admin/") || r.Path == "/admin/login" {
			continue
		}
		posts++
		for name, csrf := range map[string]string{"no token": "", "a wrong token": token + "x", "another session's": other} {
			f := url.Values{}
			for k, vals := range form {
				f[k] = vals
			}
			if csrf != "" {
				f.Set("csrf", csrf)
			}
			rec := v.do(http.MethodPost, concrete(r.Path, app.ID), f, cookies, nil)
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 403", r.Path, name, rec.Code)
			}
		}
	}
	if posts < 6 {
		t.Fatalf("only %d form routes", posts)
	}
	got, err := v.svc.AppByID(ctx, app.ID)
	if err != nil || got.Name != "shop" || got.API != service.Naver || !got.Enabled || got.Settings != app.Settings {
		t.Errorf("the app changed: %+v, %v", got, err)
	}
	if _, err := v.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, secret); err != nil {
		t.Errorf("the secret changed: %v", err)
	}
	if rec := v.do(http.MethodGet, "/admin", nil, cookies, nil); rec.Code != http.StatusOK {
		t.Errorf("the session ended: %d", rec.Code)
	}
	if _, err := v.ops.Authenticate(ctx, testUser, testPassword); err != nil {
		t.Errorf("the password changed: %v", err)
	}

	// The right token goes through: the refusals above were about the token.
	rec := v.do(http.MethodPost, "/admin/apps/"+strconv.FormatInt(app.ID, 10)+"/enabled",
		url.Values{"csrf": {token}, "enabled": {"0"}}, cookies, nil)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("with the token: %d", rec.Code)
	}
	// So does the header a script would send.
	rec = v.do(http.MethodPost, "/admin/apps/"+strconv.FormatInt(app.ID, 10)+"/enabled",
		url.Values{"enabled": {"1"}}, cookies, map[string]string{"X-CSRF-Token": token})
	if rec.Code != http.StatusSeeOther {
		t.Errorf("with the header: %d", rec.Code)
	}
}

func TestSignInForm(t *testing.T) {
	v := newEnv(t)
	// The form's own token: a post without the cookie's twin is refused before any check.
	rec := v.do(http.MethodPost, "/admin/login", url.Values{"user": {testUser}, "password": {testPassword}}, nil, nil)
	if rec.Code != http.StatusForbidden || cookieNamed(rec, "captcha_admin") != nil {
		t.Errorf("without the form's token: %d", rec.Code)
	}
	ck, token := v.loginForm()
	rec = v.do(http.MethodPost, "/admin/login", url.Values{"csrf": {token + "x"}, "user": {testUser}, "password": {testPassword}},
		[]*http.Cookie{ck}, nil)
	if rec.Code != http.StatusForbidden || cookieNamed(rec, "captcha_admin") != nil {
		t.Errorf("with a wrong token: %d", rec.Code)
	}

	rec = v.tryLogin(testUser, "wrong password", "192.0.2.1")
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong user name or password") ||
		cookieNamed(rec, "captcha_admin") != nil {
		t.Errorf("wrong password: %d", rec.Code)
	}
	rec = v.tryLogin("nobody", testPassword, "192.0.2.1")
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong user name or password") {
		t.Errorf("unknown user: %d", rec.Code)
	}

	rec = v.tryLogin(testUser, testPassword, "192.0.2.1")
	ses := cookieNamed(rec, "captcha_admin")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/apps" || ses == nil {
		t.Fatalf("sign-in: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if !ses.HttpOnly || ses.SameSite != http.SameSiteStrictMode || ses.Path != "/admin" || ses.Secure {
		t.Errorf("session cookie over plain HTTP: %+v", ses)
	}
	if len(ses.Value) < 43 {
		t.Errorf("a short session token: %q", ses.Value)
	}

	// Over TLS the cookie is Secure.
	ck, token = v.loginForm()
	form := url.Values{"csrf": {token}, "user": {testUser}, "password": {testPassword}}
	req := httptest.NewRequest(http.MethodPost, "https://captcha.example/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	rec = httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	if ses := cookieNamed(rec, "captcha_admin"); req.TLS == nil || ses == nil || !ses.Secure {
		t.Errorf("session cookie over HTTPS: %+v", ses)
	}
}

// The sign-in page sends back only within the admin UI.
func TestSignInGoesBackOnlyToAdminPages(t *testing.T) {
	v := newEnv(t)
	for next, want := range map[string]string{
		"/admin/apps/new":        "/admin/apps/new",
		"/admin?period=7d":       "/admin?period=7d",
		"//evil.example/admin":   "/admin",
		"https://evil.example/":  "/admin",
		"/admin/../elsewhere":    "/admin",
		"/adminx":                "/admin",
		"/admin/\\evil.example":  "/admin",
		"/admin/login?next=/out": "/admin",
		"":                       "/admin",
	} {
		ck, token := v.loginForm()
		rec := v.do(http.MethodPost, "/admin/login", url.Values{"csrf": {token}, "user": {testUser},
			"password": {testPassword}, "next": {next}}, []*http.Cookie{ck}, nil)
		if got := rec.Header().Get("Location"); got != want {
			t.Errorf("next %q: to %q, want %q", next, got, want)
		}
	}
}

func TestSignInIsThrottled(t *testing.T) {
	t.Run("per account and address", func(t *testing.T) {
		v := newEnv(t)
		for i := range 5 { // five attempts, the fifth blocking for a second
			if rec := v.tryLogin(testUser, "wrong password", "198.51.100.1"); rec.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, rec.Code)
			}
		}
		rec := v.tryLogin(testUser, testPassword, "198.51.100.1")
		if rec.Code != http.StatusTooManyRequests || cookieNamed(rec, "captcha_admin") != nil {
			t.Fatalf("the right password while blocked: %d", rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "Too many failed sign-ins") {
			t.Error("the page does not say why")
		}
		v.clock.Advance(time.Second)
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.1"); rec.Code != http.StatusSeeOther {
			t.Fatalf("after the block: %d", rec.Code)
		}
		// A success clears the account at that address: the allowance is whole again.
		for range 4 {
			v.tryLogin(testUser, "wrong password", "198.51.100.1")
		}
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.1"); rec.Code != http.StatusSeeOther {
			t.Errorf("after a success and four failures: %d", rec.Code)
		}
	})
	t.Run("blocks double", func(t *testing.T) {
		v := newEnv(t)
		for range 5 { // the fifth blocks for 1 s
			v.tryLogin(testUser, "wrong password", "198.51.100.1")
		}
		v.clock.Advance(time.Second)
		v.tryLogin(testUser, "wrong password", "198.51.100.1") // the sixth, for 2 s
		v.clock.Advance(time.Second)
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.1"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("1 s into a 2 s block: %d", rec.Code)
		}
		v.clock.Advance(time.Second)
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.1"); rec.Code != http.StatusSeeOther {
			t.Errorf("after it: %d", rec.Code)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		v := newEnv(t)
		for i := range 10 { // ten attempts, on ten accounts that do not exist; the tenth blocks
			v.tryLogin("guess"+strconv.Itoa(i), "wrong password", "198.51.100.7")
		}
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.7"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("the guessing address: %d", rec.Code)
		}
		if rec := v.tryLogin(testUser, testPassword, "198.51.100.8"); rec.Code != http.StatusSeeOther {
			t.Errorf("another address: %d", rec.Code)
		}
	})
}

// A burst of wrong passwords cannot outrun the throttle: each attempt counts when it begins,
// so of 50 at once for one account from one address only the allowed five reach the
// password check and the rest are refused. The check holds every attempt that reaches it
// until the whole burst has either arrived there or been answered, so nothing here depends
// on how fast bcrypt is.
// Nobody can lock an operator out by guessing: failures slow the addresses they come from,
// and the owner signing in from an address without failures gets in at once, however many
// other addresses have failed on the account.
func TestGuessingDoesNotLockTheOwnerOut(t *testing.T) {
	v := newEnv(t)
	const attacker = "198.51.100.66"
	for range 30 {
		v.tryLogin(testUser, "wrong password", attacker)
		v.clock.Advance(time.Second)
	}
	for i := range 20 { // a botnet: each address a few guesses
		for range 6 {
			v.tryLogin(testUser, "wrong password", "203.0.113."+strconv.Itoa(i+1))
		}
	}
	if rec := v.tryLogin(testUser, testPassword, attacker); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the attacker's address, even with the password: %d, want 429", rec.Code)
	}
	rec := v.tryLogin(testUser, testPassword, "192.0.2.1")
	if rec.Code != http.StatusSeeOther || cookieNamed(rec, "captcha_admin") == nil {
		t.Errorf("the owner from a clean address: %d, want a session", rec.Code)
	}
	// The block renews with every failure that ends one, but only at the attacker's address.
	v.clock.Advance(maxWait)
	v.tryLogin(testUser, "wrong password", attacker)
	if rec := v.tryLogin(testUser, testPassword, "192.0.2.1"); rec.Code != http.StatusSeeOther {
		t.Errorf("the owner again, after the attacker's next guess: %d", rec.Code)
	}
}

// maxWait is the longest block: 15 minutes.
const maxWait = 15 * time.Minute

func TestSignInBurstIsThrottled(t *testing.T) {
	v := newEnv(t)
	const burst, allowed = 50, 5
	type form struct {
		cookie *http.Cookie
		token  string
	}
	forms := make([]form, burst)
	for i := range forms {
		forms[i].cookie, forms[i].token = v.loginForm()
	}
	arrived, release := make(chan struct{}, burst), make(chan struct{})
	v.onCompare = func() {
		arrived <- struct{}{}
		<-release
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	codes := make(chan int, burst)
	for _, f := range forms {
		go func() { codes <- v.postLogin(f.cookie, f.token, testUser, "wrong password", "198.51.100.1").Code }()
	}
	var reached, refused int
	for reached+refused < burst {
		select {
		case <-arrived:
			reached++
		case code := <-codes: // only a refusal can answer while the checks are held
			refused++
			if code != http.StatusTooManyRequests {
				t.Errorf("an attempt answered %d before any password was checked", code)
			}
		case <-time.After(time.Minute):
			t.Fatalf("after a minute, %d attempts reached the password check and %d were refused", reached, refused)
		}
	}
	close(release)
	released = true
	for range reached {
		if code := <-codes; code != http.StatusUnauthorized {
			t.Errorf("a wrong password answered %d", code)
		}
	}
	if reached > allowed {
		t.Errorf("%d of %d concurrent attempts reached the password check; the throttle allows %d", reached, burst, allowed)
	}
}

func TestSessionsSurviveARestart(t *testing.T) {
	v := newEnv(t)
	cookies, _ := v.session()
	v.open() // a new service, operators and router on the same database file
	if rec := v.do(http.MethodGet, "/admin/apps", nil, cookies, nil); rec.Code != http.StatusOK {
		t.Fatalf("after a restart: %d", rec.Code)
	}
	v.clock.Advance(service.DefaultSessionLifetime)
	if rec := v.do(http.MethodGet, "/admin/apps", nil, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("after its lifetime: %d", rec.Code)
	}
}

func TestSignOut(t *testing.T) {
	v := newEnv(t)
	cookies, token := v.session()
	rec := v.do(http.MethodPost, "/admin/logout", url.Values{"csrf": {token}}, cookies, nil)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/admin/login") {
		t.Fatalf("sign-out: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if ck := cookieNamed(rec, "captcha_admin"); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("the cookie is not cleared: %+v", ck)
	}
	// The old cookie, replayed, is no session any more.
	if rec := v.do(http.MethodGet, "/admin/apps", nil, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("the old cookie after signing out: %d", rec.Code)
	}
}

func TestChangePassword(t *testing.T) {
	v := newEnv(t)
	cookies, token := v.session()
	for _, tc := range []struct {
		current, password, again, want string
	}{
		{"not it at all", "a new password", "a new password", "The current password is wrong."},
		{testPassword, "short", "short", "at least 10 characters"},
		{testPassword, "a new password", "another one!", "The two new passwords differ."},
	} {
		rec := v.do(http.MethodPost, "/admin/account", url.Values{"csrf": {token}, "current": {tc.current},
			"password": {tc.password}, "again": {tc.again}}, cookies, nil)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%+v: %d, want %q on the page", tc, rec.Code, tc.want)
		}
	}
	rec := v.do(http.MethodPost, "/admin/account", url.Values{"csrf": {token}, "current": {testPassword},
		"password": {"a new password"}, "again": {"a new password"}}, cookies, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("change: %d", rec.Code)
	}
	if rec := v.do(http.MethodGet, "/admin", nil, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("the session after a password change: %d", rec.Code)
	}
	if rec := v.tryLogin(testUser, "a new password", "192.0.2.1"); rec.Code != http.StatusSeeOther {
		t.Errorf("the new password: %d", rec.Code)
	}
}

// The current password on the account page is checked through the sign-in throttle, so a
// session left open somewhere cannot be used to guess it at bcrypt's speed, and failures
// there slow the sign-in form at that address too.
func TestChangePasswordIsThrottled(t *testing.T) {
	v := newEnv(t)
	cookies, token := v.session() // from 192.0.2.1, as every request of v.do
	checks := 0
	v.onCompare = func() { checks++ }
	change := func(current string) *httptest.ResponseRecorder {
		return v.do(http.MethodPost, "/admin/account", url.Values{"csrf": {token}, "current": {current},
			"password": {"a new password"}, "again": {"a new password"}}, cookies, nil)
	}
	for i := range 8 {
		rec := change("not it at all")
		switch {
		case i < 5 && rec.Code != http.StatusUnprocessableEntity:
			t.Errorf("wrong current password %d: %d", i+1, rec.Code)
		case i >= 5 && (rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "Too many wrong passwords")):
			t.Errorf("wrong current password %d, past the allowance: %d", i+1, rec.Code)
		}
	}
	if checks != 5 {
		t.Errorf("%d current passwords were checked, want the allowance of 5", checks)
	}
	if rec := change(testPassword); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the right current password while blocked: %d", rec.Code)
	}
	if rec := v.tryLogin(testUser, testPassword, "192.0.2.1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("signing in from the same address while blocked: %d", rec.Code)
	}
	v.clock.Advance(time.Second)
	if rec := change(testPassword); rec.Code != http.StatusSeeOther {
		t.Errorf("the right current password after the block: %d", rec.Code)
	}
}

// The first start's generated password has been in a file: until the admin account has
// chosen its own, every admin route but the account page, its form and signing out leads
// to the account page, and does nothing. Choosing one removes the file.
func TestFirstSignInMustChooseAPassword(t *testing.T) {
	v, generated := newFirstStartEnv(t)
	rec := v.tryLogin(service.FirstOperatorName, generated, "192.0.2.1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/account" {
		t.Fatalf("signing in with the generated password: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := []*http.Cookie{cookieNamed(rec, "captcha_admin")}
	page := v.do(http.MethodGet, "/admin/account", nil, cookies, nil)
	m := csrfInput.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil || !strings.Contains(page.Body.String(), "Choose your own") {
		t.Fatalf("the account page: %d, no notice or no form", page.Code)
	}
	token := m[1]
	allowed := []string{"GET /admin/account", "POST /admin/account", "POST /admin/logout"}
	var checked int
	for _, r := range v.e.Routes() {
		id := r.Method + " " + r.Path
		if !strings.HasPrefix(r.Path, "/admin") || strings.HasPrefix(r.Path, "/admin/login") || slices.Contains(allowed, id) {
			continue
		}
		checked++
		rec := v.do(r.Method, concrete(r.Path, v.demo.ID), url.Values{"csrf": {token}, "name": {"renamed"}}, cookies, nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/account" {
			t.Errorf("%s before choosing a password: %d to %q", id, rec.Code, rec.Header().Get("Location"))
		}
	}
	if checked < len(adminPages)+6 {
		t.Fatalf("only %d routes checked", checked)
	}
	if demo, err := v.svc.AppByID(context.Background(), v.demo.ID); err != nil || !demo.Enabled || demo.Name != v.demo.Name {
		t.Errorf("the demo app changed: %+v, %v", demo, err)
	}

	rec = v.do(http.MethodPost, "/admin/account", url.Values{"csrf": {token}, "current": {generated},
		"password": {"one I chose myself"}, "again": {"one I chose myself"}}, cookies, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("choosing a password: %d", rec.Code)
	}
	if _, err := os.Stat(v.initialPasswordFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the initial password file after the change: %v", err)
	}
	rec = v.tryLogin(service.FirstOperatorName, "one I chose myself", "192.0.2.1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/apps" {
		t.Fatalf("signing in with the chosen password: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := v.do(http.MethodGet, "/admin", nil, []*http.Cookie{cookieNamed(rec, "captcha_admin")}, nil); rec.Code != http.StatusOK {
		t.Errorf("the dashboard after choosing a password: %d", rec.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	v := newEnv(t)
	for _, target := range []string{"/", "/admin/login", "/assets/admin.css", "/assets/admin.js"} {
		rec := v.do(http.MethodGet, target, nil, nil, nil)
		h := rec.Header()
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", target, rec.Code)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", target, h)
		}
	}
	// No inline script or style anywhere, which the CSP would block.
	for _, target := range []string{"/", "/admin/login"} {
		body := v.do(http.MethodGet, target, nil, nil, nil).Body.String()
		if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "<style") {
			t.Errorf("%s has inline script or style", target)
		}
	}
	// Assets revalidate with their ETag.
	rec := v.do(http.MethodGet, "/assets/admin.css", nil, nil, nil)
	etag := rec.Header().Get("ETag")
	if rec := v.do(http.MethodGet, "/assets/admin.css", nil, nil, map[string]string{"If-None-Match": etag}); etag == "" || rec.Code != http.StatusNotModified {
		t.Errorf("revalidation with %q: %d", etag, rec.Code)
	}
	if rec := v.do(http.MethodGet, "/assets/nothing.js", nil, nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", rec.Code)
	}
}

// A failure of the database is logged, and the browser learns only that something failed.
func TestFailuresDoNotLeak(t *testing.T) {
	v := newEnv(t)
	cookies, csrf := v.session()
	v.db.Close()
	for _, tc := range []struct {
		method, target string
		form           url.Values
	}{
		{http.MethodGet, "/admin", nil},
		{http.MethodGet, "/admin/apps/1", nil},
		{http.MethodPost, "/admin/apps", validAppForm(csrf)},
		{http.MethodGet, "/", nil},
		{http.MethodPost, "/demo/verify", url.Values{"captcha-response": {"AAAAAAAAAAAAAAAAAAAAAA"}}},
		{http.MethodPost, "/admin/login", url.Values{"user": {testUser}}},
	} {
		rec := v.do(tc.method, tc.target, tc.form, cookies, map[string]string{"Accept": "text/html"})
		body := strings.ToLower(rec.Body.String())
		if rec.Code != http.StatusInternalServerError && !(tc.target == "/admin/login" && rec.Code == http.StatusForbidden) {
			t.Errorf("%s %s: %d", tc.method, tc.target, rec.Code)
		}
		for _, leak := range []string{"sql", "closed", "database"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s %s tells %q", tc.method, tc.target, leak)
			}
		}
	}
}
