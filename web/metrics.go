package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"captcha/engine/service"
)

// Metrics are served at /metrics in the Prometheus text format. They live in a registry of
// their own rather than the global one, so that tests and several servers in one process do
// not collide. Metrics also implements service.Observer, for the counts only the service
// knows (issued, escalated, verified, expired keys and render times).
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
	render   *prometheus.HistogramVec
	issued   prometheus.Counter
	verified *prometheus.CounterVec
	expired  prometheus.Counter
	// escalated, soundsRefused and siteverified show bot pressure: challenges made harder,
	// sounds refused past a client's quota, and what /siteverify answered.
	escalated     prometheus.Counter
	soundsRefused *prometheus.CounterVec
	siteverified  *prometheus.CounterVec

	// routes caches the series of each route, method and status seen, so that a request
	// costs a map read instead of hashing its labels into the vectors twice.
	routes sync.Map // routeLabels -> routeSeries
	// rendered is render's series for each channel, looked up once.
	rendered map[service.Channel]prometheus.Observer
}

type routeLabels struct {
	route, method string
	status        int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

var _ service.Observer = (*Metrics)(nil)

// NewMetrics registers every metric, with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "captcha_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "captcha_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "captcha_http_failures_total",
			Help: "Requests that failed on the server's side (logged at error level), by route. " +
				"NHN-style JSON endpoints report these as result code -1 with HTTP 200.",
		}, []string{"route"}),
		render: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "captcha_render_seconds", Help: "Time to draw one challenge, by channel (image or audio).",
			Buckets: []float64{.0005, .001, .002, .004, .008, .016, .032, .064, .128},
		}, []string{"channel"}),
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "captcha_keys_issued_total", Help: "Challenge keys issued.",
		}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "captcha_keys_verified_total", Help: "Verification decisions, by outcome.",
		}, []string{"outcome"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "captcha_keys_expired_total", Help: "Keys deleted after expiring without being used up.",
		}),
		escalated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "captcha_challenges_escalated_total",
			Help: "Challenges made harder at their first delivery, the client network's recent answers " +
				"having been mostly wrong or implausibly fast.",
		}),
		soundsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "captcha_sounds_refused_total",
			Help: "Sound requests refused by the client network's quota of sounds, by dialect.",
		}, []string{"dialect"}),
		siteverified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "captcha_siteverify_total",
			Help: "/siteverify answers, by result: success, or the first error code answered.",
		}, []string{"result"}),
	}
	// Every series of these two exists from the start, at 0: one that first appeared at 1
	// would show no increase to rate(), hiding the first refusal or failure.
	for _, api := range service.APIs() {
		m.soundsRefused.WithLabelValues(string(api))
	}
	for _, result := range siteverifyResults {
		m.siteverified.WithLabelValues(result)
	}
	m.rendered = map[service.Channel]prometheus.Observer{
		service.Image: m.render.WithLabelValues(string(service.Image)),
		service.Audio: m.render.WithLabelValues(string(service.Audio)),
	}
	m.registry.MustRegister(m.requests, m.duration, m.failures, m.render, m.issued, m.verified, m.expired,
		m.escalated, m.soundsRefused, m.siteverified,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *Metrics) request(route, method string, status int, d time.Duration, failed bool) {
	labels := routeLabels{route, method, status}
	series, ok := m.routes.Load(labels)
	if !ok {
		// Routes are the router's patterns (or "unmatched") and statuses a few dozen at
		// most, so the cache stays small.
		series, _ = m.routes.LoadOrStore(labels, routeSeries{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	s := series.(routeSeries)
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
	if failed {
		m.failures.WithLabelValues(route).Inc()
	}
}

func (m *Metrics) KeyIssued()                    { m.issued.Inc() }
func (m *Metrics) KeyEscalated()                 { m.escalated.Inc() }
func (m *Metrics) KeyVerified(o service.Outcome) { m.verified.WithLabelValues(string(o)).Inc() }
func (m *Metrics) KeysExpired(n int)             { m.expired.Add(float64(n)) }
func (m *Metrics) Rendered(ch service.Channel, d time.Duration) {
	series, ok := m.rendered[ch]
	if !ok {
		series = m.render.WithLabelValues(string(ch))
	}
	series.Observe(d.Seconds())
}

func (m *Metrics) soundRefused(api service.API) { m.soundsRefused.WithLabelValues(string(api)).Inc() }

// siteverifyAnswered counts a /siteverify answer by its result, one of siteverifyResults.
func (m *Metrics) siteverifyAnswered(result string) { m.siteverified.WithLabelValues(result).Inc() }
