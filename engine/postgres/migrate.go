package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"captcha/migrations"
)

// ErrSchemaTooNew is returned by Open for a database that a newer binary has migrated.
var ErrSchemaTooNew = errors.New("the database was created by a newer version of captcha")

// migrationLock is the key of the advisory lock that migrations are applied under: any
// number picked once, the same in every version, so that nodes starting together take
// turns and each sees what the one before applied.
const migrationLock = 0x63617074636861 // "captcha"

// migrate applies the migrations the database has not seen, each in its own transaction
// together with its row in schema_migrations, so that a failed migration leaves no trace.
// It holds an advisory lock throughout, on one connection: nodes starting at once apply
// each migration once, one after the other, and none reads the schema half migrated.
func migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	ms, err := migrations.Read(fsys)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("waiting for the migration lock: %w", err)
	}
	// Released explicitly, since the connection goes back to the pool; if this fails, the
	// connection is broken and the server has let go of the lock with it.
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
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
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
