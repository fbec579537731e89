// Package sqlite implements service.Store on SQLite (modernc.org/sqlite, pure Go, so the
// binary builds with CGO_ENABLED=0).
//
// One database file holds everything. Writes go through a pool of exactly one connection, so
// they never contend for SQLite's single write lock inside a process and every write
// transaction is serialized, which is what makes a verification atomic; reads go through a
// separate pool of several connections, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"captcha/migrations"
)

// FileName is the database's name inside the data directory.
const FileName = "captcha.db"

// pragmas are applied to every connection, busy_timeout first so that none of the others can
// fail on a lock another process holds.
//
//   - busy_timeout: wait up to 5 s for another process's write lock instead of failing.
//   - journal_mode WAL: readers never block the writer nor the writer readers.
//   - synchronous NORMAL: in WAL mode a commit is written to the WAL before it returns and
//     survives the process being killed at any point (the operating system holds the data);
//     only a power loss or kernel crash can lose the last commits, never corrupt the file.
//     FULL would fsync every commit, several per challenge, which costs more than drawing
//     the challenge; losing a few seconds of challenges to a power cut only makes those
//     users ask for a new one.
//   - foreign_keys: deleting an app deletes its keys and records.
//   - temp_store MEMORY: the savepoints of group commit (batch.go) keep their undo records in
//     memory rather than in temporary files.
var pragmas = []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)",
	"temp_store(MEMORY)"}

// DB is the store. It is safe for concurrent use.
type DB struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	stmts  statements
	batch  *batcher // the request path's writes, committed in groups
	ckpt   *checkpointer
}

// Open opens (creating it and its directory if needed) the database at path, brings its
// schema up to date and refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, path string) (*DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database path %q: ? and # are not allowed in the path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	if err := createOwnersOnly(path); err != nil {
		return nil, err
	}
	// The writer begins every transaction IMMEDIATE: it takes the write lock at BEGIN, so a
	// transaction that reads then writes cannot fail halfway on a lock another process took
	// after its read.
	// It never checkpoints: the checkpointer does, off the request path (checkpoint.go).
	writer, err := sql.Open("sqlite", dsn(path, "_txlock=immediate", "_pragma=cache_size(-16384)",
		"_pragma=wal_autocheckpoint(0)"))
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	db := &DB{path: path, writer: writer}
	if err := migrate(ctx, writer, migrations.FS); err != nil {
		writer.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	// SQLite has created the -wal and -shm by now, with the database file's mode; ones left
	// by an older version that did not close cleanly keep theirs, so they are checked too.
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if err := restrictToOwner(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			writer.Close()
			return nil, err
		}
	}
	// A small page cache for readers: in WAL mode a read connection discards its cache
	// whenever another connection has written since its last read, which under load is
	// every time, so a large one would only hold memory. The writer's stays warm.
	reader, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)", "_pragma=cache_size(-1024)"))
	if err != nil {
		writer.Close()
		return nil, err
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	db.reader = reader
	if err := db.stmts.prepare(ctx, reader); err != nil {
		db.Close()
		return nil, err
	}
	ckpt, err := sql.Open("sqlite", dsn(path, "_pragma=cache_size(-256)"))
	if err != nil {
		db.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	db.ckpt = newCheckpointer(ckpt)
	db.batch = newBatcher(writer)
	return db, nil
}

// createOwnersOnly creates the database file, empty, unless it exists, and makes it
// readable and writable by its owner alone: it holds the server's secret and the answers of
// live keys. SQLite would create it with 0644 less the umask, and on unix it gives the -wal
// and -shm it creates the database file's mode, so this covers them too.
func createOwnersOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	f.Close()
	return restrictToOwner(path)
}

// restrictToOwner sets path's mode to 0600 unless it is already, whatever the umask.
func restrictToOwner(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == 0o600 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("%s has mode %v and could not be made its owner's alone (%w): run `chmod 600 %s` as its owner",
			path, fi.Mode().Perm(), err, path)
	}
	return nil
}

func dsn(path string, extra ...string) string {
	params := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		params = append(params, "_pragma="+p)
	}
	return path + "?" + strings.Join(append(params, extra...), "&")
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools. The last connection to close checkpoints the WAL into the file.
func (db *DB) Close() error {
	if db.batch != nil {
		db.batch.close()
	}
	if db.ckpt != nil {
		db.ckpt.close()
	}
	db.stmts.close()
	var errs []error
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	errs = append(errs, db.writer.Close())
	return errors.Join(errs...)
}

// Ping checks that a read reaches the database file.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.reader.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
}

// IntegrityCheck runs PRAGMA integrity_check and returns nil when it says "ok".
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.reader.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Bulk runs fn inside one write transaction; exec runs a statement in it. It is for loading
// data in bulk (benchmarks, imports): one transaction writes far faster than many.
func (db *DB) Bulk(ctx context.Context, fn func(exec func(query string, args ...any) error) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// Checkpoint copies the WAL into the database file and truncates it, as after a bulk load,
// so that the next automatic checkpoint does not fall on a request.
func (db *DB) Checkpoint(ctx context.Context) error {
	_, err := db.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
