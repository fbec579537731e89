package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

const (
	// sessionCookie holds the session token. Its path is /admin: no other page sees it.
	sessionCookie = "captcha_admin"
	// loginCookie holds the sign-in form's CSRF token (double submit): there is no session
	// yet to keep it in.
	loginCookie = "captcha_login"
	sessionKey  = "admin.session"
	csrfField   = "csrf"
	csrfHeader  = "X-CSRF-Token"
)

// requireSession lets a request with a live session through; an anonymous one is sent to
// the sign-in page if it asked for a page, and gets 401 otherwise.
func (h *Handler) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s, err := h.session(c)
		if err == nil {
			c.Set(sessionKey, s)
			return next(c)
		}
		if !errors.Is(err, service.ErrNoSession) {
			return h.fail(c, err)
		}
		if c.Request().Method == http.MethodGet && h.pageRoutes[c.Path()] {
			return c.Redirect(http.StatusSeeOther, "/admin/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return c.String(http.StatusUnauthorized, "sign-in required")
	}
}

// requireChosenPassword sends an operator who still has a generated password to the
// account page, whatever it asked for, until it has chosen one: the generated password has
// been in a file, where others may have seen it.
func (h *Handler) requireChosenPassword(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s := sessionOf(c)
		if s == nil || !s.MustChangePassword || usableBeforeChoosingPassword(c.Request().Method, c.Path()) {
			return next(c)
		}
		return c.Redirect(http.StatusSeeOther, accountPath)
	}
}

const accountPath = "/admin/account"

// usableBeforeChoosingPassword: the account page and its form, and signing out.
func usableBeforeChoosingPassword(method, route string) bool {
	switch method + " " + route {
	case "GET " + accountPath, "POST " + accountPath, "POST /admin/logout":
		return true
	}
	return false
}

func (h *Handler) session(c echo.Context) (*service.Session, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return nil, service.ErrNoSession
	}
	return h.ops.Session(c.Request().Context(), ck.Value)
}

func sessionOf(c echo.Context) *service.Session {
	s, _ := c.Get(sessionKey).(*service.Session)
	return s
}

// checkCSRF requires the session's CSRF token in the form (or a header, for scripts) on
// every request that can change something. GETs change nothing and need none.
func (h *Handler) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
			return next(c)
		}
		s := sessionOf(c)
		if s == nil || !sameToken(csrfToken(c), s.CSRFToken) {
			return h.refuseCSRF(c)
		}
		return next(c)
	}
}

func csrfToken(c echo.Context) string {
	if t := c.Request().Header.Get(csrfHeader); t != "" {
		return t
	}
	return c.FormValue(csrfField)
}

