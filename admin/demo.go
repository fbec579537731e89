package admin

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The demo page at / works as a customer's site would: its server side issues a key for the
// built-in demo app, the browser loads the image and the sound from the public URLs of the
// app's dialect (NHN's, by the key alone, unless an operator switched the demo app to
// Naver), and the answer comes back to the server side, which verifies it.
// It calls the service directly rather than over HTTP, so the API's per-app limits do not
// apply; its own limit per client network keeps it from being used to fill the database.

type demoPage struct {
	API       service.API // the demo app's dialect, which the page's explanation follows
	Available bool
	Limited   bool
	Challenge *demoChallenge
	// Verdict is the outcome of the answer just sent, as a catalog key; empty before one.
	Verdict   string
	Passed    bool
	SolveTime time.Duration // when Passed and the challenge had been served
}

type demoChallenge struct {
	Key   string `json:"key"`
	Image string `json:"image"`
	Sound string `json:"sound"`
}

func (h *Handler) demoPage(c echo.Context) error {
	p, err := h.newDemo(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "demo", &pageData{Title: "demo.title", Nav: "demo", Data: p})
}

// newDemo issues a challenge for the page, unless the demo app is missing or disabled or
// this client has asked for too many.
func (h *Handler) newDemo(c echo.Context) (*demoPage, error) {
	ctx := c.Request().Context()
	app, err := h.svc.DemoApp(ctx)
	if errors.Is(err, service.ErrUnknownApp) {
		return &demoPage{}, nil
	}
	if err != nil {
		return nil, err
	}
	p := &demoPage{API: app.API, Available: app.Enabled}
	if !app.Enabled {
		return p, nil
	}
	if !h.demo.allow(c.RealIP()) {
		p.Limited = true
		return p, nil
	}
	k, err := h.svc.IssueKey(ctx, app)
	if err != nil {
		return nil, err
	}
	p.Challenge = challengeOf(app, k.ID)
	return p, nil
}

// challengeOf gives the browser a key's URLs as a customer's page of the app's dialect
// would: NHN's carry the key alone, since an NHN app's appkey is its only credential and
// never leaves the server; Naver's carry the appkey too, as that cloud's image URLs do.
func challengeOf(app *service.App, key string) *demoChallenge {
	if app.API == service.Naver {
		q := "key=" + url.QueryEscape(key) + "&X-NCP-APIGW-API-KEY-ID=" + url.QueryEscape(app.AppKey) // the document's order
		return &demoChallenge{Key: key, Image: "/captcha-bin/v1/ncaptcha?" + q, Sound: "/scaptcha-bin/v1/scaptcha?" + q}
	}
	k := url.PathEscape(key)
	return &demoChallenge{Key: key, Image: "/captcha/v1.0/keys/" + k + "/img", Sound: "/captcha/v1.0/keys/" + k + "/sound"}
}

// demoVerify checks the answer, as the customer's server would, then shows the verdict with
// a fresh challenge.
func (h *Handler) demoVerify(c echo.Context) error {
	ctx := c.Request().Context()
	verdict, passed := "demo.unavailable", false
	var solveTime time.Duration
	app, err := h.svc.DemoApp(ctx)
	switch {
	case errors.Is(err, service.ErrUnknownApp):
	case err != nil:
		return err
	default:
		res, err := h.svc.Verify(ctx, app, c.FormValue("key"), c.FormValue("answer"), service.NoChannel)
		switch {
		case err == nil:
			verdict, passed = "demo.passed", true
			if res.Served {
				solveTime = res.ResponseTime
			}
		case errors.Is(err, service.ErrEmptyAnswer): // before ErrBadAnswer, which it is too
			verdict = "demo.empty"
		case errors.Is(err, service.ErrWrongAnswer), errors.Is(err, service.ErrBadAnswer):
			verdict = "demo.wrong"
		case errors.Is(err, service.ErrKeyExpired), errors.Is(err, service.ErrKeyNotFound):
			verdict = "demo.expired"
		case errors.Is(err, service.ErrKeyUsedUp):
			verdict = "demo.used"
		case errors.Is(err, service.ErrAppDisabled):
		default:
			return err
		}
	}
	p, err := h.newDemo(c)
	if err != nil {
		return err
	}
	p.Verdict, p.Passed, p.SolveTime = verdict, passed, solveTime
	return h.render(c, http.StatusOK, "demo", &pageData{Title: "demo.title", Nav: "demo", Data: p})
}

// demoChallenge gives the page's script a new challenge without reloading the page.
func (h *Handler) demoChallenge(c echo.Context) error {
	p, err := h.newDemo(c)
	if err != nil {
		return err
	}
	switch {
	case p.Limited:
		return c.JSON(http.StatusTooManyRequests, map[string]string{"error": h.catalogs[h.lang(c)].T("demo.limited")})
	case p.Challenge == nil:
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": h.catalogs[h.lang(c)].T("demo.unavailable")})
	}
	return c.JSON(http.StatusOK, p.Challenge)
}
