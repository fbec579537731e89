package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"captcha/migrations"
)

// Backup writes a consistent copy of the database to path, which must not exist, while
// the server may go on using it: VACUUM INTO reads one snapshot (a read transaction, which
// in WAL mode holds up no writer) and writes it as a compact database file of its own, with
// no -wal beside it. The copy is readable by its owner alone, like the database.
func (db *DB) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// An empty file is what VACUUM INTO accepts besides none, and this one has the mode.
	if _, err := db.writer.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return syncFile(path)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ErrNotABackup is returned by CheckBackup for a file that is not a database of captcha.
var ErrNotABackup = errors.New("not a captcha database")

// CheckBackup checks that path is a sound SQLite database of a schema this binary knows
// (its migrations are this binary's, or older ones it will bring up to date), without
// changing it, and returns its schema version.
func CheckBackup(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return 0, fmt.Errorf("%w: %s is not a readable SQLite database (%v)", ErrNotABackup, path, err)
	}
	if check != "ok" {
		return 0, fmt.Errorf("%w: %s fails SQLite's check: %s", ErrNotABackup, path, check)
	}
	var version int
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil {
		return 0, fmt.Errorf("%w: %s has no schema version (%v)", ErrNotABackup, path, err)
	}
	ms, err := migrations.Read(migrations.FS)
	if err != nil {
		return 0, err
	}
	if latest := ms[len(ms)-1].Version; version > latest {
		return 0, fmt.Errorf("%w: %s has schema version %d, this binary knows up to %d", ErrSchemaTooNew, path, version, latest)
	}
	for _, m := range ms {
		if m.Version > version {
			break
		}
		var name string
		if err := db.QueryRowContext(ctx, "SELECT name FROM schema_migrations WHERE version = ?", m.Version).Scan(&name); err != nil || name != m.Name {
			return 0, fmt.Errorf("%w: %s does not have this binary's migration %s", ErrNotABackup, path, m.Name)
		}
	}
	return version, nil
}

// Restore replaces the database at path with a copy of the database at from, which
// CheckBackup must have accepted, and which no process may be using. The database it
// replaces is kept beside it, with its -wal, as path.replaced-TIME. The copy is written
// beside path and renamed over it, so that a failure leaves the database as it was.
func Restore(ctx context.Context, from, path string) (replaced string, err error) {
	in, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp := path + ".restoring"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp) // gone by then if all went well
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		replaced = path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		// The -wal first: a database file without its -wal would lose what it holds.
		for _, suffix := range []string{"-wal", "-shm", ""} {
			if err := os.Rename(path+suffix, replaced+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("moving the current database aside: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return replaced, err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return replaced, nil
}
