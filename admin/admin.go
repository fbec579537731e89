// Package admin is the operator's browser UI at /admin (applications, live preview,
// statistics) and the public demo page at /.
//
// It calls the engine's service like any other client and knows nothing of the API dialects
// in web/, which in turn knows nothing of it; main mounts both on one echo router.
//
// Pages are html/template templates, parsed once by New from files embedded in the binary,
// as are the stylesheet and the one small script: nothing is fetched from elsewhere, and
// nothing is inline, so the Content-Security-Policy forbids inline scripts and styles. Charts
// are SVG drawn on the server. Text comes from a Korean and an English catalog.
//
// Access: operators sign in with a password (bcrypt); the session lives in the database and
// in an HttpOnly, SameSite=Strict cookie; every form carries the session's CSRF token;
// password checks are throttled per IP and per account at each IP. Every /admin route but
// the sign-in page redirects an anonymous browser to it (pages) or answers 401 (everything
// else).
package admin

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// Options are what the admin UI needs from main.
type Options struct {
	Service   *service.Service
	Operators *service.Operators
	// Renderer draws the live preview; nil disables it (the preview answers 503).
	Renderer service.Renderer
	Logger   *slog.Logger
	// SlowSolve is the solve time under which a solve is counted as suspiciously fast;
	// DefaultSlowSolve when zero.
	SlowSolve time.Duration
	// AudioShareAlert is the share of solves through audio (0 to 1) above which the
	// statistics mark it; DefaultAudioShareAlert when zero.
	AudioShareAlert float64
	// Now is the clock of the sign-in throttle and the demo's limit; time.Now when nil.
	Now func() time.Time
	// SecureCookies makes every cookie Secure, for a server that browsers reach over HTTPS
	// through a proxy it does not trust for the scheme. Otherwise a cookie is Secure when
	// the request came over HTTPS as c.Scheme() tells it, which believes X-Forwarded-Proto
	// only from the router's trusted proxies (see web.Options.TrustedProxies).
	SecureCookies bool
	// InitialPasswordFile holds the generated password of the FirstOperatorName account
	// until that account changes it here, which removes the file; empty when there is none.
	InitialPasswordFile string
}

// DefaultSlowSolve: people rarely read and type a challenge in under two seconds.
const DefaultSlowSolve = 2 * time.Second

// DefaultAudioShareAlert: about 1% of people use the audio; five times that is no accident
// of a site's audience, whereas a bar nearer 1% would be crossed by chance on a quiet day.
const DefaultAudioShareAlert = 0.05

// Handler serves the admin UI and the demo page.
type Handler struct {
	svc       *service.Service
	ops       *service.Operators
	renderer  service.Renderer
	log       *slog.Logger
	slowSolve time.Duration
	// audioAlert: Options.AudioShareAlert.
	audioAlert float64
	now        func() time.Time
	// alwaysSecure: Options.SecureCookies.
	alwaysSecure bool
	// initialPasswordFile: see Options.
	initialPasswordFile string

	pages    map[string]*template.Template
	catalogs map[string]catalog
	assets   map[string]asset
	throttle *throttle
	demo     *windowLimiter
	// pageRoutes are the routes registered as pages: an anonymous request for one is
	// redirected to the sign-in page, for any other route it gets 401.
	pageRoutes map[string]bool
}

