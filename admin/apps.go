package admin

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine"
	"captcha/engine/service"
)

// The application pages: list, create, edit (with the live preview and the API examples),
// enable or disable, delete with a confirmation, and rotate the secret.

type appListPage struct {
	Apps    []*service.App
	Message string // a catalog key, after a redirect
	Demo    string
}

func (h *Handler) appList(c echo.Context) error {
	apps, err := h.svc.Apps(c.Request().Context())
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "apps", &pageData{Title: "apps.title", Nav: "apps",
		Data: &appListPage{Apps: apps, Message: flash(c.QueryParam("msg")), Demo: service.DemoAppName}})
}

// flash turns the message code of a redirect into a catalog key; only known codes show.
func flash(code string) string {
	switch code {
	case "saved", "enabled", "disabled", "deleted":
		return "flash." + code
	}
	return ""
}

// appForm is the settings form as typed, so that a refused value is shown back as it was.
type appForm struct {
	Name                                      string
	API                                       string // empty on a new app's form: the operator chooses
	Charset, Difficulty, Lang                 string
	Length, Width, Height, Lifetime, Attempts string
	Escalate                                  bool
	EscalateMinAnswers, EscalateBadPercent    string
	FastSolve                                 string            // seconds
	TokenLifetime                             string            // seconds; empty: the default
	Hostnames                                 string            // as typed: commas, spaces or lines
	Errors                                    map[string]string // field → message, translated
}

func formOf(app *service.App) *appForm {
	s := app.Settings
	return &appForm{
		Name: app.Name, API: string(app.API), Charset: string(s.Charset), Difficulty: string(s.Difficulty), Lang: string(s.Lang),
		Length: strconv.Itoa(s.Length), Width: strconv.Itoa(s.Width), Height: strconv.Itoa(s.Height),
		Lifetime: strconv.Itoa(int(s.KeyLifetime / time.Second)), Attempts: strconv.Itoa(s.MaxAttempts),
		Escalate: s.Escalation.Enabled, EscalateMinAnswers: strconv.Itoa(s.Escalation.MinAnswers),
		EscalateBadPercent: strconv.Itoa(s.Escalation.BadPercent),
		FastSolve:          strconv.FormatFloat(s.Escalation.FastSolve.Seconds(), 'f', -1, 64),
		TokenLifetime:      strconv.Itoa(int(s.TokenLifetime / time.Second)),
		Hostnames:          strings.Join(app.Hostnames, "\n"),
		Errors:             map[string]string{},
	}
}

func readForm(c echo.Context) *appForm {
	v := func(name string) string { return strings.TrimSpace(c.FormValue(name)) }
	return &appForm{
		Name: v("name"), API: v("api"), Charset: v("charset"), Difficulty: v("difficulty"), Lang: v("lang"),
		Length: v("length"), Width: v("width"), Height: v("height"), Lifetime: v("lifetime"), Attempts: v("attempts"),
		// A checkbox: sent when checked, absent when not.
		Escalate: v("escalate") != "", EscalateMinAnswers: v("escalate_min_answers"),
		EscalateBadPercent: v("escalate_bad_percent"), FastSolve: v("fast_solve"),
		TokenLifetime: v("token_lifetime"), Hostnames: v("hostnames"),
		Errors: map[string]string{},
	}
}

// hostnames reads the hosts a widget app's pages may be on; a list that is not one gets its
// error here. Other dialects keep none.
func (f *appForm) hostnames(l catalog) ([]string, bool) {
	if service.API(f.API) != service.Widget {
		return nil, true
	}
	hosts, err := service.ParseHostnames(f.Hostnames)
	var fe *engine.FieldError
	if errors.As(err, &fe) {
		f.Errors["hostnames"] = l.T("form.invalid", fe.Allowed)
		return nil, false
	}
	return hosts, err == nil
}

