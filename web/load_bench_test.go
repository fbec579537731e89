package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
	"captcha/engine/sqlite"
	"captcha/web"
)

// BenchmarkFlows measures whole CAPTCHA flows over loopback against the real server (echo,
// the service, SQLite on a file), with the load generator in the same process, on the same
// cores: each flow issues a key, fetches its image and verifies the right answer (read back
// from the store, as only the server knows it).
//
// The engine sub-benchmark renders the same challenges with every core and no HTTP or SQL:
// flows/s over its renders/s is the share the server keeps of what the engine can do. Run:
//
//	go test ./web -run '^$' -bench Flows -benchtime 3s -count 3
//
// CAPTCHA_BENCH_MILLION=1 adds clients=4 against a database holding 1,000,000 live keys,
// to compare with clients=4 on an empty one (inserting them takes a while).
func BenchmarkFlows(b *testing.B) {
	r, err := sharedRenderer()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("engine", func(b *testing.B) {
		o := engine.DefaultOptions()
		cpu := processCPU()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var seed engine.Seed
			for pb.Next() {
				answer, _ := engine.NewAnswer(o.Charset, o.Length)
				seed[0], seed[1] = byte(rand.Uint32()), byte(rand.Uint32())
				if _, err := r.Image(answer, seed, o); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "renders/s")
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/render")
	})
	// Each server is started once and kept for every round the benchmark runs (with growing
	// b.N), on the parent's temporary directory.
	server := func(r service.Renderer, keys int) func() *loadServer {
		return sync.OnceValue(func() *loadServer { return newLoadServer(b, r, keys) })
	}
	empty := server(r, 0)
	for _, clients := range []int{1, 4, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			runFlows(b, empty(), clients)
		})
	}
	// The same flows with a renderer that draws nothing: what HTTP, SQLite and the load
	// generator cost on their own.
	blankServer := server(blankRenderer{}, 0)
	b.Run("clients=32/no-drawing", func(b *testing.B) {
		runFlows(b, blankServer(), 32)
	})
	if os.Getenv("CAPTCHA_BENCH_MILLION") == "1" {
		million := server(r, 1_000_000)
		b.Run("clients=4/keys=1M", func(b *testing.B) {
			runFlows(b, million(), 4)
		})
	}
}

// blankRenderer returns a fixed tiny JPEG-sized payload without drawing.
type blankRenderer struct{}

var blank = make([]byte, 6000)

func (blankRenderer) Image(string, engine.Seed, engine.Options) ([]byte, error) { return blank, nil }
func (blankRenderer) Audio(string, engine.Seed, engine.Options) ([]byte, error) { return blank, nil }

type loadServer struct {
	url    string
	db     *sqlite.DB
	appKey string
}