// New parses the embedded templates, catalogs and assets, and fails if any is broken.
func New(o Options) (*Handler, error) {
	if o.Service == nil || o.Operators == nil {
		return nil, errors.New("admin: Service and Operators are required")
	}
	h := &Handler{
		svc:          o.Service,
		ops:          o.Operators,
		renderer:     o.Renderer,
		log:          o.Logger,
		slowSolve:    o.SlowSolve,
		audioAlert:   o.AudioShareAlert,
		now:          o.Now,
		alwaysSecure: o.SecureCookies,
		pageRoutes:   map[string]bool{},

		initialPasswordFile: o.InitialPasswordFile,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.slowSolve <= 0 {
		h.slowSolve = DefaultSlowSolve
	}
	if h.audioAlert <= 0 {
		h.audioAlert = DefaultAudioShareAlert
	}
	if h.now == nil {
		h.now = time.Now
	}
	var err error
	if h.catalogs, err = loadCatalogs(); err != nil {
		return nil, err
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	h.throttle = newThrottle(h.now)
	h.demo = newWindowLimiter(demoVerificationsPerMinute, time.Minute, h.now)
	return h, nil
}

// Register mounts the demo page, the assets and the admin UI on e.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/", h.handle(h.demoPage), securityHeaders)
	e.POST("/demo/verify", h.handle(h.demoVerify), securityHeaders)
	e.GET("/assets/:name", h.handle(h.serveAsset), securityHeaders)
	e.GET("/lang/:lang", h.handle(h.setLang), securityHeaders)
	e.GET("/admin/login", h.handle(h.loginPage), securityHeaders)
	e.POST("/admin/login", h.handle(h.login), securityHeaders)

	h.page(e, "/admin", h.dashboard)
	h.page(e, "/admin/apps", h.appList)
	h.page(e, "/admin/apps/new", h.appNew)
	h.action(e, http.MethodPost, "/admin/apps", h.appCreate)
	h.page(e, "/admin/apps/:id", h.appEdit)
	h.action(e, http.MethodPost, "/admin/apps/:id", h.appSave)
	h.action(e, http.MethodPost, "/admin/apps/:id/enabled", h.appSetEnabled)
	h.page(e, "/admin/apps/:id/delete", h.appConfirmDelete)
	h.action(e, http.MethodPost, "/admin/apps/:id/delete", h.appDelete)
	h.action(e, http.MethodPost, "/admin/apps/:id/secret", h.appRotateSecret)
	h.page(e, "/admin/apps/:id/stats", h.appStats)
	h.action(e, http.MethodGet, "/admin/preview/image", h.previewImage)
	h.action(e, http.MethodGet, "/admin/preview/audio", h.previewAudio)
	h.page(e, accountPath, h.accountPage)
	h.action(e, http.MethodPost, accountPath, h.changePassword)
	h.action(e, http.MethodPost, "/admin/logout", h.logout)
}

// page registers a GET page that needs a session, of an operator with a chosen password.
func (h *Handler) page(e *echo.Echo, path string, fn echo.HandlerFunc) {
	h.pageRoutes[path] = true
	e.GET(path, h.handle(fn), securityHeaders, h.requireSession, h.requireChosenPassword)
}

// action registers anything else that needs a session: form posts, which also need the
// session's CSRF token, and the preview's images and sounds.
func (h *Handler) action(e *echo.Echo, method, path string, fn echo.HandlerFunc) {
	e.Add(method, path, h.handle(fn), securityHeaders, h.requireSession, h.checkCSRF, h.requireChosenPassword)
}

// csp allows only this server's own files: no inline script or style, no plugin, no frame.
// connect-src lets the script ask for the preview's verdict, and the demo page's widget
// (/api.js, served by web) for its challenges.
const csp = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// handle answers the errors of fn itself, in HTML for pages, rather than leaving them to the
// router's error handler, which speaks the API dialects.
func (h *Handler) handle(fn echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := fn(c); err != nil {
			return h.fail(c, err)
		}
		return nil
	}
}

// render executes a page into a buffer first, so that a template failure becomes a clean
// error page instead of half a page.
func (h *Handler) render(c echo.Context, status int, name string, p *pageData) error {
	t, ok := h.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	p.fill(h, c)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("rendering %s: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// fail answers an error of a page or an action: a known condition with its status and a
// message from the catalog; anything else is logged and answered with a generic 500 whose
// text says nothing of the cause.
func (h *Handler) fail(c echo.Context, err error) error {
	status, msg := http.StatusInternalServerError, "error.internal"
	var he *echo.HTTPError
	switch {
	case errors.Is(err, service.ErrUnknownApp):
		status, msg = http.StatusNotFound, "error.no_app"
	case errors.As(err, &he) && he.Code < 500:
		status, msg = he.Code, "error.http"
	default:
		h.log.Error("admin request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	}
	// A page, a form post or a browser's navigation gets a page; an image, a sound or a
	// script's request gets plain text.
	if h.pageRoutes[c.Path()] || c.Request().Method == http.MethodPost ||
		strings.Contains(c.Request().Header.Get("Accept"), "text/html") {
		p := &pageData{Title: "error.title", Data: errorPage{Status: status, Message: msg}}
		if rerr := h.render(c, status, "error", p); rerr == nil {
			return nil
		}
	}
	return c.String(status, http.StatusText(status))
}

type errorPage struct {
	Status  int
	Message string
}
