package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"captcha/engine/sqlite"
)

// A backup taken while the server issues keys under load holds every key issued before it
// began, and restored (refused while the server runs) they all verify.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	bin := buildBinary(t)
	t.Setenv("CAPTCHA_RATE_LIMITS", "off")
	data := filepath.Join(t.TempDir(), "data")
	appKey, _ := createAppWith(t, bin, data, "backed up", "nhn")
	server, base := startServer(t, bin, data)
	captcha := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "-data", data)...)
		cmd.Env = append(os.Environ(), "CAPTCHA_CONFIG=", "CAPTCHA_DATABASE_URL=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	var mu sync.Mutex
	var issued []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, key, err := tryIssue(client, base, appKey)
				if err != nil || code != 0 {
					t.Errorf("issuing: %d, %v", code, err)
					return
				}
				mu.Lock()
				issued = append(issued, key)
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	before := append([]string(nil), issued...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "copy.db")
	out, err := captcha("backup", "-out", backup)
	time.Sleep(200 * time.Millisecond) // and the load goes on after it
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the backup: %v, %v", fi, err)
	}
	if out, err := captcha("backup", "-out", backup); err == nil {
		t.Errorf("a backup over an existing file: %s", out)
	}
	if len(before) < 10 {
		t.Fatalf("only %d keys issued before the backup", len(before))
	}

	if out, err := captcha("restore", "-in", backup); err == nil || !strings.Contains(out, "in use") {
		t.Fatalf("restore while the server runs: %v\n%s", err, out)
	}
	server.Process.Signal(syscall.SIGTERM)
	server.Wait()
	if out, err := captcha("restore", "-in", filepath.Join(data, "initial-admin-password")); err == nil ||
		!strings.Contains(out, "not a captcha database") {
		t.Fatalf("restoring a file that is no database: %v\n%s", err, out)
	}
	out, err = captcha("restore", "-in", backup)
	if err != nil || !strings.Contains(out, "kept as") {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	_, base = startServer(t, bin, data)
	db, err := sqlite.Open(context.Background(), filepath.Join(data, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, key := range before {
		k, err := db.KeyByID(context.Background(), key)
		if err != nil {
			t.Fatalf("key %s, issued before the backup, after restoring it: %v", key, err)
		}
		if code := nhnVerify(t, base, appKey, key, k.Answer); code != 0 {
			t.Fatalf("verifying key %s after the restore: %d", key, code)
		}
	}
	t.Logf("%d keys issued before the backup, %d in all; all of the first verify after the restore", len(before), len(issued))
}

// restore checks what it is given before it touches the database.
func TestRestoreRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "newer.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Bulk(ctx, func(exec func(string, ...any) error) error {
		return exec("INSERT INTO schema_migrations VALUES (9999, '9999_future', 0)")
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.CheckBackup(ctx, path); err == nil || !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Fatalf("a newer schema: %v", err)
	}
	var stdout, stderr strings.Builder
	err = run(ctx, []string{"restore", "-in", path, "-data", filepath.Join(dir, "data")}, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("restore of a newer schema: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", sqlite.FileName)); !os.IsNotExist(err) {
		t.Errorf("a refused restore left a database: %v", err)
	}
}
