package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/postgres"
	"captcha/engine/postgres/pgtest"
	"captcha/engine/service"
	"captcha/engine/service/servicetest"
	"captcha/engine/sqlite"
	"captcha/web"
)

// The renderer holds parsed fonts; one is enough for every test.
var sharedRenderer = sync.OnceValues(func() (*engine.Renderer, error) {
	return engine.NewRenderer(engine.StyleFromSecret([]byte("tests")))
})

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is the real server: the echo router over httptest, the service, a SQLite file in
// a temporary directory, and three apps of one dialect (NHN, or Naver for newNaverHarness):
// app, other, and disabled.
type harness struct {
	t        testing.TB
	api      service.API // the dialect of app, other and disabled
	url      string
	handler  http.Handler
	svc      *service.Service
	db       *sqlite.DB    // nil on another store
	store    service.Store // db, or the other store
	clock    *servicetest.Clock
	logs     *syncBuffer
	app      *service.App
	secret   string
	other    *service.App
	otherSec string
	disabled *service.App
	disSec   string
}

type harnessOption func(*web.Options, *service.AppSettings)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessAt(t, filepath.Join(t.TempDir(), sqlite.FileName), opts...)
}

// newNaverHarness is the harness with Naver apps.
func newNaverHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessFor(t, service.Naver, filepath.Join(t.TempDir(), sqlite.FileName), opts...)
}

func newHarnessAt(t testing.TB, path string, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessFor(t, service.NHN, path, opts...)
}

func newHarnessFor(t testing.TB, api service.API, path string, opts ...harnessOption) *harness {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := newHarnessOn(t, api, db, opts...)
	h.db = db
	return h
}

// newHarnessOn is the harness on a store of the caller's (PostgreSQL's), which it leaves
// open; h.db is nil.
func newHarnessOn(t testing.TB, api service.API, store service.Store, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	r, err := sharedRenderer()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, api: api, store: store, clock: servicetest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	metrics := web.NewMetrics()
	h.svc, err = service.New(ctx, store, r, service.Options{Now: h.clock.Now, Observer: metrics, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o := web.Options{Service: h.svc, Logger: log, Metrics: metrics}
	settings := service.DefaultAppSettings()
	for _, opt := range opts {
		opt(&o, &settings)
	}
	apps, _ := h.svc.Apps(ctx)
	if len(apps) >= 3 { // reopened: the apps are there already
		h.app, h.other, h.disabled = apps[0], apps[1], apps[2]
	} else {
		h.app, h.secret = h.createApp("shop", api, settings)
		h.other, h.otherSec = h.createApp("other", api, settings)
		h.disabled, h.disSec = h.createApp("disabled", api, settings)
		if err := h.svc.SetAppEnabled(ctx, h.disabled.AppKey, false); err != nil {
			t.Fatal(err)
		}
	}
	h.handler = web.New(o)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *harness) createApp(name string, api service.API, s service.AppSettings) (*service.App, string) {
	h.t.Helper()
	app, secret, err := h.svc.CreateApp(context.Background(), name, api, s)
	if err != nil {
		h.t.Fatal(err)
	}
	return app, secret
}

// answer reads a key's answer back from the store, as only the server knows it. It reads
// through the writer, which sees a first delivery before it is committed: a delivery may
// have escalated the key to a longer answer.
func (h *harness) answer(key string) string {
	h.t.Helper()
	return h.stored(key).Answer
}

// stored is the key as the writer sees it (as any reader does, on PostgreSQL).
func (h *harness) stored(key string) *service.Key {
	h.t.Helper()
	var seen service.Key
	err := h.store.UpdateKey(context.Background(), key, func(k *service.Key) (*service.Verification, error) {
		seen = *k
		return nil, nil
	})
	if err != nil {
		h.t.Fatalf("key %q: %v", key, err)
	}
	return &seen
}

// reply is one HTTP response, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

// do sends a request; headers are name/value pairs.
func (h *harness) do(method, path string, headers ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return h.send(req)
}

func (h *harness) send(req *http.Request) reply {
	h.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("%s %s: Cache-Control %q, want no-store", req.Method, req.URL.Path, cc)
	}
	if nosniff := res.Header.Get("X-Content-Type-Options"); nosniff != "nosniff" {
		h.t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", req.Method, req.URL.Path, nosniff)
	}
	return reply{status: res.StatusCode, header: res.Header, body: body}
}

// TestMain stops the PostgreSQL server the tests share, if one was started.
func TestMain(m *testing.M) { pgtest.Main(m) }

// postgresStore opens the store on a fresh database of the shared PostgreSQL test server,
// for the tests that race on PostgreSQL's row locks; it skips without PostgreSQL (fails
// under CI).
func postgresStore(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.Shared(t).NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// scrape reads /metrics into its series, each named as the text format writes it:
// `name{label="value",...}`, labels in the order of their names.
func (h *harness) scrape() map[string]float64 {
	h.t.Helper()
	r := h.do("GET", "/metrics")
	if r.status != http.StatusOK {
		h.t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	series := map[string]float64{}
	for line := range strings.Lines(string(r.body)) {
		line = strings.TrimSpace(line)
		// The value comes last: a label's value may hold a space, a number never does.
		space := strings.LastIndexByte(line, ' ')
		if space < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(line[space+1:], 64)
		if err != nil {
			h.t.Fatalf("/metrics: %q: %v", line, err)
		}
		series[line[:space]] = v
	}
	return series
}

// metric is the value of one series at /metrics; the test fails if there is no such series.
func (h *harness) metric(series string) float64 {
	h.t.Helper()
	v, ok := h.scrape()[series]
	if !ok {
		h.t.Fatalf("/metrics has no series %s", series)
	}
	return v
}

func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }

func isWAV(b []byte) bool {
	return len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE"
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
