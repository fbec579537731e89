package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
	"captcha/web/widgetui"
)

// The widget dialect (/work/notes/widget-contract.md, README "Widget and siteverify"): the
// script a page loads from /api.js asks for a challenge with the app's public site key,
// shows its image and sound, and posts the answer, all from the visitor's browser; a right
// answer gets a response token, which the site's server redeems at /siteverify (siteverify.go)
// with the app's secret. Browser-facing, so limited per client network, never per app: the
// challenge and answer calls share one bucket (Limits.IPFetch), the image and sound are
// fetches like the other dialects' (and the sound counts against Limits.IPSounds).
//
// Pages of the app's hostnames only (any, when it has none) may ask for challenges and
// answer them: the Origin of those calls is checked against the list. Every response of
// /widget/v1 echoes the request's Origin in Access-Control-Allow-Origin, errors included,
// so that the script can read why it was refused; what a page may do is decided by that
// check, not by CORS. Images and sounds go to whoever holds their key, which only an allowed
// page was given.
const widgetPrefix = "/widget/"

func (s *server) routeWidget(e *echo.Echo) {
	e.GET("/api.js", s.widgetScript)
	e.GET("/widget/ui/*", s.widgetAsset)
	g := e.Group("/widget/v1", widgetCORS)
	g.POST("/challenge", s.widgetChallenge)
	g.GET("/image/:key", s.widgetImage)
	g.GET("/audio/:key", s.widgetAudio)
	g.POST("/answer", s.widgetAnswer)
	g.OPTIONS("/challenge", widgetPreflight)
	g.OPTIONS("/answer", widgetPreflight)
	e.POST("/siteverify", s.siteverify)
}

// Errors of the widget dialect's HTTP layer.
var (
	errBadRequest       = errors.New("malformed request")
	errOriginNotAllowed = errors.New("origin not allowed for this site key")
)

// widgetErrors maps errors to the contract's codes, in one place.
var widgetErrors = []struct {
	err           error
	status        int
	code, message string
}{
	{errBadRequest, http.StatusBadRequest, "bad-request", "A JSON object with the documented fields is expected."},
	{service.ErrBadAnswer, http.StatusBadRequest, "bad-request", "The answer is empty, too long, or holds characters that show as nothing."},
	{service.ErrBadTokenData, http.StatusBadRequest, "bad-request", "action must be at most 64 characters of A-Z a-z 0-9 _ - . / :, cdata at most 255 printable characters."},
	{service.ErrUnknownApp, http.StatusForbidden, "invalid-sitekey", "No widget has this site key."},
	{service.ErrAppDisabled, http.StatusForbidden, "invalid-sitekey", "No widget has this site key."},
	{errOriginNotAllowed, http.StatusForbidden, "origin-not-allowed", "This site key may not be used on this page's host."},
	{errRateLimited, http.StatusTooManyRequests, "rate-limited", "Too many requests; slow down."},
	{service.ErrKeyNotFound, http.StatusNotFound, "expired", "The challenge expired or was used up; ask for a new one."},
	{service.ErrKeyExpired, http.StatusNotFound, "expired", "The challenge expired or was used up; ask for a new one."},
	{service.ErrKeyUsedUp, http.StatusNotFound, "expired", "The challenge expired or was used up; ask for a new one."},
}

type widgetErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// widgetError answers err with its code and returns it again if it is a server failure.
func (s *server) widgetError(c echo.Context, err error) error {
	setRetryAfter(c, err)
	for _, r := range widgetErrors {
		if errors.Is(err, r.err) {
			return c.JSON(r.status, widgetErrorBody{Error: r.code, Message: r.message})
		}
	}
	if status := httpStatus(err); status > 0 && status < 500 {
		if status == http.StatusRequestEntityTooLarge {
			status = http.StatusBadRequest // oversized is malformed, as the contract has it
		}
		return c.JSON(status, widgetErrorBody{Error: "bad-request", Message: http.StatusText(status)})
	}
	c.JSON(http.StatusInternalServerError, widgetErrorBody{Error: "internal-error", Message: "The server failed; try again."})
	return err
}

// widgetCORS lets the widget's script read every response of /widget/v1 (see above). No
// credentials: the widget's calls carry none.
func widgetCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Add(echo.HeaderVary, echo.HeaderOrigin)
		if origin := c.Request().Header.Get(echo.HeaderOrigin); origin != "" {
			h.Set(echo.HeaderAccessControlAllowOrigin, origin)
		}
		return next(c)
	}
}

