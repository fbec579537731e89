package admin_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"captcha/admin"
	"captcha/engine"
	"captcha/engine/service"
	"captcha/engine/service/servicetest"
	"captcha/engine/sqlite"
)

// env is the admin UI on a real SQLite database and a real echo router.
type env struct {
	t     *testing.T
	path  string
	db    *sqlite.DB
	svc   *service.Service
	ops   *service.Operators
	e     *echo.Echo
	clock *servicetest.Clock
	demo  *service.App
	// onCompare, when set before the requests that need it, runs at every password check:
	// tests count and hold attempts there rather than guess from timing.
	onCompare func()
	// initialPasswordFile is the admin UI's Options.InitialPasswordFile.
	initialPasswordFile string
}

const (
	testUser     = "alice"
	testPassword = "correct horse battery"
)

// sharedRenderer is loaded once per test binary: parsing the fonts and voices is the slow
// part of a renderer and they never change.
var sharedRenderer = sync.OnceValues(func() (*engine.Renderer, error) {
	return engine.NewRenderer(engine.StyleFromSecret([]byte("tests")))
})

func newEnv(t *testing.T) *env {
	t.Helper()
	v := newEmptyEnv(t)
	v.open()
	if err := v.ops.SetPassword(context.Background(), testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	return v
}

// newEmptyEnv is an env not yet opened: no database, no operator.
func newEmptyEnv(t *testing.T) *env {
	dir := t.TempDir()
	return &env{t: t, path: filepath.Join(dir, sqlite.FileName), initialPasswordFile: filepath.Join(dir, "initial-admin-password"),
		clock: servicetest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))}
}

// newFirstStartEnv is an env as the first start leaves it: the admin account alone, with a
// generated password, which is also in the initial password file.
func newFirstStartEnv(t *testing.T) (*env, string) {
	t.Helper()
	v := newEmptyEnv(t)
	v.open()
	password, created, err := v.ops.EnsureFirstOperator(context.Background())
	if err != nil || !created {
		t.Fatalf("the first operator: %v, %v", created, err)
	}
	if err := os.WriteFile(v.initialPasswordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return v, password
}

// open (re)opens the database and builds everything on it, as a restart would.
func (v *env) open() {
	t := v.t
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, v.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := sharedRenderer()
	if err != nil {
		t.Fatal(err)
	}
	v.db = db
	if v.svc, err = service.New(ctx, db, r, service.Options{Now: v.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if v.ops, err = service.NewOperators(db, service.OperatorOptions{Now: v.clock.Now, PasswordCost: bcrypt.MinCost,
		CompareHashAndPassword: v.comparePassword}); err != nil {
		t.Fatal(err)
	}
	if v.demo, _, err = v.svc.EnsureDemoApp(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := admin.New(admin.Options{Service: v.svc, Operators: v.ops, Renderer: r, Now: v.clock.Now,
		InitialPasswordFile: v.initialPasswordFile})
	if err != nil {
		t.Fatal(err)
	}
	v.e = echo.New()
	h.Register(v.e)
}

// missingText matches a catalog key shown in place of its text: "[stats.issued]".
var missingText = regexp.MustCompile(`\[[a-z]+\.[a-z0-9_]+\]`)

// do sends a request through the router. Every HTML answer is checked for untranslated keys
// and for the security headers.
func (v *env) do(method, target string, form url.Values, cookies []*http.Cookie, header map[string]string) *httptest.ResponseRecorder {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, val := range header {
		req.Header.Set(k, val)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		if m := missingText.FindString(rec.Body.String()); m != "" {
			v.t.Errorf("%s %s shows the untranslated key %s", method, target, m)
		}
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			v.t.Errorf("%s %s has no strict CSP", method, target)
		}
	}
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

// loginForm fetches the sign-in page and returns its CSRF cookie and token.
func (v *env) loginForm() (*http.Cookie, string) {
	v.t.Helper()
	rec := v.do(http.MethodGet, "/admin/login", nil, nil, nil)
	ck := cookieNamed(rec, "captcha_login")
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || ck == nil || m == nil {
		v.t.Fatalf("sign-in page: %d, cookie %v", rec.Code, ck)
	}
	return ck, m[1]
}

func (v *env) comparePassword(hash, password []byte) error {
	if v.onCompare != nil {
		v.onCompare()
	}
	return bcrypt.CompareHashAndPassword(hash, password)
}

// tryLogin posts the sign-in form from ip.
func (v *env) tryLogin(user, password, ip string) *httptest.ResponseRecorder {
	v.t.Helper()
	ck, token := v.loginForm()
	return v.postLogin(ck, token, user, password, ip)
}

// postLogin posts the sign-in form with a token loginForm fetched; unlike tryLogin it may
// run on any goroutine.
func (v *env) postLogin(ck *http.Cookie, token, user, password, ip string) *httptest.ResponseRecorder {
	form := url.Values{"csrf": {token}, "user": {user}, "password": {password}, "next": {"/admin/apps"}}
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = ip + ":1234"
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	return rec
}

// session signs in as the test operator and returns its cookie and CSRF token.
func (v *env) session() ([]*http.Cookie, string) {
	v.t.Helper()
	rec := v.tryLogin(testUser, testPassword, "192.0.2.1")
	ck := cookieNamed(rec, "captcha_admin")
	if rec.Code != http.StatusSeeOther || ck == nil {
		v.t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	cookies := []*http.Cookie{ck}
	page := v.do(http.MethodGet, "/admin/account", nil, cookies, nil)
	m := csrfInput.FindStringSubmatch(page.Body.String())
	if m == nil {
		v.t.Fatalf("no CSRF token on the account page: %d", page.Code)
	}
	return cookies, m[1]
}

// answerOf reads a key's answer straight from the database, as an attacker with the file
// could, and as the tests must.
func (v *env) answerOf(key string) string {
	v.t.Helper()
	if v.db != nil {
		// Through the writer, which sees a first delivery before it is committed: one that
		// escalated the key has changed its answer.
		var answer string
		err := v.db.UpdateKey(context.Background(), key, func(k *service.Key) (*service.Verification, error) {
			answer = k.Answer
			return nil, nil
		})
		if err != nil {
			v.t.Fatalf("answer of %s: %v", key, err)
		}
		return answer
	}
	db, err := sql.Open("sqlite", v.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		v.t.Fatal(err)
	}
	defer db.Close()
	var answer string
	if err := db.QueryRow(`SELECT answer FROM keys WHERE id = ?`, key).Scan(&answer); err != nil {
		v.t.Fatalf("answer of %s: %v", key, err)
	}
	return answer
}
