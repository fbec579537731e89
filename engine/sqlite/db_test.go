package sqlite

import (
	"context"
	"errors"
	"fmt"
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
	if ms, _ := readMigrations(migrations.FS); version != ms[len(ms)-1].version {
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

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := migrations.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadMigrationsRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"init.sql": {}},
		"duplicate": {"0001_a.sql": {}, "0001_b.sql": {}},
		"empty":     {},
	} {
		if _, err := readMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	exp := time.UnixMilli(1_700_000_600_000)
	want := testKey(t, db, app, "key1", exp)
	got, err := db.KeyByID(ctx, "key1")
	if err != nil {
		t.Fatal(err)
	}
	if got.AppKey != "k1" || !got.AppEnabled || got.Answer != want.Answer || got.Options != want.Options ||
		!got.ExpiresAt.Equal(exp) || !got.ImageServedAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	served := exp.Add(-30 * time.Second)
	db.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
		k.ImageServedAt = served
		return nil, nil
	})
	got, _ = db.KeyByID(ctx, "key1")
	if !got.ImageServedAt.Equal(served) || !got.AudioServedAt.IsZero() {
		t.Fatalf("served at %v / %v", got.ImageServedAt, got.AudioServedAt)
	}
	if _, err := db.KeyByID(ctx, "nope"); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := db.AppByKey(ctx, "nope"); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("missing app: %v", err)
	}
}