// settings reads the form's values; a field that is not a number gets its error here, and
// the engine's and the service's limits are checked by the service.
func (f *appForm) settings(l catalog) (service.AppSettings, bool) {
	s := service.AppSettings{Options: engine.Options{
		Charset: engine.Charset(f.Charset), Difficulty: engine.Difficulty(f.Difficulty), Lang: engine.Lang(f.Lang),
	}, Escalation: service.Escalation{Enabled: f.Escalate}}
	var lifetime int
	tokenLifetime := int(service.DefaultTokenLifetime / time.Second)
	if f.TokenLifetime == "" { // a form of an older page: the default
		f.TokenLifetime = strconv.Itoa(tokenLifetime)
	}
	for _, n := range []struct {
		field string
		raw   string
		dst   *int
	}{
		{"length", f.Length, &s.Length}, {"width", f.Width, &s.Width}, {"height", f.Height, &s.Height},
		{"lifetime", f.Lifetime, &lifetime}, {"attempts", f.Attempts, &s.MaxAttempts},
		{"escalate_min_answers", f.EscalateMinAnswers, &s.Escalation.MinAnswers},
		{"escalate_bad_percent", f.EscalateBadPercent, &s.Escalation.BadPercent},
		{"token_lifetime", f.TokenLifetime, &tokenLifetime},
	} {
		v, err := strconv.Atoi(n.raw)
		if errors.Is(err, strconv.ErrRange) {
			err = nil // a number, only far too large: the limits below say so
		}
		if err != nil {
			f.Errors[n.field] = l.T("form.not_number")
			continue
		}
		// Clamped far outside every limit, so that seconds cannot overflow a Duration
		// back into the allowed range.
		*n.dst = max(min(v, 1_000_000), -1_000_000)
	}
	s.KeyLifetime = time.Duration(lifetime) * time.Second
	s.TokenLifetime = time.Duration(tokenLifetime) * time.Second
	// Seconds with a decimal point, to the millisecond; the service takes tenths.
	if secs, err := strconv.ParseFloat(f.FastSolve, 64); err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(secs) {
		f.Errors["fast_solve"] = l.T("form.not_decimal")
	} else {
		s.Escalation.FastSolve = time.Duration(math.Round(max(min(secs, 1e6), -1e6)*1000)) * time.Millisecond
	}
	return s, len(f.Errors) == 0
}

// refused puts the service's reason for refusing the form next to its field. It reports
// false for any other error, which the caller returns as a failure.
func (f *appForm) refused(err error, settings service.AppSettings, l catalog) bool {
	var fe *engine.FieldError
	if !errors.Is(err, service.ErrAppNameInvalid) && !errors.As(err, &fe) {
		return false
	}
	if errors.Is(err, service.ErrAppNameInvalid) {
		f.Errors["name"] = l.T("form.bad_name")
	}
	// The service stops at the first refused value: show the others' reasons at once.
	for _, e := range []error{err, service.API(f.API).Validate(), settings.Validate()} {
		if errors.As(e, &fe) && f.Errors[fe.Field] == "" {
			f.Errors[fe.Field] = l.T("form.invalid", fe.Allowed)
		}
	}
	return true
}

// appPage is the edit (or create) page.
type appPage struct {
	App      *service.App // nil when creating
	Form     *appForm
	Weak     *weakSettings // the form's settings let blind guesses pass too often
	Choices  choices
	Examples []example
	Message  string
	IsDemo   bool
}

type choices struct {
	APIs                                           []service.API
	Charsets, Difficulties, Langs                  []string
	MinLength, MaxLength, MinWidth, MaxWidth       int
	MinHeight, MaxHeight, MinLifetime, MaxLifetime int
	MaxAttempts                                    int
	MaxMinAnswers                                  int
	MaxFastSolve                                   float64 // seconds
	EscalationWindow                               int     // minutes
	MinTokenLifetime, MaxTokenLifetime             int     // seconds
	MaxHostnames                                   int
}

func formChoices() choices {
	return choices{
		APIs:         service.APIs(),
		Charsets:     engine.CharsetNames(),
		Difficulties: []string{string(engine.Easy), string(engine.Normal), string(engine.Hard)},
		Langs:        []string{string(engine.English), string(engine.Korean)},
		MinLength:    engine.MinLength, MaxLength: engine.MaxLength,
		MinWidth: engine.MinWidth, MaxWidth: engine.MaxWidth,
		MinHeight: engine.MinHeight, MaxHeight: engine.MaxHeight,
		MinLifetime: int(service.MinKeyLifetime / time.Second), MaxLifetime: int(service.MaxKeyLifetime / time.Second),
		MaxAttempts:   service.MaxAttemptsLimit,
		MaxMinAnswers: service.MaxEscalateMinAnswers, MaxFastSolve: service.MaxFastSolve.Seconds(),
		EscalationWindow: int(service.EscalationWindow / time.Minute),
		MinTokenLifetime: int(service.MinTokenLifetime / time.Second), MaxTokenLifetime: int(service.MaxTokenLifetime / time.Second),
		MaxHostnames: service.MaxHostnames,
	}
}

// weakSettings is what the warning about weak settings says: a blind guess passes about
// once in OneIn keys, more often than the once in Limit allowed.
type weakSettings struct{ OneIn, Limit int64 }

// weakGuess warns about settings that let a blind guess pass too often; nil for others, and
// for settings that do not validate, whose fields say what is wrong with them.
func weakGuess(s service.AppSettings) *weakSettings {
	if s.Validate() != nil {
		return nil
	}
	if g := s.BlindGuess(); g.Weak() {
		return &weakSettings{OneIn: g.OneIn(), Limit: service.MaxBlindGuessOneIn}
	}
	return nil
}

