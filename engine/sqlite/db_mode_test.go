//go:build unix

package sqlite

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// withUmask runs the rest of the test under umask, which is the process's: no test of this
// package runs in parallel.
func withUmask(t *testing.T, umask int) {
	t.Helper()
	old := syscall.Umask(umask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

// The database holds the server's secret and the answers of live keys: the file and
// SQLite's -wal and -shm beside it are readable by their owner alone, whatever the umask.
func TestDatabaseFilesAreTheOwnersAlone(t *testing.T) {
	withUmask(t, 0)
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testApp(t, db, "mode-test") // a write, so that the WAL has content
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		checkMode(t, p, 0o600)
	}
}

// A database left readable by an older version (and the -wal and -shm of one that did not
// close cleanly) is made the owner's alone when it is opened.
func TestOpenTightensAnExistingDatabase(t *testing.T) {
	withUmask(t, 0o022)
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	testApp(t, db, "mode-test")
	db.Close() // which removes the -wal and -shm: leave empty ones, as a crash would
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		checkMode(t, p, 0o600)
	}
	if _, err := db.AppByKey(context.Background(), "mode-test"); err != nil {
		t.Errorf("the data after reopening: %v", err)
	}
}
