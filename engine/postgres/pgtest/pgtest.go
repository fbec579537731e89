// Package pgtest starts throwaway PostgreSQL servers for tests, the way
// net/http/httptest starts HTTP servers: a cluster made by initdb in a temporary directory,
// run by the postgres binary of the machine (Debian's, under /usr/lib/postgresql/*/bin, or
// one on the PATH) on a free loopback port, as a user other than root (PostgreSQL refuses
// to run as root: under root, as the postgres user the Debian package creates, or nobody).
//
// Where PostgreSQL is not installed, a test that asks for a server is skipped with a message
// saying how to install it; under CI=true it fails instead, so that CI cannot pass without
// having run the PostgreSQL tests (.ci/run installs it).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options say how the server runs.
type Options struct {
	// Durable keeps PostgreSQL's defaults: every commit is flushed to disk (fsync).
	// Without it, it is not, which tests of behaviour do not need and which makes them
	// faster; benchmarks that compare stores want it.
	Durable bool
}

// Server is a PostgreSQL server of the test's own.
type Server struct {
	dir     string // the cluster (data/), its log and its socket
	bin     string // the directory of initdb and postgres
	port    int
	opts    Options
	cred    *syscall.Credential // nil unless running as root
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	nextDB  atomic.Int64
	stopped bool
}

// findBinaries returns the directory holding initdb and postgres, the newest version's.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "postgres")) && isExecutable(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (no initdb and postgres under /usr/lib/postgresql/*/bin " +
		"or on the PATH): apt-get install postgresql")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&0o111 != 0
}

// Available says whether a server can be started, and if not why.
func Available() error {
	_, err := findBinaries()
	return err
}

// unavailable skips the test, or fails it under CI.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL is required under CI=true: %v", err)
	}
	tb.Skipf("skipping the PostgreSQL tests: %v", err)
}

// Start starts a server for tb and stops it, removing its files, when tb ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	s, err := start(o)
	if s == nil && err != nil {
		unavailable(tb, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

var shared struct {
	once sync.Once
	s    *Server
	err  error
}

// Shared returns the server every test of this test binary shares, started by the first
// that asks for it (without Durable). Main stops it; a test package that calls Shared runs
// its tests with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.s, shared.err = start(Options{}) })
	if shared.s == nil && shared.err != nil {
		unavailable(tb, shared.err)
	}
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.s
}

// Main runs the tests and then stops the shared server, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		shared.s.Close()
	}
	os.Exit(code)
}

// start returns a nil server with an error when PostgreSQL is not installed, a server with
// an error when it could not start it.
func start(o Options) (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	// A short path: the socket's must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "captcha-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, opts: o}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivileged(); err != nil {
			os.RemoveAll(dir)
			return s, err
		}
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return s, err
		}
	}
	out, err := s.command("initdb", "-D", s.dataDir(), "-U", "captcha", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return s, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			err = s.Restart()
		}
		if err == nil || attempt == 4 {
			break
		}
	}
	if err != nil {
		s.Close()
		return s, err
	}
	return s, nil
}

// unprivileged is the user the server runs as when the tests run as root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// command runs one of PostgreSQL's programs as the server's user.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// It dies with the test binary however that ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Credential: s.cred}
	return cmd
}

// Restart starts the server again after Stop or Kill (the first start too), on the same
// port, and waits until it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("pgtest: the server is running")
	}
	args := []string{"-D", s.dataDir(), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "log_min_messages=warning"}
	if !s.opts.Durable {
		// Commits still reach the operating system before they return, so that a server
		// killed (Stop) loses nothing committed, as a real one would not; only a crash of
		// the machine would.
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	cmd := s.command("postgres", args...)
	logFile, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second) // a loaded two-core machine starts slowly
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			s.cmd, s.exited, s.stopped = cmd, exited, false
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			return fmt.Errorf("postgres exited at start: %s", lastLines(string(log), 10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return errors.New("postgres did not accept connections within 60 s")
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// URL is the address of database db on the server, over TCP on the loopback.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://captcha@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database for tb, dropped when tb ends, and returns its URL.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d", s.nextDB.Add(1))
	if err := s.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if running {
			s.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
		}
	})
	return s.URL(name)
}

// admin runs a statement on the maintenance database.
func (s *Server) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// signal sends sig to the postmaster, or also to every process it started (its backends
// and helpers, which PostgreSQL puts in sessions of their own).
func (s *Server) signal(sig syscall.Signal, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("pgtest: the server is not running")
	}
	pid := s.cmd.Process.Pid
	if all {
		for _, child := range children(pid) {
			syscall.Kill(child, sig)
		}
	}
	return syscall.Kill(pid, sig)
}

// CPU is the processor time the server has used so far: its processes' and that of those
// of its children that have exited, from /proc (zero elsewhere than Linux).
func (s *Server) CPU() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	pid := s.cmd.Process.Pid
	ticks := cpuTicks(pid, true)
	for _, child := range children(pid) {
		ticks += cpuTicks(child, false)
	}
	// The kernel counts in clock ticks of USER_HZ, 100 a second on every Linux platform.
	return time.Duration(ticks) * (time.Second / 100)
}

// cpuTicks reads the user and system time of pid, and with exited that of its children
// that have exited and been waited for.
func cpuTicks(pid int, exited bool) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After "pid (comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var sum int64
	for i, f := range fields {
		field := i + 3
		if field == 14 || field == 15 || (exited && (field == 16 || field == 17)) {
			n, _ := strconv.ParseInt(f, 10, 64)
			sum += n
		}
	}
	return sum
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after
		// the last ')'.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// Stop shuts the server down at once (PostgreSQL's immediate mode: connections are cut,
// nothing is flushed, as when its machine fails) and waits until it has exited.
func (s *Server) Stop() error {
	if err := s.signal(syscall.SIGQUIT, false); err != nil {
		return err
	}
	return s.wait()
}

func (s *Server) wait() error {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		s.signal(syscall.SIGKILL, true)
		<-exited
	}
	s.mu.Lock()
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	return nil
}

// Pause stops every process of the server (SIGSTOP) without closing anything: its
// connections stay open and answer nothing, as when the network to it fails. Resume undoes
// it.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP, true) }

// Resume lets a paused server go on.
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT, true) }

// Close stops the server, if it runs, and removes its files.
func (s *Server) Close() {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		s.signal(syscall.SIGCONT, true) // a paused server cannot shut down
		// Fast shutdown: connections are cut, and the files are about to go anyway.
		s.signal(syscall.SIGINT, false)
		s.wait()
	}
	os.RemoveAll(s.dir)
}
