package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"captcha/engine"
	"captcha/engine/service"
	"captcha/migrations"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testApp(t *testing.T, db *DB, appKey string) *service.App {
	t.Helper()
	app := &service.App{Name: "test", AppKey: appKey, SecretHash: []byte{1}, Enabled: true, API: service.NHN,
		Settings: service.DefaultAppSettings(), CreatedAt: time.UnixMilli(1_700_000_000_000)}
	if err := db.CreateApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	return app
}

func testKey(t *testing.T, db *DB, app *service.App, id string, expires time.Time) *service.Key {
	t.Helper()
	k := &service.Key{ID: id, AppID: app.ID, Answer: "ACE234", Options: engine.DefaultOptions(), MaxAttempts: 1,
		CreatedAt: expires.Add(-time.Minute), ExpiresAt: expires}
	if err := db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestOpenSetsPragmasAndMigrates(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "5000"} {
		var got string
		if err := db.writer.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer %s = %s, want %s", pragma, got, want)
		}
	}
	var version int
	db.reader.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version)
	if ms, _ := migrations.Read(migrations.FS); version != ms[len(ms)-1].Version {
		t.Errorf("schema version %d, want the last embedded migration's", version)
	}
	if _, err := db.reader.ExecContext(ctx, "DELETE FROM apps"); err == nil {
		t.Error("the read pool accepted a write")
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

func TestReopenKeepsDataAndSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := db.ServerSecret(ctx)
	again, _ := db.ServerSecret(ctx)
	if len(secret) != 32 || string(secret) != string(again) {
		t.Fatalf("secret %x then %x", secret, again)
	}
	app := testApp(t, db, "k1")
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, _ := db.ServerSecret(ctx); string(s) != string(secret) {
		t.Error("the secret changed across a reopen")
	}
	got, err := db.AppByKey(ctx, "k1")
	if err != nil || got.ID != app.ID || got.Settings != app.Settings {
		t.Errorf("app after reopen: %+v, %v", got, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.writer.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (9999, '9999_future', 0)")
	db.Close()
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("got %v", err)
	}
}

// A failing migration leaves neither its changes nor its record behind.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	// The broken one is numbered above every real migration, so that it is the one pending.
	fsys := fstest.MapFS{
		"0001_init.sql":   {Data: mustRead(t, "0001_init.sql")},
		"9000_broken.sql": {Data: []byte("CREATE TABLE half (x INTEGER); THIS IS NOT SQL;")},
	}
	if err := migrate(ctx, db.writer, fsys); err == nil {
		t.Fatal("a broken migration applied")
	}
	var n int
	db.writer.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'half'").Scan(&n)
	if n != 0 {
		t.Error("the broken migration's table exists")
	}
	db.writer.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = 9000").Scan(&n)
	if n != 0 {
		t.Error("the broken migration is recorded")
	}
}

// openAtVersion opens a database file at path migrated up to migration version only, as an
// older binary left it, so that a test can fill it before the newer migrations run.
func openAtVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrations.Read(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, m := range all {
		if m.Version <= version {
			before[m.Name+".sql"] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	if err := migrate(context.Background(), db, before); err != nil {
		t.Fatal(err)
	}
	return db
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := migrations.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.reader.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVerificationRetentionAndHourlyStats(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	a, b := testApp(t, db, "a"), testApp(t, db, "b")
	hour := time.UnixMilli(1_700_000_000_000).Truncate(time.Hour)
	record := func(app *service.App, at time.Time, o service.Outcome, rt time.Duration) {
		t.Helper()
		id := app.AppKey + at.String() + string(o)
		testKey(t, db, app, id, at.Add(time.Hour))
		if err := db.UpdateKey(ctx, id, func(*service.Key) (*service.Verification, error) {
			return &service.Verification{AppID: app.ID, Outcome: o, Channel: service.Image, Served: true, ResponseTime: rt, At: at}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	record(a, hour.Add(-100*24*time.Hour), service.Passed, time.Second) // past retention
	record(b, hour.Add(-100*24*time.Hour), service.Passed, time.Second) // past retention
	record(a, hour.Add(10*time.Minute), service.Passed, 2*time.Second)
	record(a, hour.Add(20*time.Minute), service.Passed, 4*time.Second)
	record(a, hour.Add(30*time.Minute), service.Wrong, time.Second)
	record(a, hour.Add(70*time.Minute), service.Passed, time.Second)
	record(b, hour.Add(10*time.Minute), service.Passed, time.Second)

	countHours := func() (n int) {
		t.Helper()
		if err := db.reader.QueryRow(`SELECT count(*) FROM key_counts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	hoursBefore := countHours()
	// Two verification records and the two apps' key counts of the old hour go.
	n, err := db.DeleteStatsBefore(ctx, hour.Add(-90*24*time.Hour))
	if err != nil || n != 4 || countHours() != hoursBefore-2 {
		t.Fatalf("deleted %d, %v; key_counts rows %d, then %d", n, err, hoursBefore, countHours())
	}
	got, err := db.VerificationsByHour(ctx, a.ID, hour, hour.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []HourCount{
		{hour, service.Passed, 2, 3 * time.Second},
		{hour, service.Wrong, 1, time.Second},
		{hour.Add(time.Hour), service.Passed, 1, time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if !got[i].Hour.Equal(want[i].Hour) || got[i].Outcome != want[i].Outcome || got[i].Count != want[i].Count ||
			got[i].MeanResponse != want[i].MeanResponse {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// The statistics query must use the index, or it slows down as the table grows.
	var plan strings.Builder
	rows, _ := db.reader.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT count(*) FROM verifications
		WHERE app_id = 1 AND created_at >= 0 AND created_at < 1`)
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan.WriteString(detail)
	}
	rows.Close()
	if !strings.Contains(plan.String(), "verifications_by_app_time") {
		t.Errorf("plan does not use the index: %s", plan.String())
	}
}
