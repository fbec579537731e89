package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The demo page at / works as a customer's site would: it embeds the widget (/api.js) with
// the demo app's site key, the visitor solves it in the browser against the widget's own
// endpoints, and the form brings the response token back to the page's server side, which
// redeems it with the demo app's secret as a site's server does at /siteverify. The secret
// is the service's DemoSecret, derived from the server secret, so the page needs no file
// and works on every node. It calls the service's SiteVerify directly rather than over
// HTTP, which has the same effect without knowing the server's own URL; its own limit per
// client network keeps the verifications to what a person sends.

type demoPage struct {
	Available bool
	SiteKey   string // the demo app's appkey, public as every site key is
	Limited   bool
	// Verdict is the outcome of the token just sent, as a catalog key; empty before one.
	Verdict string
	Passed  bool
}

// demoField is the form field the widget fills, under the widget's default name.
const demoField = "captcha-response"

func (h *Handler) demoPage(c echo.Context) error {
	p, _, err := h.newDemo(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "demo", &pageData{Title: "demo.title", Nav: "demo", Data: p})
}

// newDemo describes the page for the demo app, unless it is missing, disabled, or not a
// widget app (a start converts an old one).
func (h *Handler) newDemo(c echo.Context) (*demoPage, *service.App, error) {
	app, err := h.svc.DemoApp(c.Request().Context())
	if errors.Is(err, service.ErrUnknownApp) {
		return &demoPage{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !app.Enabled || app.API != service.Widget {
		return &demoPage{}, nil, nil
	}
	return &demoPage{Available: true, SiteKey: app.AppKey}, app, nil
}

// demoVerify redeems the form's token, as the customer's server would, then shows the
// verdict with a fresh widget.
func (h *Handler) demoVerify(c echo.Context) error {
	p, app, err := h.newDemo(c)
	if err != nil {
		return err
	}
	switch {
	case app == nil:
		p.Verdict = "demo.unavailable"
	case !h.demo.allow(c.RealIP()):
		p.Limited = true
	default:
		p.Verdict, p.Passed, err = h.redeemDemoToken(c, app)
		if err != nil {
			return err
		}
	}
	return h.render(c, http.StatusOK, "demo", &pageData{Title: "demo.title", Nav: "demo", Data: p})
}

// redeemDemoToken verifies the form's token with the demo app's secret and returns the
// verdict's catalog key.
func (h *Handler) redeemDemoToken(c echo.Context, app *service.App) (string, bool, error) {
	token := c.FormValue(demoField)
	if token == "" {
		return "demo.empty", false, nil
	}
	ctx := c.Request().Context()
	secret, err := h.svc.DemoSecret(ctx)
	if err != nil {
		return "", false, err
	}
	_, err = h.svc.SiteVerify(ctx, service.SiteVerification{Secret: secret, Response: token, SiteKey: app.AppKey})
	switch {
	case err == nil:
		return "demo.passed", true, nil
	case errors.Is(err, service.ErrTokenUsed):
		return "demo.used", false, nil
	case errors.Is(err, service.ErrTokenInvalid):
		return "demo.invalid", false, nil
	case errors.Is(err, service.ErrBadSecret):
		// The demo app's secret was rotated in the admin UI; the next start puts it back.
		return "demo.unavailable", false, nil
	}
	return "", false, err
}