func sameToken(given, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

func (h *Handler) refuseCSRF(c echo.Context) error {
	h.log.Warn("admin form without a valid CSRF token", "route", c.Path(), "ip", c.RealIP())
	p := &pageData{Title: "error.title", Data: errorPage{Status: http.StatusForbidden, Message: "error.csrf"}}
	return h.render(c, http.StatusForbidden, "error", p)
}

type loginForm struct {
	User  string
	Next  string
	Error string // catalog key
	Wait  int    // seconds, with Error "login.throttled"
}

func (h *Handler) loginPage(c echo.Context) error {
	if s, err := h.session(c); err == nil && s != nil {
		return c.Redirect(http.StatusSeeOther, localNext(c.QueryParam("next")))
	}
	return h.renderLogin(c, http.StatusOK, &loginForm{Next: localNext(c.QueryParam("next")), Error: loginMessage(c.QueryParam("msg"))})
}

// renderLogin shows the sign-in form with a fresh CSRF token in its cookie and field.
func (h *Handler) renderLogin(c echo.Context, status int, f *loginForm) error {
	token := randomText(32)
	c.SetCookie(&http.Cookie{Name: loginCookie, Value: token, Path: "/admin/login", HttpOnly: true,
		Secure: h.secureCookie(c), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return h.render(c, status, "login", &pageData{Title: "login.title", Nav: "login", CSRF: token, Data: f})
}

// loginMessage turns the message code of a redirect to the sign-in page into a catalog key;
// codes are fixed so that a link cannot put arbitrary text on the page.
func loginMessage(code string) string {
	switch code {
	case "out":
		return "login.signed_out"
	case "password":
		return "login.password_changed"
	}
	return ""
}

func (h *Handler) login(c echo.Context) error {
	f := &loginForm{User: strings.TrimSpace(c.FormValue("user")), Next: localNext(c.FormValue("next"))}
	ck, err := c.Cookie(loginCookie)
	if err != nil || !sameToken(c.FormValue(csrfField), ck.Value) {
		f.Error = "login.expired"
		return h.renderLogin(c, http.StatusForbidden, f)
	}
	ip := c.RealIP()
	try, wait, err := h.beginAttempt(c, f.User)
	if err != nil {
		return err
	}
	if wait > 0 {
		f.Error, f.Wait = "login.throttled", waitSeconds(wait)
		h.log.Warn("admin sign-in throttled", "user", f.User, "ip", ip)
		return h.renderLogin(c, http.StatusTooManyRequests, f)
	}
	token, s, err := h.ops.Login(c.Request().Context(), f.User, c.FormValue("password"))
	if errors.Is(err, service.ErrBadLogin) {
		try.failed()
		h.log.Warn("admin sign-in failed", "user", f.User, "ip", ip)
		f.Error = "login.failed"
		return h.renderLogin(c, http.StatusUnauthorized, f)
	}
	if err != nil {
		try.cancel()
		return err
	}
	try.succeeded()
	h.log.Info("admin signed in", "user", s.OperatorName, "ip", ip)
	// Opportunistic: sign-ins are rare and the statement is cheap, so no timer is needed.
	if _, err := h.ops.DeleteExpiredSessions(c.Request().Context()); err != nil {
		h.log.Error("deleting expired admin sessions", "err", err)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/admin", HttpOnly: true,
		Secure: h.secureCookie(c), SameSite: http.SameSiteStrictMode, Expires: s.ExpiresAt})
	c.SetCookie(&http.Cookie{Name: loginCookie, Path: "/admin/login", MaxAge: -1})
	if s.MustChangePassword {
		return c.Redirect(http.StatusSeeOther, accountPath) // where any other page would send it
	}
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// beginAttempt asks the throttle whether the client may try user's password now, and
// counts the attempt if so (see throttle.begin).
func (h *Handler) beginAttempt(c echo.Context, user string) (*attempt, time.Duration, error) {
	setAt, err := h.ops.PasswordSetAt(c.Request().Context(), user)
	if err != nil {
		return nil, 0, err
	}
	try, wait := h.throttle.begin(c.RealIP(), account{name: user, passwordSetAt: setAt})
	return try, wait, nil
}

// waitSeconds rounds a throttle's wait up to whole seconds, for the page to show.
func waitSeconds(wait time.Duration) int {
	return int(wait.Round(time.Second)/time.Second) + 1
}

func (h *Handler) logout(c echo.Context) error {
	s := sessionOf(c)
	if err := h.ops.Logout(c.Request().Context(), s); err != nil {
		return err
	}
	h.log.Info("admin signed out", "user", s.OperatorName)
	h.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/admin/login?msg=out")
}

func (h *Handler) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Path: "/admin", MaxAge: -1, HttpOnly: true,
		Secure: h.secureCookie(c), SameSite: http.SameSiteStrictMode})
}

// secureCookie says whether a cookie must be sent back only over HTTPS: always when the
// operator says the server is reached over HTTPS, else when this request was. c.Scheme()
// believes scheme headers only from trusted proxies (web.New sets the router's extractor),
// so a client cannot decide by sending X-Forwarded-Proto whether an operator's cookies are
// Secure.
func (h *Handler) secureCookie(c echo.Context) bool {
	return h.alwaysSecure || c.Scheme() == "https"
}