func (h *Handler) appNew(c echo.Context) error {
	form := formOf(&service.App{Settings: service.DefaultAppSettings()})
	return h.render(c, http.StatusOK, "app", &pageData{Title: "app.new_title", Nav: "apps",
		Data: &appPage{Form: form, Choices: formChoices()}})
}

func (h *Handler) appCreate(c echo.Context) error {
	l := h.catalogs[h.lang(c)]
	form := readForm(c)
	settings, ok := form.settings(l)
	hosts, hostsOK := form.hostnames(l)
	if ok && hostsOK {
		var app *service.App
		var secret string
		var err error
		if service.API(form.API) == service.Widget {
			app, secret, err = h.svc.CreateWidgetApp(c.Request().Context(), form.Name, settings, hosts)
		} else {
			app, secret, err = h.svc.CreateApp(c.Request().Context(), form.Name, service.API(form.API), settings)
		}
		if err == nil {
			h.log.Info("app created", "user", sessionOf(c).OperatorName, "app", app.ID, "name", app.Name)
			return h.render(c, http.StatusOK, "secret", &pageData{Title: "secret.created_title", Nav: "apps",
				Data: &secretPage{App: app, Secret: secret, Created: true, Weak: weakGuess(app.Settings)}})
		}
		if !form.refused(err, settings, l) {
			return err
		}
	}
	var weak *weakSettings
	if ok {
		weak = weakGuess(settings)
	}
	return h.render(c, http.StatusUnprocessableEntity, "app", &pageData{Title: "app.new_title", Nav: "apps",
		Data: &appPage{Form: form, Choices: formChoices(), Weak: weak}})
}

// appID reads the :id of the path; anything but a positive number is no app.
func appID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, service.ErrUnknownApp
	}
	return id, nil
}

func (h *Handler) loadApp(c echo.Context) (*service.App, error) {
	id, err := appID(c)
	if err != nil {
		return nil, err
	}
	return h.svc.AppByID(c.Request().Context(), id)
}

func (h *Handler) appEdit(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	return h.renderApp(c, http.StatusOK, app, formOf(app), weakGuess(app.Settings), flash(c.QueryParam("msg")))
}

func (h *Handler) renderApp(c echo.Context, status int, app *service.App, form *appForm, weak *weakSettings, msg string) error {
	return h.render(c, status, "app", &pageData{Title: "app.edit_title", Nav: "apps", Data: &appPage{
		App: app, Form: form, Weak: weak, Choices: formChoices(), Examples: examplesFor(c, app), Message: msg,
		IsDemo: app.Name == service.DemoAppName,
	}})
}

func (h *Handler) appSave(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	l := h.catalogs[h.lang(c)]
	form := readForm(c)
	settings, ok := form.settings(l)
	hosts, hostsOK := form.hostnames(l)
	if ok && hostsOK {
		_, err := h.svc.UpdateApp(c.Request().Context(), app.ID, form.Name, service.API(form.API), settings)
		if err == nil && service.API(form.API) == service.Widget {
			err = h.svc.SetAppHostnames(c.Request().Context(), app.ID, hosts)
		}
		if err == nil {
			h.log.Info("app updated", "user", sessionOf(c).OperatorName, "app", app.ID)
			return c.Redirect(http.StatusSeeOther, "/admin/apps/"+strconv.FormatInt(app.ID, 10)+"?msg=saved")
		}
		if !form.refused(err, settings, l) {
			return err
		}
	}
	var weak *weakSettings
	if ok {
		weak = weakGuess(settings)
	}
	return h.renderApp(c, http.StatusUnprocessableEntity, app, form, weak, "")
}

func (h *Handler) appSetEnabled(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	var enabled bool
	switch c.FormValue("enabled") {
	case "1":
		enabled = true
	case "0":
	default:
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	if err := h.svc.SetAppEnabled(c.Request().Context(), app.AppKey, enabled); err != nil {
		return err
	}
	h.log.Info("app enabled changed", "user", sessionOf(c).OperatorName, "app", app.ID, "enabled", enabled)
	msg := "disabled"
	if enabled {
		msg = "enabled"
	}
	return c.Redirect(http.StatusSeeOther, "/admin/apps/"+strconv.FormatInt(app.ID, 10)+"?msg="+msg)
}

type deletePage struct {
	App    *service.App
	IsDemo bool
}

func (h *Handler) appConfirmDelete(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "delete", &pageData{Title: "delete.title", Nav: "apps",
		Data: &deletePage{App: app, IsDemo: app.Name == service.DemoAppName}})
}

