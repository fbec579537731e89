package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"captcha/engine/service"
)

// What a first delivery saves besides its time, and an app's escalation policy, are checked
// for both stores by the conformance suite (engine/service/storetest).

// Migration 0006 gives existing apps the default policy and existing keys no network.
func TestMigrationGivesExistingRowsTheDefaults(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	old := openAtVersion(t, path, 5)
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