// widgetPreflight answers the browser's question before a cross-origin JSON POST. It cannot
// check the site key, which is in the body the POST will carry: that POST is checked.
func widgetPreflight(c echo.Context) error {
	h := c.Response().Header()
	h.Set(echo.HeaderAccessControlAllowMethods, "POST")
	h.Set(echo.HeaderAccessControlAllowHeaders, echo.HeaderContentType)
	h.Set(echo.HeaderAccessControlMaxAge, "600")
	return c.NoContent(http.StatusNoContent)
}

// widgetApp identifies the widget app of a site key, under the client's budget of failed
// identifications, and checks the request's Origin against its hostnames. It returns the
// Origin's host, "" when the request has no Origin or an opaque one ("null").
func (s *server) widgetApp(c echo.Context, siteKey string) (*service.App, string, error) {
	app, err := s.identify(c, func(ctx context.Context) (*service.App, error) {
		return s.svc.App(ctx, service.Widget, siteKey)
	})
	if err != nil {
		return nil, "", err
	}
	origin := c.Request().Header.Get(echo.HeaderOrigin)
	var host string
	if u, err := url.Parse(origin); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		host = strings.ToLower(u.Hostname())
	}
	// A page without a readable host (no Origin, "null" from a sandbox or a file) is allowed
	// only when every page is.
	if len(app.Hostnames) > 0 && (host == "" || !app.AllowsHost(host)) {
		return nil, "", errOriginNotAllowed
	}
	return app, host, nil
}

// limitWidget takes a token from the client network's bucket of widget calls.
func (s *server) limitWidget(c echo.Context) error {
	return s.take(s.widgetCalls, clientNetwork(c.RealIP()))
}

// readJSON decodes the request's body, one JSON object, into v: anything else, a body
// over maxBody included, is errBadRequest.
func readJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		return errBadRequest
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest // trailing data
	}
	return nil
}

// widgetCall begins a challenge's or an answer's call: the client's limit, then the body
// into req, which must have its required fields, then the app of its site key and the
// Origin's host (widgetApp).
func (s *server) widgetCall(c echo.Context, req widgetRequest) (*service.App, string, error) {
	if err := s.limitWidget(c); err != nil {
		return nil, "", err
	}
	if err := readJSON(c, req); err != nil {
		return nil, "", err
	}
	siteKey, complete := req.required()
	if !complete {
		return nil, "", errBadRequest
	}
	return s.widgetApp(c, siteKey)
}

// widgetRequest is the body of a widget call: its site key, and whether the fields it
// requires are there.
type widgetRequest interface {
	required() (siteKey string, complete bool)
}

type widgetChallengeRequest struct {
	SiteKey string `json:"sitekey"`
}

func (r *widgetChallengeRequest) required() (string, bool) { return r.SiteKey, r.SiteKey != "" }

type widgetChallengeReply struct {
	Challenge string `json:"challenge"`
	Image     string `json:"image"`
	Audio     string `json:"audio"`
	Length    int    `json:"length"`
	ExpiresIn int    `json:"expires_in"`
	AudioLang string `json:"audio_lang"`
}

func (s *server) widgetChallenge(c echo.Context) error {
	app, _, err := s.widgetCall(c, &widgetChallengeRequest{})
	if err != nil {
		return err
	}
	k, err := s.svc.IssueKey(c.Request().Context(), app)
	if err != nil {
		return err
	}
	// The length is the answer's at issuance; a network that answers like a bot gets it two
	// longer at the first delivery (escalation), so the widget must not cap the field at it.
	return c.JSON(http.StatusOK, widgetChallengeReply{
		Challenge: k.ID, Image: "/widget/v1/image/" + k.ID, Audio: "/widget/v1/audio/" + k.ID,
		Length: k.Options.Length, ExpiresIn: int(k.ExpiresAt.Sub(k.CreatedAt) / time.Second),
		AudioLang: string(k.Options.Lang),
	})
}

func (s *server) widgetImage(c echo.Context) error {
	if !s.allowFetch(c) {
		return s.limitedBy(s.fetch, clientNetwork(c.RealIP()))
	}
	img, err := s.svc.KeyImage(c.Request().Context(), service.Widget, c.Param("key"), "", clientNetwork(c.RealIP()))
	if err != nil {
		return err
	}
	return sendChallenge(c, "image/jpeg", img.Data)
}

