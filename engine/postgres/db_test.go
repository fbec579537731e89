package postgres

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"captcha/engine"
	"captcha/engine/postgres/pgtest"
	"captcha/engine/service"
	"captcha/engine/service/servicetest"
	"captcha/engine/service/storetest"
	"captcha/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTestDB opens the store on a fresh database of the shared test server.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.Shared(t).NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The conformance suite of service.Store, which engine/sqlite runs too.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) service.Store { return openTestDB(t) })
}

// Nodes starting together on an empty database apply the migrations once between them and
// share one server secret.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	const nodes = 6
	secrets := make([][]byte, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			db, err := Open(ctx, url, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			if secrets[i], err = db.ServerSecret(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range secrets {
		if len(secrets[i]) != 32 || string(secrets[i]) != string(secrets[0]) {
			t.Fatalf("node %d has the secret %x, node 0 %x", i, secrets[i], secrets[0])
		}
	}
	db := openURL(t, url)
	ms, _ := migrations.Read(migrations.Postgres())
	var n, version int
	if err := db.pool.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || version != ms[len(ms)-1].Version {
		t.Errorf("%d migrations recorded up to %d; %d embedded", n, version, len(ms))
	}
}

func openURL(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	db := openURL(t, url)
	if _, err := db.Exec(ctx, "INSERT INTO schema_migrations VALUES (9999, '9999_future', 0)"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, url, Options{})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("got %v", err)
	}
}

// A failing migration leaves neither its changes nor its record behind.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	db := openURL(t, url)
	ctx := context.Background()
	first, err := fs.ReadFile(migrations.Postgres(), "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"0001_init.sql":   {Data: first},
		"9000_broken.sql": {Data: []byte("CREATE TABLE half (x INTEGER); THIS IS NOT SQL;")},
	}
	if err := migrate(ctx, db.pool, fsys); err == nil {
		t.Fatal("a broken migration applied")
	}
	var n int
	db.pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'").Scan(&n)
	if n != 0 {
		t.Error("the broken migration's table exists")
	}
	db.pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = 9000").Scan(&n)
	if n != 0 {
		t.Error("the broken migration is recorded")
	}
	// The lock was let go: the next start migrates as usual.
	openURL(t, url)
}

// Of 64 concurrent right answers to one key, spread over four nodes (four stores, each
// with its own pool, as four processes have), exactly one passes.
func TestSingleUseAcrossNodes(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	var nodes []*service.Service
	for range 4 {
		svc, err := service.New(ctx, openURL(t, url), nil, service.Options{})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, svc)
	}
	app, _, err := nodes[0].CreateApp(ctx, "shop", service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	k, err := nodes[1].IssueKey(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	var passed, usedUp atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 64 {
		wg.Go(func() {
			<-start
			_, err := nodes[i%len(nodes)].Verify(ctx, app, k.ID, k.Answer, service.NoChannel)
			switch {
			case err == nil:
				passed.Add(1)
			case errors.Is(err, service.ErrKeyUsedUp):
				usedUp.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if passed.Load() != 1 || usedUp.Load() != 63 {
		t.Fatalf("%d passed, %d used up", passed.Load(), usedUp.Load())
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://h/db?password=secret":               "postgres://h/db?password=xxxxx",
		"postgresql://u@h/db":                           "postgresql://u@h/db",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "secret") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// What a node remembers of the keys it wrote (keycache.go) never decides against what
// another node changed since: a key served by B verifies on A, which issued it; a key
// used up on B is used up on A, which served it.
func TestNodesSeeEachOthersChanges(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	clock := servicetest.NewClock(time.Now().Truncate(time.Millisecond))
	node := func() *service.Service {
		svc, err := service.New(ctx, openURL(t, url), fakeRenderer{}, service.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	a, b := node(), node()
	app, _, err := a.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	k, err := a.IssueKey(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyImage(ctx, service.Naver, k.ID, app.AppKey, ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if res, err := a.Verify(ctx, app, k.ID, k.Answer, service.Image); err != nil || res.ResponseTime != time.Second {
		t.Fatalf("verifying on A a key A issued and B served: %+v, %v", res, err)
	}

	k, _ = a.IssueKey(ctx, app)
	if _, err := a.KeyImage(ctx, service.Naver, k.ID, app.AppKey, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, app, k.ID, k.Answer, service.Image); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, app, k.ID, k.Answer, service.Image); !errors.Is(err, service.ErrKeyUsedUp) {
		t.Fatalf("verifying on A a key A served and B used up: %v", err)
	}
	if err := b.ExpireKey(ctx, app, k.ID); err != nil {
		t.Fatal(err)
	}

	k, _ = a.IssueKey(ctx, app)
	a.KeyImage(ctx, service.Naver, k.ID, app.AppKey, "")
	if err := b.ExpireKey(ctx, app, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, app, k.ID, k.Answer, service.Image); !errors.Is(err, service.ErrKeyUsedUp) {
		t.Fatalf("verifying on A a key B expired: %v", err)
	}
}

type fakeRenderer struct{}

func (fakeRenderer) Image(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	return append([]byte(answer), seed[:]...), nil
}

func (fakeRenderer) Audio(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	return append([]byte(answer), seed[:]...), nil
}
