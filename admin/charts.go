package admin

import (
	"math"
	"slices"
	"strconv"
	"time"

	"captcha/engine/service"
)

// Charts are drawn here as SVG shapes with their coordinates worked out on the server, so
// that they need no script and no inline style: colours come from classes in the stylesheet.
// Coordinates are in the chart's viewBox; the browser scales it to the page's width.

type chart struct {
	W, H   float64
	Bars   []chartBar
	Labels []chartLabel
	Lines  []chartLine
	Empty  bool // nothing to show: the template says so over the empty axes
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type chartLabel struct {
	X, Y   float64
	Text   string
	Anchor string // start, middle or end
}

type chartLine struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

const (
	chartW, chartH    = 720.0, 220.0
	padLeft, padRight = 44.0, 8.0
	padTop, padBottom = 10.0, 26.0
	plotW, plotH      = chartW - padLeft - padRight, chartH - padTop - padBottom
	chartBottom       = padTop + plotH
)

// niceCeil rounds up to 1, 2 or 5 times a power of ten, for the top of an axis.
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	p := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// yAxis draws the horizontal grid lines and their values at 0, half and the top.
func yAxis(c *chart, top int64) {
	for _, f := range []float64{0, 0.5, 1} {
		y := chartBottom - f*plotH
		c.Lines = append(c.Lines, chartLine{padLeft, y, chartW - padRight, y, "grid"})
		v := int64(math.Round(f * float64(top)))
		if f == 0.5 && top%2 != 0 {
			continue // an odd top has no whole middle value
		}
		c.Labels = append(c.Labels, chartLabel{padLeft - 6, y + 4, formatCount(v), "end"})
	}
}

// hourChart draws keys issued (wide bars) and solved (narrow bars in front) per hour.
func hourChart(st *service.Stats, per period, l catalog) chart {
	c := chart{W: chartW, H: chartH}
	var peak int64
	for _, h := range st.Hours {
		peak = max(peak, h.Issued, h.Passed)
	}
	c.Empty = peak == 0
	top := niceCeil(peak)
	yAxis(&c, top)
	n := len(st.Hours)
	if n == 0 {
		return c
	}
	slot := plotW / float64(n)
	height := func(v int64) float64 { return float64(v) / float64(top) * plotH }
	for i, h := range st.Hours {
		x := padLeft + float64(i)*slot
		title := h.Hour.Local().Format("2006-01-02 15:04") + " · " + l.T("stats.issued") + " " + formatCount(h.Issued) +
			" · " + l.T("stats.solved") + " " + formatCount(h.Passed)
		if h.Issued > 0 {
			c.Bars = append(c.Bars, chartBar{x + slot*0.1, chartBottom - height(h.Issued), slot * 0.8, height(h.Issued), "issued", title})
		}
		if h.Passed > 0 {
			c.Bars = append(c.Bars, chartBar{x + slot*0.3, chartBottom - height(h.Passed), slot * 0.4, height(h.Passed), "solved", title})
		}
	}
	// Five time labels along the bottom: hours for a day, dates beyond.
	layout := "15:04"
	if per.Hours > 24 {
		layout = "01-02"
	}
	for _, i := range []int{0, n / 4, n / 2, 3 * n / 4, n - 1} {
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case n - 1:
			anchor = "end"
		}
		x := padLeft + (float64(i)+0.5)*slot
		c.Labels = append(c.Labels, chartLabel{x, chartH - 8, st.Hours[i].Hour.Local().Format(layout), anchor})
	}
	return c
}

// histogramBounds are the solve-time buckets: fine under ten seconds, where people and
// scripts part ways, coarse above. The slow-solve threshold is added as a bound, so that
// the bars under it are exactly the suspiciously fast solves.
func histogramBounds(slow time.Duration) []time.Duration {
	bounds := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second,
		3 * time.Second, 5 * time.Second, 8 * time.Second, 13 * time.Second, 20 * time.Second, 30 * time.Second,
		time.Minute}
	if !slices.Contains(bounds, slow) && slow > 0 && slow < 10*time.Minute {
		bounds = append(bounds, slow)
		slices.Sort(bounds)
	}
	return bounds
}

func secondsLabel(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// histogramChart draws the distribution of solve times; the bars of solves faster than the
// slow-solve threshold get their own colour.
func histogramChart(st *service.Stats, slow time.Duration, l catalog) chart {
	c := chart{W: chartW, H: chartH}
	bounds := histogramBounds(slow)
	counts := st.Histogram(bounds)
	var peak int64
	for _, n := range counts {
		peak = max(peak, n)
	}
	c.Empty = peak == 0
	top := niceCeil(peak)
	yAxis(&c, top)
	slot := plotW / float64(len(counts))
	for i, n := range counts {
		var label string
		switch {
		case i == 0:
			label = "<" + secondsLabel(bounds[0]) + " s"
		case i == len(bounds):
			label = secondsLabel(bounds[i-1]) + "+ s"
		default:
			label = secondsLabel(bounds[i-1]) + "–" + secondsLabel(bounds[i]) + " s"
		}
		x := padLeft + float64(i)*slot
		c.Labels = append(c.Labels, chartLabel{x + slot/2, chartH - 8, label, "middle"})
		if n == 0 {
			continue
		}
		class := "solved"
		if i < len(bounds) && bounds[i] <= slow {
			class = "fast"
		}
		hgt := float64(n) / float64(top) * plotH
		c.Bars = append(c.Bars, chartBar{x + slot*0.12, chartBottom - hgt, slot * 0.76, hgt, class,
			label + " · " + l.T("stats.solves_n", formatCount(n))})
	}
	return c
}
