package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

// What a first delivery sets besides its time (the client network, an escalation's answer
// and difficulty) is saved with it, counted once in key_counts, and loaded back with the key.
func TestFirstDeliverySavesNetworkAndEscalation(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	now := time.UnixMilli(1_700_000_000_000)
	testKey(t, db, app, "plain", now.Add(time.Hour))
	testKey(t, db, app, "harder", now.Add(time.Hour))
	network := service.NetworkID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

	first := func(escalate bool) func(*service.Key) error {
		return func(k *service.Key) error {
			if _, err := k.Deliver(service.NHN, "", service.Image, now); err != nil {
				return err
			}
			k.Network = network
			if escalate {
				k.Answer, k.Options.Length, k.Options.Difficulty, k.Escalated = "ACE234XY", 8, engine.Hard, true
			}
			return nil
		}
	}
	if _, err := db.DeliverKey(ctx, "plain", first(false)); err != nil {
		t.Fatal(err)
	}
	got, err := db.DeliverKey(ctx, "harder", first(true))
	if err != nil || got.Answer != "ACE234XY" || !got.Escalated {
		t.Fatalf("delivered %+v, %v", got, err)
	}
	// A later delivery, on the other channel, keeps all of it.
	if _, err := db.DeliverKey(ctx, "harder", deliver(service.NHN, "", service.Audio, now.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	keyAsTheWriterSeesIt(t, db, "plain") // a write after them: every delivery is committed

	plain, err := db.KeyByID(ctx, "plain")
	if err != nil || plain.Network != network || plain.Escalated || plain.Answer != "ACE234" || plain.Options.Difficulty != engine.Normal {
		t.Errorf("plain key: %+v, %v", plain, err)
	}
	harder, err := db.KeyByID(ctx, "harder")
	if err != nil || harder.Network != network || !harder.Escalated || harder.Answer != "ACE234XY" ||
		harder.Options.Length != 8 || harder.Options.Difficulty != engine.Hard || harder.AudioServedAt.IsZero() {
		t.Errorf("escalated key: %+v, %v", harder, err)
	}
	if e := harder.AppEscalation; e != service.DefaultEscalation() {
		t.Errorf("the key's app's policy: %+v", e)
	}
	var escalated int64
	db.reader.QueryRowContext(ctx, `SELECT sum(escalated) FROM key_counts WHERE app_id = ?`, app.ID).Scan(&escalated)
	if escalated != 1 {
		t.Errorf("%d escalated keys counted, want 1", escalated)
	}

	// The widest update, with attempts and served times at once, keeps them too.
	err = db.UpdateKey(ctx, "plain", func(k *service.Key) (*service.Verification, error) {
		k.Attempts, k.AudioServedAt, k.ExpiresAt = 1, now, now.Add(time.Minute)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if k := keyAsTheWriterSeesIt(t, db, "plain"); k.Network != network || k.Answer != "ACE234" || k.Attempts != 1 {
		t.Errorf("after a wide update: %+v", k)
	}
}

// An app's escalation policy is stored with its other settings.
func TestAppEscalationSettingsRoundTrip(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "k1")
	if got, _ := db.AppByKey(ctx, "k1"); got.Settings.Escalation != service.DefaultEscalation() {
		t.Fatalf("created with %+v", got.Settings.Escalation)
	}
	s := app.Settings
	s.Escalation = service.Escalation{Enabled: false, MinAnswers: 12, BadPercent: 90, FastSolve: 1500 * time.Millisecond}
	if err := db.UpdateApp(ctx, app.ID, app.Name, app.API, s); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.AppByID(ctx, app.ID); got.Settings.Escalation != s.Escalation {
		t.Fatalf("saved %+v, read %+v", s.Escalation, got.Settings.Escalation)
	}
}

// Migration 0006 gives existing apps the default policy and existing keys no network.
func TestMigrationGivesExistingRowsTheDefaults(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	old, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_admin.sql", "0003_counts_per_batch.sql", "0004_app_api.sql",
		"0005_operators_must_change_password.sql"} {
		before[name] = &fstest.MapFile{Data: mustRead(t, name)}
	}
	if err := migrate(ctx, old, before); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO apps (id, name, app_key, secret_hash, api, charset, length, difficulty, width, height, lang,
			key_lifetime_s, max_attempts, created_at) VALUES (1, 'old', 'k1', x'01', 'nhn', 'alnum', 6, 'normal', 240, 80,
			'en', 600, 1, 0)`,
		`INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang, max_attempts, created_at,
			expires_at, image_served_at) VALUES ('key', 1, 'ACE234', 'alnum', 'normal', 240, 80, 'en', 1, 0, 9999999999999, 1)`,
		`INSERT INTO key_counts (app_id, hour, issued, images) VALUES (1, 0, 1, 1)`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if app, err := db.AppByKey(ctx, "k1"); err != nil || app.Settings.Escalation != service.DefaultEscalation() {
		t.Errorf("the old app's policy: %+v, %v", app, err)
	}
	if k, err := db.KeyByID(ctx, "key"); err != nil || !k.Network.IsZero() || k.Escalated || k.Answer != "ACE234" {
		t.Errorf("the old key: %+v, %v", k, err)
	}
	var escalated int64 = -1
	db.reader.QueryRowContext(ctx, `SELECT escalated FROM key_counts WHERE app_id = 1`).Scan(&escalated)
	if escalated != 0 {
		t.Errorf("the old counts' escalated: %d", escalated)
	}
}

// deliver is the delivery the service asks DeliverKey for, without the client network.
func deliver(api service.API, appKey string, ch service.Channel, now time.Time) func(*service.Key) error {
	return func(k *service.Key) error {
		_, err := k.Deliver(api, appKey, ch, now)
		return err
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