// newLoadServer starts the server on a loopback listener with limits off, as for a load
// test, and logging formatted but discarded, so that its cost is counted. With keys > 0 the
// database is first filled by another connection, closed before the server opens it, as a
// server restarted on a full database would find it.
func newLoadServer(b testing.TB, r service.Renderer, keys int) *loadServer {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), sqlite.FileName)
	if keys > 0 {
		start := time.Now()
		if err := fillDatabase(ctx, path, keys); err != nil {
			b.Fatal(err)
		}
		b.Logf("stored %d keys in %v", keys, time.Since(start).Round(time.Millisecond))
		// Hand the loader's garbage back to the system, so that resident memory measures
		// the server under load rather than this setup.
		debug.FreeOSMemory()
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	metrics := web.NewMetrics()
	svc, err := service.New(ctx, db, r, service.Options{Observer: metrics, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	app, err := loadApp(ctx, svc)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: web.New(web.Options{Service: svc, Logger: log, Metrics: metrics})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return &loadServer{url: "http://" + ln.Addr().String(), db: db, appKey: app.AppKey}
}

// loadApp returns the app named "load", creating it the first time.
func loadApp(ctx context.Context, svc *service.Service) (*service.App, error) {
	apps, err := svc.Apps(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if a.Name == "load" {
			return a, nil
		}
	}
	app, _, err := svc.CreateApp(ctx, "load", service.DefaultAppSettings())
	return app, err
}

// fillDatabase stores n live keys of the "load" app in the database at path.
func fillDatabase(ctx context.Context, path string, n int) error {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := service.New(ctx, db, nil, service.Options{})
	if err != nil {
		return err
	}
	app, err := loadApp(ctx, svc)
	if err != nil {
		return err
	}
	if err := insertKeys(ctx, db, app.ID, n); err != nil {
		return err
	}
	return db.Checkpoint(ctx)
}

// insertKeys fills the keys table with n live keys in one transaction of multi-row INSERTs.
func insertKeys(ctx context.Context, db *sqlite.DB, appID int64, n int) error {
	const perStatement = 500
	now := time.Now()
	created, expires := now.UnixMilli(), now.Add(service.MaxKeyLifetime).UnixMilli()
	row := "(?, ?, 'ACE234', 'alnum', 'normal', 240, 80, 'en', 1, ?, ?)"
	stmt := "INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang, max_attempts, created_at, expires_at) VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", perStatement), ",")
	return db.Bulk(ctx, func(exec func(query string, args ...any) error) error {
		args := make([]any, 0, 4*perStatement)
		for i := 0; i < n; i += perStatement {
			args = args[:0]
			for j := range perStatement {
				args = append(args, fmt.Sprintf("bench%017d", i+j), appID, created, expires)
			}
			if err := exec(stmt, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// runFlows runs b.N flows from clients concurrent clients and reports throughput, latency
// percentiles and the process's peak resident memory.
func runFlows(b *testing.B, s *loadServer, clients int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	// Warm the connections and the caches before timing.
	for range clients {
		if _, err := flow(client, s); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	latencies := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	stopRSS := sampleRSS()
	b.ResetTimer()
	cpu := processCPU()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				d, err := flow(client, s)
				if err != nil {
					b.Error(err)
					return
				}
				latencies[c] = append(latencies[c], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu = processCPU() - cpu
	b.StopTimer()
	peakRSS := stopRSS()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "flows/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.90), "p90-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(peakRSS, "peak-rss-MB")
	if ops, txs := s.db.BatchStats(); txs > 0 {
		b.ReportMetric(float64(ops)/float64(txs), "ops/commit")
	}
	// CPU time per flow, server and load generator together: unlike flows/s, it does not
	// depend on what else the machine is running.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/flow")
}

// processCPU is the CPU time (user and system) this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// flow is one user's CAPTCHA: issue, image, verify.
func flow(client *http.Client, s *loadServer) (time.Duration, error) {
	start := time.Now()
	var issued struct {
		Header struct{ ResultCode int }
		Key    string `json:"key"`
	}
	if err := call(client, "POST", s.url+"/captcha/v1.0/appkeys/"+s.appKey+"/keys", &issued); err != nil {
		return 0, err
	}
	if err := call(client, "GET", s.url+"/captcha/v1.0/keys/"+issued.Key+"/img", nil); err != nil {
		return 0, err
	}
	k, err := s.db.KeyByID(context.Background(), issued.Key)
	if err != nil {
		return 0, err
	}
	var verified struct{ Header struct{ ResultCode int } }
	if err := call(client, "GET", s.url+"/captcha/v1.0/appkeys/"+s.appKey+"/keys/"+issued.Key+"/verification?answer="+k.Answer, &verified); err != nil {
		return 0, err
	}
	if verified.Header.ResultCode != 0 {
		return 0, fmt.Errorf("verification: result code %d", verified.Header.ResultCode)
	}
	return time.Since(start), nil
}

func call(client *http.Client, method, url string, into any) error {
	req, _ := http.NewRequest(method, url, nil)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("%s %s: HTTP %d", method, url, res.StatusCode)
	}
	if into == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(into)
}

// sampleRSS samples the process's resident memory every 50 ms until stopped and returns the
// peak in megabytes. (VmHWM would include whatever ran earlier in the process.)
func sampleRSS() (stop func() float64) {
	done := make(chan struct{})
	peak := make(chan float64)
	go func() {
		var max float64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if mb := residentMB(); mb > max {
				max = mb
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		return <-peak
	}
}

func residentMB() float64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
