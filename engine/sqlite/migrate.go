package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"captcha/migrations"
)

// ErrSchemaTooNew is returned by Open for a database that a newer binary has migrated.
var ErrSchemaTooNew = errors.New("the database was created by a newer version of captcha")

// migrate applies the migrations db has not seen, each in its own transaction together with
// its row in schema_migrations, so a failed migration leaves no trace. Two processes starting
// at once are safe: transactions begin IMMEDIATE, and each re-checks under the lock.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	ms, err := migrations.Read(fsys)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if latest := ms[len(ms)-1].Version; current > latest {
		return fmt.Errorf("%w: its schema is version %d, this binary knows up to %d; run a newer captcha or restore a backup",
			ErrSchemaTooNew, current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migrations.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	err = tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&done)
	if err != nil || done > 0 {
		return err // nil when another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}