func TestUpdateKeyWritesOnlyWithoutError(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	testKey(t, db, app, "key1", time.UnixMilli(1_700_000_600_000))
	boom := errors.New("boom")
	err := db.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
		k.Attempts, k.Consumed = 1, true
		return &service.Verification{AppID: app.ID, Outcome: service.Wrong, Channel: service.NoChannel}, boom
	})
	if err != boom {
		t.Fatalf("got %v", err)
	}
	k, _ := db.KeyByID(ctx, "key1")
	if k.Attempts != 0 || k.Consumed || countRows(t, db, "verifications") != 0 {
		t.Fatal("a failed update wrote")
	}
	err = db.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
		k.Attempts, k.Consumed = 1, true
		return &service.Verification{AppID: app.ID, Outcome: service.Passed, Channel: service.Image,
			Served: true, ResponseTime: 1500 * time.Millisecond, At: time.UnixMilli(1_700_000_100_000)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k, _ = db.KeyByID(ctx, "key1")
	if k.Attempts != 1 || !k.Consumed || countRows(t, db, "verifications") != 1 {
		t.Fatal("the update was not saved")
	}
	if err := db.UpdateKey(ctx, "nope", nil); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.reader.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteExpiredKeysCountsUnsolved(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	now := time.UnixMilli(1_700_000_000_000)
	testKey(t, db, app, "old-unsolved", now.Add(-time.Second))
	testKey(t, db, app, "old-solved", now.Add(-time.Second))
	testKey(t, db, app, "live", now.Add(time.Second))
	db.UpdateKey(ctx, "old-solved", func(k *service.Key) (*service.Verification, error) {
		k.Consumed = true
		return nil, nil
	})
	deleted, unsolved, err := db.DeleteExpiredKeys(ctx, now)
	if err != nil || deleted != 2 || unsolved != 1 {
		t.Fatalf("deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
	if _, err := db.KeyByID(ctx, "live"); err != nil {
		t.Error("a live key was deleted")
	}
}

// More expired keys than one batch holds are all deleted.
func TestDeleteExpiredKeysInBatches(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	now := time.UnixMilli(1_700_000_000_000)
	_, err := db.writer.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang, max_attempts, created_at, expires_at)
		SELECT 'k' || i, ?, 'ACE234', 'alnum', 'normal', 240, 80, 'en', 1, 0, ? FROM n`,
		2*deleteBatch+5, app.ID, millis(now)-1)
	if err != nil {
		t.Fatal(err)
	}
	deleted, unsolved, err := db.DeleteExpiredKeys(ctx, now)
	if err != nil || deleted != 2*deleteBatch+5 || unsolved != deleted || countRows(t, db, "keys") != 0 {
		t.Fatalf("deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
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

func TestDeleteAppCascades(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	testKey(t, db, app, "key1", time.UnixMilli(1_700_000_600_000))
	db.UpdateKey(ctx, "key1", func(*service.Key) (*service.Verification, error) {
		return &service.Verification{AppID: app.ID, Outcome: service.Wrong, Channel: service.NoChannel}, nil
	})
	if err := db.SetAppEnabled(ctx, "k1", false); err != nil {
		t.Fatal(err)
	}
	if k, _ := db.KeyByID(ctx, "key1"); k.AppEnabled {
		t.Error("key of a disabled app reports it enabled")
	}
	if err := db.DeleteApp(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if countRows(t, db, "keys")+countRows(t, db, "verifications") != 0 {
		t.Error("the app's keys or records survived it")
	}
	if err := db.DeleteApp(ctx, "k1"); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("second delete: %v", err)
	}
	if err := db.SetAppEnabled(ctx, "k1", true); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("enable deleted: %v", err)
	}
}

// deliver is the delivery the service asks DeliverKey for, without the client network.
func deliver(api service.API, appKey string, ch service.Channel, now time.Time) func(*service.Key) error {
	return func(k *service.Key) error {
		_, err := k.Deliver(api, appKey, ch, now)
		return err
	}
}

// DeliverKey follows service.Key.Deliverable in every state a key can be in, and records
// only a first delivery, on its own channel.
func TestDeliverKeyFollowsTheRule(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	mine, theirs := testApp(t, db, "mine"), testApp(t, db, "theirs")
	if err := db.SetAppEnabled(ctx, "theirs", false); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	earlier := now.Add(-time.Second)
	n := 0
	for _, app := range []*service.App{mine, theirs} {
		for _, consumed := range []bool{false, true} {
			for _, expires := range []time.Time{now.Add(-time.Millisecond), now, now.Add(time.Millisecond)} {
				for _, served := range []time.Time{{}, earlier} {
					for _, ch := range []service.Channel{service.Image, service.Audio} {
						for _, asked := range []string{"", "mine", "theirs"} {
							for _, api := range []service.API{service.NHN, service.Naver} {
								n++
								id := fmt.Sprintf("key%03d", n)
								testKey(t, db, app, id, expires)
								db.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
									k.Consumed, k.ImageServedAt = consumed, served
									return nil, nil
								})
								before, err := db.KeyByID(ctx, id)
								if err != nil {
									t.Fatal(err)
								}
								want := before.Deliverable(api, asked, now)
								got, err := db.DeliverKey(ctx, id, deliver(api, asked, ch, now))
								if err != want {
									t.Fatalf("%s of %+v asked by %q in %s: got %v, want %v", ch, before, asked, api, err, want)
								}
								after := keyAsTheWriterSeesIt(t, db, id)
								wantImage, wantAudio := before.ImageServedAt, before.AudioServedAt
								if want == nil && ch == service.Image && wantImage.IsZero() {
									wantImage = now
								}
								if want == nil && ch == service.Audio {
									wantAudio = now
								}
								if !after.ImageServedAt.Equal(wantImage) || !after.AudioServedAt.Equal(wantAudio) {
									t.Fatalf("%s of %+v: served at %v / %v", ch, before, after.ImageServedAt, after.AudioServedAt)
								}
								if want == nil && (got.Answer != before.Answer || got.Options != before.Options ||
									got.ID != id || got.AppKey != app.AppKey || got.AppAPI != app.API || !got.ServedAt(ch).Equal(after.ServedAt(ch))) {
									t.Fatalf("delivered %+v, stored %+v", got, after)
								}
							}
						}
					}
				}
			}
		}
	}
	if _, err := db.DeliverKey(ctx, "nope", deliver(service.NHN, "", service.Image, now)); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

// keyAsTheWriterSeesIt reads a key through the writer, which sees deliveries that are not
// committed yet.
func keyAsTheWriterSeesIt(t *testing.T, db *DB, id string) *service.Key {
	t.Helper()
	var seen service.Key
	err := db.UpdateKey(context.Background(), id, func(k *service.Key) (*service.Verification, error) {
		seen = *k
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &seen
}