func (h *Handler) appDelete(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteApp(c.Request().Context(), app.AppKey); err != nil {
		return err
	}
	h.log.Info("app deleted", "user", sessionOf(c).OperatorName, "app", app.ID, "name", app.Name)
	return c.Redirect(http.StatusSeeOther, "/admin/apps?msg=deleted")
}

// secretPage shows a secret once, after a creation or a rotation. Nothing keeps it: reload
// the page and it is gone (a reload of the rotation's post rotates again, which the page says).
type secretPage struct {
	App     *service.App
	Secret  string
	Created bool
	Weak    *weakSettings // after a creation with weak settings
}

func (h *Handler) appRotateSecret(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	secret, err := h.svc.RotateSecret(c.Request().Context(), app.ID)
	if err != nil {
		return err
	}
	h.log.Info("app secret rotated", "user", sessionOf(c).OperatorName, "app", app.ID)
	return h.render(c, http.StatusOK, "secret", &pageData{Title: "secret.rotated_title", Nav: "apps",
		Data: &secretPage{App: app, Secret: secret}})
}

// example is one ready-to-paste call of an API dialect.
type example struct {
	Title string // a catalog key
	Steps []exampleStep
}

type exampleStep struct {
	Note string // a catalog key
	Code string
}

// examplesFor fills this server's address and the app's appkey into the calls of the one
// dialect the app answers in. KEY, ANSWER and SECRET stay placeholders: the secret is never
// kept.
func examplesFor(c echo.Context, app *service.App) []example {
	write, ok := exampleWriters[app.API]
	if !ok {
		return nil
	}
	return []example{write(c.Scheme()+"://"+c.Request().Host, app.AppKey)}
}

// exampleWriters write each dialect's calls for a server's base URL and an appkey.
var exampleWriters = map[service.API]func(base, appKey string) example{
	service.NHN:    nhnExample,
	service.Naver:  naverExample,
	service.Widget: widgetExample,
}

// widgetExample embeds the widget with the site key, which is public, and verifies its
// token with the secret from the site's server.
func widgetExample(base, k string) example {
	return example{Title: "examples.widget", Steps: []exampleStep{
		{"examples.embed", `<script src="` + base + `/api.js" async defer></script>` + "\n" +
			`<form method="post" action="/signup">` + "\n" +
			`  <div class="captcha" data-sitekey="` + k + `"></div>` + "\n" + `</form>`},
		{"examples.siteverify", "curl -d secret=SECRET -d response=TOKEN '" + base + "/siteverify'"},
	}}
}

// nhnExample's browser snippet loads the challenge by the key alone: an NHN app's appkey is
// its only credential, so it stays on the customer's server.
func nhnExample(base, k string) example {
	return example{Title: "examples.nhn", Steps: []exampleStep{
		{"examples.issue", "curl -X POST '" + base + "/captcha/v1.0/appkeys/" + k + "/keys'"},
		{"examples.show", `<img src="` + base + `/captcha/v1.0/keys/KEY/img" alt="CAPTCHA">` + "\n" +
			`<audio src="` + base + `/captcha/v1.0/keys/KEY/sound" controls></audio>`},
		{"examples.verify", "curl '" + base + "/captcha/v1.0/appkeys/" + k + "/keys/KEY/verification?answer=ANSWER'"},
	}}
}

// naverExample's image URL carries the appkey, as that cloud's do; the secret stays on the
// customer's server.
func naverExample(base, k string) example {
	return example{Title: "examples.naver", Steps: []exampleStep{
		{"examples.issue", "curl -H 'X-NCP-APIGW-API-KEY-ID: " + k + "' -H 'X-NCP-APIGW-API-KEY: SECRET' \\\n  '" +
			base + "/captcha/v1/nkey?code=0'"},
		{"examples.show", `<img src="` + base + `/captcha-bin/v1/ncaptcha?key=KEY&X-NCP-APIGW-API-KEY-ID=` + k + `" alt="CAPTCHA">`},
		{"examples.verify", "curl -H 'X-NCP-APIGW-API-KEY-ID: " + k + "' -H 'X-NCP-APIGW-API-KEY: SECRET' \\\n  '" +
			base + "/captcha/v1/nkey?code=1&key=KEY&value=ANSWER'"},
		{"examples.voice", "curl -H 'X-NCP-APIGW-API-KEY-ID: " + k + "' -H 'X-NCP-APIGW-API-KEY: SECRET' \\\n  '" +
			base + "/scaptcha/v1/skey?code=0'\n" +
			base + "/scaptcha-bin/v1/scaptcha?key=KEY&X-NCP-APIGW-API-KEY-ID=" + k},
	}}
}
