// Package web serves the CAPTCHA APIs over HTTP with echo: the NHN-compatible dialect
// (nhn.go), the Naver-compatible dialect (naver.go), the drop-in widget with its siteverify
// endpoint (widget.go, siteverify.go), health and metrics.
//
// Handlers return the service's errors as they are; the error handler hands each to the
// dialect the request's path belongs to, and each dialect maps errors to its codes in a
// single table. Errors that no table knows are server failures: they are logged with the
// request and answered with the dialect's generic failure, never with their text.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"captcha/engine/service"
)

// Options are what the HTTP layer needs from main.
type Options struct {
	Service *service.Service
	Logger  *slog.Logger
	Metrics *Metrics // nil: a fresh set
	Limits  Limits
	// TrustedProxies are the networks whose forwarding headers are believed: X-Forwarded-For
	// for the client IP, and X-Forwarded-Proto (or echo's other scheme headers) for
	// c.Scheme(). With none, both come from the connection and the headers are ignored.
	TrustedProxies []*net.IPNet
	// MetricsToken, if set, is required as "Authorization: Bearer TOKEN" to read /metrics.
	MetricsToken string
	// Version is the server's, shown by /healthz.
	Version string
}

// maxBody bounds request bodies: no endpoint reads one, so anything large is a mistake.
const maxBody = "16K"

type server struct {
	svc     *service.Service
	log     *slog.Logger
	metrics *Metrics
	issue   *keyedLimiter
	verify  *keyedLimiter
	fetch   *keyedLimiter
	// authFailures counts, per client network, the calls whose app could not be identified.
	authFailures *keyedLimiter
	// sounds is the quota of sounds per client network.
	sounds *keyedLimiter
	// widgetCalls limits the widget's challenges and answers per client network, at the
	// rate of fetches; siteverifyCalls limits /siteverify per client (a site's server), at
	// the rate of an app's verifications.
	widgetCalls     *keyedLimiter
	siteverifyCalls *keyedLimiter
	now             func() time.Time
	version         string
}

// New builds the router.
func New(o Options) *echo.Echo {
	s := &server{
		svc:             o.Service,
		log:             o.Logger,
		metrics:         o.Metrics,
		issue:           newKeyedLimiter(o.Limits.Enabled, o.Limits.AppIssue),
		verify:          newKeyedLimiter(o.Limits.Enabled, o.Limits.AppVerify),
		fetch:           newKeyedLimiter(o.Limits.Enabled, o.Limits.IPFetch),
		authFailures:    newKeyedLimiter(o.Limits.Enabled, o.Limits.IPAuthFailure),
		sounds:          newKeyedLimiter(o.Limits.Enabled, o.Limits.IPSounds),
		widgetCalls:     newKeyedLimiter(o.Limits.Enabled, o.Limits.IPFetch),
		siteverifyCalls: newKeyedLimiter(o.Limits.Enabled, o.Limits.AppVerify),
		now:             time.Now,
		version:         o.Version,
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIPExtractor(o.TrustedProxies)
	e.SchemeExtractor = schemeExtractor(o.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe, middleware.Recover(), noStoreNoSniff, middleware.BodyLimit(maxBody))

	e.GET("/healthz", s.healthz)
	e.GET("/metrics", metricsAccess(o.MetricsToken, echo.WrapHandler(s.metrics.Handler())))
	s.routeNHN(e)
	s.routeNaver(e)
	s.routeWidget(e)
	return e
}

// clientIPExtractor believes X-Forwarded-For only from the trusted proxies.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	return echo.ExtractIPFromXFFHeader(onlyFrom(trusted)...)
}

// schemeExtractor believes X-Forwarded-Proto, X-Forwarded-Protocol, X-Forwarded-Ssl and
// X-Url-Scheme only from the trusted proxies; otherwise the scheme is the connection's. The
// admin UI makes its cookies Secure by it, which no client may decide for itself.
func schemeExtractor(trusted []*net.IPNet) echo.SchemeExtractor {
	if len(trusted) == 0 {
		return echo.ExtractSchemeDirect()
	}
	return echo.ExtractSchemeFromHeaders(onlyFrom(trusted)...)
}

// onlyFrom makes echo trust forwarding headers from the trusted networks alone. echo's
// defaults trust every private and loopback address (and unix socket peers), which would let
// any client on such a network choose its own rate-limit bucket or the scheme it is seen
// to use, so they are turned off.
func onlyFrom(trusted []*net.IPNet) []echo.TrustOption {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return opts
}

// noStoreNoSniff sets the headers every response carries, whatever answers it (a handler,
// the error handler, the router's 404 and 405, the admin UI): keys, images and results are
// all one-off, so nothing is cached; and a browser must take each body as the type it is
// sent as, never guess (a JPEG or a JSON error read as HTML or script).
func noStoreNoSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "no-store")
		h.Set("Pragma", "no-cache")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

