package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
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
	"captcha/engine/postgres"
	"captcha/engine/postgres/pgtest"
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
// The postgres/ sub-benchmarks run the same flows on PostgreSQL (a throwaway server the
// benchmark starts, as the tests do; skipped where PostgreSQL is not installed).
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
	b.Run("no-drawing/clients=32", func(b *testing.B) {
		runFlows(b, blankServer(), 32)
	})
	// The same flows on PostgreSQL, where it is installed.
	if err := pgtest.Available(); err != nil {
		b.Run("postgres", func(b *testing.B) { b.Skip(err) })
	} else {
		postgresFlows(b, r)
	}
	if os.Getenv("CAPTCHA_BENCH_MILLION") == "1" {
		million := server(r, 1_000_000)
		b.Run("clients=4/keys=1M", func(b *testing.B) {
			runFlows(b, million(), 4)
		})
	}
}

// postgresFlows runs the flows on PostgreSQL, on a server of the benchmark's own on this
// machine, durable (fsync on, as SQLite's commits are written before they return): one
// node's throughput on the shared store against SQLite's, sharing the cores with the
// database.
func postgresFlows(b *testing.B, r service.Renderer) {
	pgServer := func(r service.Renderer) func() *loadServer {
		return sync.OnceValue(func() *loadServer {
			pg := pgtest.Start(b, pgtest.Options{Durable: true})
			db, err := postgres.Open(context.Background(), pg.NewDatabase(b), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			s := newLoadServerOn(b, db, r)
			s.dbCPU = pg.CPU
			return s
		})
	}
	pg := pgServer(r)
	for _, clients := range []int{1, 4, 32} {
		b.Run(fmt.Sprintf("postgres/clients=%d", clients), func(b *testing.B) {
			runFlows(b, pg(), clients)
		})
	}
	blankPG := pgServer(blankRenderer{})
	b.Run("postgres/no-drawing/clients=32", func(b *testing.B) {
		runFlows(b, blankPG(), 32)
	})
}

// blankRenderer returns a JPEG-sized payload without drawing: the seed, then zeros.
type blankRenderer struct{}

func (blankRenderer) Image(_ string, seed engine.Seed, _ engine.Options) ([]byte, error) {
	blank := make([]byte, 6000)
	copy(blank, seed[:])
	return blank, nil
}

func (r blankRenderer) Audio(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	return r.Image(answer, seed, o)
}

// answerBook is the load generator's reader of challenges: it wraps the server's renderer
// and notes the answer of every image drawn under a hash of its bytes, so that a client
// holding the image can look its answer up, as a person reads it, without asking the
// database (which would add a read of its own to every flow).
type answerBook struct {
	service.Renderer
	seed    maphash.Seed
	mu      sync.Mutex
	answers map[uint64]string
}

func newAnswerBook(r service.Renderer) *answerBook {
	return &answerBook{Renderer: r, seed: maphash.MakeSeed(), answers: make(map[uint64]string)}
}

func (a *answerBook) Image(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	img, err := a.Renderer.Image(answer, seed, o)
	if err == nil {
		a.mu.Lock()
		a.answers[maphash.Bytes(a.seed, img)] = answer
		a.mu.Unlock()
	}
	return img, err
}

// read returns the answer of img and forgets it.
func (a *answerBook) read(img []byte) (string, bool) {
	h := maphash.Bytes(a.seed, img)
	a.mu.Lock()
	defer a.mu.Unlock()
	answer, ok := a.answers[h]
	delete(a.answers, h)
	return answer, ok
}

type loadServer struct {
	url     string
	db      service.Store
	appKey  string
	answers *answerBook
	// dbCPU is the processor time a database server of its own has used, for a store
	// that has one (PostgreSQL); nil for SQLite, whose work is in this process's.
	dbCPU func() time.Duration
}

// batchStats is what sqlite.DB says of its group commit; PostgreSQL commits concurrent
// transactions together by itself, and says nothing.
type batchStats interface {
	BatchStats() (ops, transactions int64)
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
	return newLoadServerOn(b, db, r)
}

// newLoadServerOn starts the server on a loopback listener with db.
func newLoadServerOn(b testing.TB, db service.Store, r service.Renderer) *loadServer {
	b.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	metrics := web.NewMetrics()
	answers := newAnswerBook(r)
	svc, err := service.New(ctx, db, answers, service.Options{Observer: metrics, Logger: log})
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
	return &loadServer{url: "http://" + ln.Addr().String(), db: db, appKey: app.AppKey, answers: answers}
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
	settings := service.DefaultAppSettings()
	settings.KeyLifetime = service.MaxKeyLifetime // the keys of a fill stay live through the runs
	// Every flow comes from loopback and answers within milliseconds, as a bot would: with
	// escalation on, nearly every key would be drawn hard and 8 long, and the runs would no
	// longer measure the app's own settings.
	settings.Escalation.Enabled = false
	app, _, err := svc.CreateApp(ctx, "load", service.NHN, settings)
	return app, err
}

// fillDatabase stores n keys of the "load" app in the database at path, issued through the
// service as a server issues them (so they are the real format and sort order, spread over
// the time the fill takes), from many goroutines at once so that group commit batches them.
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
	var issued atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 64 {
		wg.Go(func() {
			for issued.Add(1) <= int64(n) {
				if _, err := svc.IssueKey(ctx, app); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return db.Checkpoint(ctx)
}

// runFlows runs b.N flows from clients concurrent clients and reports throughput, latency
// percentiles and the process's peak resident memory.
func runFlows(b *testing.B, s *loadServer, clients int) {
	conns := make([]*loadConn, clients)
	for c := range conns {
		conn, err := dialLoad(s.url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		conns[c] = conn
		// Warm the connection and the caches before timing.
		if _, err := flow(conn, s); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	latencies := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	stopRSS := sampleRSS()
	b.ResetTimer()
	var opsBefore, txsBefore int64
	batches, hasBatches := s.db.(batchStats)
	if hasBatches {
		opsBefore, txsBefore = batches.BatchStats()
	}
	cpu := processCPU()
	var dbCPU time.Duration
	if s.dbCPU != nil {
		dbCPU = s.dbCPU()
	}
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				d, err := flow(conns[c], s)
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
	if s.dbCPU != nil {
		dbCPU = s.dbCPU() - dbCPU
	}
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
	if hasBatches {
		if ops, txs := batches.BatchStats(); txs > txsBefore {
			b.ReportMetric(float64(ops-opsBefore)/float64(txs-txsBefore), "ops/commit")
		}
	}
	// CPU time per flow, server and load generator together: unlike flows/s, it does not
	// depend on what else the machine is running.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/flow")
	if s.dbCPU != nil {
		// And the database server's, which runs beside on the same cores.
		b.ReportMetric(float64(dbCPU.Microseconds())/float64(len(all)), "db-cpu-µs/flow")
	}
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
func flow(conn *loadConn, s *loadServer) (time.Duration, error) {
	start := time.Now()
	body, err := conn.do("POST", "/captcha/v1.0/appkeys/"+s.appKey+"/keys")
	if err != nil {
		return 0, err
	}
	key, ok := issuedKey(body)
	if !ok {
		return 0, fmt.Errorf("issuing a key: %q", body)
	}
	img, err := conn.do("GET", "/captcha/v1.0/keys/"+key+"/img")
	if err != nil {
		return 0, err
	}
	answer, ok := s.answers.read(img)
	if !ok {
		return 0, fmt.Errorf("the image of key %s was not drawn by this server", key)
	}
	body, err = conn.do("GET", "/captcha/v1.0/appkeys/"+s.appKey+"/keys/"+key+"/verification?answer="+answer)
	if err != nil {
		return 0, err
	}
	if string(body) != nhnSuccessHeader+"}\n" {
		return 0, fmt.Errorf("verification: %q", body)
	}
	return time.Since(start), nil
}

// nhnSuccessHeader begins every successful NHN-style reply, byte for byte as the server
// writes it; the flow checks replies against it rather than decoding them, which checks them
// as strictly and costs the load generator next to nothing.
const nhnSuccessHeader = `{"header":{"resultCode":0,"resultMessage":"SUCCESS","isSuccessful":true,"successful":true}`

// issuedKey returns the key of a successful issuance reply, which repeats it as "Key".
func issuedKey(body []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(body, []byte(nhnSuccessHeader+`,"key":"`))
	if !ok {
		return "", false
	}
	key, rest, ok := bytes.Cut(rest, []byte(`"`))
	return string(key), ok && len(key) > 0 && string(rest) == `,"Key":"`+string(key)+`"}`+"\n"
}

// loadConn is the load generator's HTTP/1.1 client: one kept-alive connection, one request
// at a time, as a browser or a backend's connection pool sends them. It does only what
// these flows need (no redirects, no chunked bodies, which the server does not send for
// them), so that it takes as little of the two cores from the server as a load generator
// written in C would; Go's http.Client costs about as much per request as the server.
type loadConn struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
	body []byte
}

func dialLoad(url string) (*loadConn, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		return nil, err
	}
	return &loadConn{conn: conn, r: bufio.NewReaderSize(conn, 16<<10)}, nil
}

func (c *loadConn) Close() error { return c.conn.Close() }

// do sends a request without a body and returns the body of a 200 reply, valid until the
// next call.
func (c *loadConn) do(method, target string) ([]byte, error) {
	c.req = append(c.req[:0], method...)
	c.req = append(c.req, ' ')
	c.req = append(c.req, target...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: load\r\nContent-Length: 0\r\n\r\n"...)
	if _, err := c.conn.Write(c.req); err != nil {
		return nil, err
	}
	status, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("%s %s: %s", method, target, bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(name), "Content-Length") {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return nil, fmt.Errorf("%s %s: Content-Length %q", method, target, value)
			}
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("%s %s: no Content-Length", method, target)
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	_, err = io.ReadFull(c.r, c.body)
	return c.body, err
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