func (s *server) widgetAudio(c echo.Context) error {
	if !s.allowFetch(c) {
		return s.limitedBy(s.fetch, clientNetwork(c.RealIP()))
	}
	return s.sendSound(c, service.Widget, c.Param("key"), "")
}

type widgetAnswerRequest struct {
	SiteKey   string `json:"sitekey"`
	Challenge string `json:"challenge"`
	Answer    string `json:"answer"`
	Action    string `json:"action"`
	CData     string `json:"cdata"`
}

func (r *widgetAnswerRequest) required() (string, bool) {
	return r.SiteKey, r.SiteKey != "" && r.Challenge != ""
}

type widgetAnswerReply struct {
	Success   bool   `json:"success"`
	Token     string `json:"token,omitempty"`
	ExpiresIn int    `json:"expires_in,omitempty"`
	Error     string `json:"error,omitempty"`
}

// widgetAnswer verifies an answer; a right one gets a response token. The challenge allows
// one answer: a wrong one uses it up, and the widget asks for another.
func (s *server) widgetAnswer(c echo.Context) error {
	var req widgetAnswerRequest
	app, host, err := s.widgetCall(c, &req)
	if err != nil {
		return err
	}
	issued, err := s.svc.AnswerWidget(c.Request().Context(), app, req.Challenge, req.Answer,
		service.WidgetAnswer{Hostname: host, Action: req.Action, CData: req.CData})
	switch {
	case err == nil:
		return c.JSON(http.StatusOK, widgetAnswerReply{Success: true, Token: issued.Token,
			ExpiresIn: int(issued.ExpiresIn / time.Second)})
	case errors.Is(err, service.ErrWrongAnswer):
		return c.JSON(http.StatusOK, widgetAnswerReply{Error: "wrong-answer"})
	case errors.Is(err, service.ErrKeyNotFound), errors.Is(err, service.ErrKeyExpired), errors.Is(err, service.ErrKeyUsedUp):
		return c.JSON(http.StatusOK, widgetAnswerReply{Error: "expired"})
	}
	return err
}

// The widget's own files, from widgetui. Public and the same for every page, so cached and
// readable from any origin; api.js briefly, so that a new version reaches pages soon.
func (s *server) widgetScript(c echo.Context) error {
	return sendWidgetFile(c, "api.js", "public, max-age=300")
}

func (s *server) widgetAsset(c echo.Context) error {
	return sendWidgetFile(c, c.Param("*"), "public, max-age=3600")
}

// widgetTypes are the content types of the widget's files; a file of another kind is
// served as bytes, which nosniff keeps a browser from taking for anything else.
var widgetTypes = map[string]string{
	".js":    "application/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".json":  "application/json",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func sendWidgetFile(c echo.Context, name, cacheControl string) error {
	if !fs.ValidPath(name) || name == "." {
		return echo.ErrNotFound
	}
	data, err := fs.ReadFile(widgetui.FS, name)
	if err != nil {
		return echo.ErrNotFound // missing, or a directory
	}
	ctype, ok := widgetTypes[path.Ext(name)]
	if !ok {
		ctype = echo.MIMEOctetStream
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, cacheControl)
	h.Del("Pragma")
	h.Set(echo.HeaderAccessControlAllowOrigin, "*")
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(data)))
	return c.Blob(http.StatusOK, ctype, data)
}

// limitedError is errRateLimited with the time until the client's bucket holds a token.
type limitedError struct{ after time.Duration }

func (e *limitedError) Error() string { return errRateLimited.Error() }
func (e *limitedError) Unwrap() error { return errRateLimited }

// take takes a token from key's bucket in l, or says when to come back.
func (s *server) take(l *keyedLimiter, key string) error {
	if l.allow(key, s.now()) {
		return nil
	}
	return s.limitedBy(l, key)
}

// limitedBy is the rate-limit error of a request key's bucket in l refused.
func (s *server) limitedBy(l *keyedLimiter, key string) error {
	return &limitedError{after: l.wait(key, s.now())}
}

// setRetryAfter tells a rate-limited client, in whole seconds (at least one), when to ask again.
func setRetryAfter(c echo.Context, err error) {
	var le *limitedError
	if errors.As(err, &le) {
		secs := max(1, int(math.Ceil(le.after.Seconds())))
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(secs))
	}
}
