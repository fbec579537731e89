package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// The statistics pages: the dashboard (/admin, the whole server) and one app's. Both show
// the same figures over the last 24 hours, 7 days or 30 days.

type period struct {
	Code  string // the ?period= value
	Label string // a catalog key
	Hours int
}

func periods() []period {
	return []period{{"24h", "period.24h", 24}, {"7d", "period.7d", 7 * 24}, {"30d", "period.30d", 30 * 24}}
}

func periodOf(code string) period {
	for _, p := range periods() {
		if p.Code == code {
			return p
		}
	}
	return periods()[0]
}

type statsPage struct {
	App     *service.App // nil on the dashboard
	Apps    []*service.App
	Period  period
	Periods []period
	Stats   *service.Stats

	SuccessRate float64
	HasRate     bool
	Median, P90 time.Duration
	HasSolves   bool
	Slow        time.Duration
	FastShare   float64
	FastCount   int64

	// The share of solves through audio, marked above AudioAlert.
	AudioShare    float64
	HasAudioShare bool
	AudioAlert    float64
	AudioAlarm    bool
	Channels      []channelRow

	Hours     chart
	Histogram chart
}

// channelRow is one line of the table of channels.
type channelRow struct {
	Name    string // image, audio or none
	Stats   service.ChannelStats
	Rate    float64
	HasRate bool
}

func (h *Handler) dashboard(c echo.Context) error {
	apps, err := h.svc.Apps(c.Request().Context())
	if err != nil {
		return err
	}
	p, err := h.statsPage(c, nil)
	if err != nil {
		return err
	}
	p.Apps = apps
	return h.render(c, http.StatusOK, "stats", &pageData{Title: "dashboard.title", Nav: "dashboard", Data: p})
}

func (h *Handler) appStats(c echo.Context) error {
	app, err := h.loadApp(c)
	if err != nil {
		return err
	}
	p, err := h.statsPage(c, app)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "stats", &pageData{Title: "stats.title", Nav: "apps", Data: p})
}

func (h *Handler) statsPage(c echo.Context, app *service.App) (*statsPage, error) {
	per := periodOf(c.QueryParam("period"))
	var appID int64
	if app != nil {
		appID = app.ID
	}
	st, err := h.svc.Stats(c.Request().Context(), appID, per.Hours)
	if err != nil {
		return nil, err
	}
	l := h.catalogs[h.lang(c)]
	p := &statsPage{App: app, Period: per, Periods: periods(), Stats: st, Slow: h.slowSolve}
	p.SuccessRate, p.HasRate = st.SuccessRate()
	p.Median, p.HasSolves = st.SolveTimePercentile(0.5)
	p.P90, _ = st.SolveTimePercentile(0.9)
	p.FastShare, p.FastCount, _ = st.FasterThan(h.slowSolve)
	p.AudioShare, p.HasAudioShare = st.AudioShare()
	p.AudioAlert = h.audioAlert
	p.AudioAlarm = p.HasAudioShare && p.AudioShare > h.audioAlert
	// Image and audio always; keys answered without being delivered only when there were any.
	for _, ch := range []service.Channel{service.Image, service.Audio, service.NoChannel} {
		cs := st.Channels[ch]
		if ch == service.NoChannel && cs.Verifications() == 0 {
			continue
		}
		row := channelRow{Name: string(ch), Stats: cs}
		row.Rate, row.HasRate = cs.SuccessRate()
		p.Channels = append(p.Channels, row)
	}
	p.Hours = hourChart(st, per, l)
	p.Histogram = histogramChart(st, h.slowSolve, l)
	return p, nil
}