// metricsAccess asks for the bearer token, when there is one, before serving next. The
// comparison takes the same time wherever the two differ.
func metricsAccess(token string, next echo.HandlerFunc) echo.HandlerFunc {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return c.JSON(http.StatusUnauthorized, map[string]string{"message": "a bearer token is required for /metrics"})
		}
		return next(c)
	}
}

// failureKey is where the error handler leaves a server failure for observe to log.
const failureKey = "captcha.failure"

// observe writes one log line and the metrics of every request, after the error handler
// has answered any error.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		d := time.Since(start)
		req, res := c.Request(), c.Response()
		route := c.Path()
		if route == "" {
			route = "unmatched" // never the raw path: it would make labels unbounded
		}
		failure, _ := c.Get(failureKey).(error)
		s.metrics.request(route, metricMethod(req.Method), res.Status, d, failure != nil)
		level := slog.LevelInfo
		attrs := []slog.Attr{
			slog.String("method", req.Method),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Duration("duration", d),
			slog.String("ip", c.RealIP()),
			slog.Int64("bytes", res.Size),
		}
		if failure != nil {
			level = slog.LevelError
			attrs = append(attrs, slog.String("err", failure.Error()))
		}
		// Only the path, never the query: it carries answers.
		if route == "unmatched" {
			attrs = append(attrs, slog.String("path", req.URL.Path))
		}
		s.log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// metricMethod is the method as a metric label: the standard ones, or "other", since a
// client may send any token as a method and each would otherwise make a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// handleError answers err in the dialect of the request's path.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var failure error
	switch path := c.Request().URL.Path; {
	case strings.HasPrefix(path, nhnPrefix):
		failure = s.nhnError(c, err)
	case isNaverPath(path):
		failure = s.naverError(c, err)
	case strings.HasPrefix(path, widgetPrefix):
		failure = s.widgetError(c, err)
	case path == siteverifyPath:
		failure = s.siteverifyError(c, err)
	default:
		failure = plainError(c, err)
	}
	if failure != nil {
		c.Set(failureKey, failure)
	}
}

// plainError answers requests outside both dialects (unknown paths, /healthz).
func plainError(c echo.Context, err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code < 500 {
		return c.JSON(he.Code, map[string]string{"message": http.StatusText(he.Code)})
	}
	c.JSON(http.StatusInternalServerError, map[string]string{"message": http.StatusText(http.StatusInternalServerError)})
	return err
}

// httpStatus is the status of an echo error (unknown route, wrong method, body too large),
// or 0 for any other error.
func httpStatus(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return 0
}

func (s *server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		c.Set(failureKey, err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "version": s.version})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// Errors of the HTTP layer itself, mapped by each dialect like the service's.
var (
	errRateLimited        = errors.New("rate limit exceeded")
	errMissingParameter   = errors.New("missing parameter")
	errBadParameter       = errors.New("invalid parameter")
	errMissingCredentials = errors.New("missing credentials")
)

// identify finds the app a call names with find, under the per-client budget of failed
// identifications. A failure takes one from the client's budget, never from an app's: until
// it is identified, the call may name any app. A client that has used up its budget is
// refused before find, right credentials or wrong, so that guessing appkeys or secrets past
// the budget learns nothing.
func (s *server) identify(c echo.Context, find func(context.Context) (*service.App, error)) (*service.App, error) {
	client, now := clientNetwork(c.RealIP()), s.now()
	if s.authFailures.exhausted(client, now) {
		return nil, errRateLimited
	}
	app, err := find(c.Request().Context())
	if isAuthFailure(err) {
		s.authFailures.allow(client, now)
	}
	return app, err
}

// isAuthFailure is true for the errors that leave a call's app unidentified.
func isAuthFailure(err error) bool {
	for _, e := range []error{service.ErrUnknownApp, service.ErrAppDisabled, service.ErrBadSecret, errMissingCredentials} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// allowFetch applies the per-client limit to image and sound fetches.
func (s *server) allowFetch(c echo.Context) bool {
	return s.fetch.allow(clientNetwork(c.RealIP()), s.now())
}

// sendSound answers with the sound of a key, under the client network's quota of sounds
// (Limits.IPSounds). A client that has used its quota up is refused before the service is
// asked, so that a refused sound is no delivery; a sound delivered counts once it turns out
// to be the key's first, so that replaying one costs nothing.
func (s *server) sendSound(c echo.Context, api service.API, key, appKey string) error {
	client := clientNetwork(c.RealIP())
	if s.sounds.exhausted(client, s.now()) {
		s.metrics.soundRefused(api)
		return s.limitedBy(s.sounds, client)
	}
	wav, err := s.svc.KeyAudio(c.Request().Context(), api, key, appKey, client)
	if err != nil {
		return err
	}
	if wav.First {
		s.sounds.charge(client, s.now())
	}
	return sendChallenge(c, "audio/wav", wav.Data)
}

// sendChallenge answers with an image or a sound. With its length stated, the body goes out
// in one piece rather than chunked, and a browser or proxy knows when it has all of it.
func sendChallenge(c echo.Context, contentType string, data []byte) error {
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(data)))
	return c.Blob(http.StatusOK, contentType, data)
}