// localNext keeps a redirect target inside the admin UI, so that the sign-in page cannot be
// used to send an operator elsewhere ("//evil.example" is a path to a browser's eyes too, and
// "/admin/../x" is not under /admin).
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	p := path.Clean(u.Path)
	if p != u.Path || (p != "/admin" && !strings.HasPrefix(p, "/admin/")) || strings.HasPrefix(p, "/admin/login") {
		return "/admin"
	}
	return next
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type accountForm struct {
	Errors map[string]string // field → catalog key
	Wait   int               // seconds, with the error "account.throttled"
}

func (h *Handler) accountPage(c echo.Context) error {
	return h.renderAccount(c, http.StatusOK, &accountForm{})
}

func (h *Handler) renderAccount(c echo.Context, status int, f *accountForm) error {
	return h.render(c, status, "account", &pageData{Title: "account.title", Nav: "account", Data: f})
}

// changePassword checks the current password through the sign-in throttle, like the
// sign-in form: a session left open is no way around it.
func (h *Handler) changePassword(c echo.Context) error {
	s := sessionOf(c)
	current, next, again := c.FormValue("current"), c.FormValue("password"), c.FormValue("again")
	f := &accountForm{Errors: map[string]string{}}
	if field, msg := refuseNewPassword(next, again); field != "" {
		f.Errors[field] = msg
		return h.renderAccount(c, http.StatusUnprocessableEntity, f)
	}
	ip := c.RealIP()
	try, wait, err := h.beginAttempt(c, s.OperatorName)
	if err != nil {
		return err
	}
	if wait > 0 {
		f.Errors["current"], f.Wait = "account.throttled", waitSeconds(wait)
		h.log.Warn("admin password change throttled", "user", s.OperatorName, "ip", ip)
		return h.renderAccount(c, http.StatusTooManyRequests, f)
	}
	err = h.ops.ChangePassword(c.Request().Context(), s, current, next)
	if errors.Is(err, service.ErrBadLogin) {
		try.failed()
		h.log.Warn("admin password change with a wrong current password", "user", s.OperatorName, "ip", ip)
		f.Errors["current"] = "account.wrong_current"
		return h.renderAccount(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		try.cancel()
		return err
	}
	try.succeeded()
	h.log.Info("admin password changed", "user", s.OperatorName, "ip", ip)
	if s.OperatorName == service.FirstOperatorName {
		h.removeInitialPassword()
	}
	h.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/admin/login?msg=password")
}

// removeInitialPassword deletes the file that held the first start's generated password,
// now that the account has one it chose. A failure does not undo the change: it is logged,
// for the operator to delete the file.
func (h *Handler) removeInitialPassword() {
	if h.initialPasswordFile == "" {
		return
	}
	err := os.Remove(h.initialPasswordFile)
	switch {
	case err == nil:
		h.log.Info("removed the file of the first start's admin password", "file", h.initialPasswordFile)
	case !errors.Is(err, fs.ErrNotExist):
		h.log.Error("removing the file of the first start's admin password: delete it by hand",
			"file", h.initialPasswordFile, "err", err)
	}
}

// refuseNewPassword names the field and the reason when the new password cannot be used,
// which is told before the current password is checked.
func refuseNewPassword(next, again string) (field, msg string) {
	switch err := service.CheckPassword(next); {
	case next != again:
		return "again", "account.mismatch"
	case errors.Is(err, service.ErrPasswordTooShort):
		return "password", "account.too_short"
	case errors.Is(err, service.ErrPasswordTooLong):
		return "password", "account.too_long"
	}
	return "", ""
}

// setLang remembers the chosen language for a year and goes back to the page it came from.
func (h *Handler) setLang(c echo.Context) error {
	lang := c.Param("lang")
	if _, ok := h.catalogs[lang]; !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	c.SetCookie(&http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: h.secureCookie(c), SameSite: http.SameSiteLaxMode})
	next := c.QueryParam("next")
	if next != "/" && next != "/admin/login" {
		next = localNext(next)
	}
	return c.Redirect(http.StatusSeeOther, next)
}
