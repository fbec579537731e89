package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"captcha/engine/service"
)

// Migration 0004 gives each app of an older database the dialect its recorded use shows:
// nhn for a trace only the NHN dialect leaves (and the demo app), naver otherwise.
func TestMigrationChoosesEachAppsAPIFromItsUse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	old := openAtVersion(t, path, 3)
	want := map[int64]service.API{}
	app := func(name string, api service.API) int64 {
		t.Helper()
		res, err := old.ExecContext(ctx, `INSERT INTO apps (name, app_key, secret_hash, charset, length, difficulty,
			width, height, lang, key_lifetime_s, max_attempts, created_at)
			VALUES (?, ?, x'01', 'alnum', 6, 'normal', 240, 80, 'en', 600, 1, 0)`, name, fmt.Sprintf("appkey%d", len(want)))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		want[id] = api
		return id
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, query, args...); err != nil {
			t.Fatal(err)
		}
	}
	verification := func(app int64, outcome, channel string) {
		exec(`INSERT INTO verifications (app_id, outcome, channel, created_at) VALUES (?, ?, ?, 0)`, app, outcome, channel)
	}
	key := func(app int64, id string, attempts int, consumed bool) {
		exec(`INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang, max_attempts,
			attempts, consumed, created_at, expires_at) VALUES (?, ?, 'ACE234', 'alnum', 'normal', 240, 80, 'en', 1, ?, ?, 0, 1)`,
			id, app, attempts, consumed)
	}

	app("demo", service.NHN)   // the demo page loads images by NHN's URLs
	app("demo", service.Naver) // a customer's app that happens to share the name
	verification(app("answered unseen", service.NHN), "passed", "none")
	verification(app("wrong unseen", service.NHN), "wrong", "none")
	key(app("expired by DELETE", service.NHN), "k1", 0, true)
	seen := app("answered after delivery", service.Naver)
	verification(seen, "passed", "image")
	verification(seen, "wrong", "audio")
	verification(app("used up, unseen", service.Naver), "used_up", "none") // either dialect records it
	verification(app("expired, unseen", service.Naver), "expired", "none")
	key(app("used up by an answer", service.Naver), "k2", 1, true)
	key(app("live key", service.Naver), "k3", 0, false)
	app("never used", service.Naver)
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	apps, err := db.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != len(want) {
		t.Fatalf("%d apps after the migration", len(apps))
	}
	for _, a := range apps {
		if a.API != want[a.ID] {
			t.Errorf("app %d, %q, became %q, want %q", a.ID, a.Name, a.API, want[a.ID])
		}
	}
}
