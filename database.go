package main

import (
	"context"
	"path/filepath"

	"captcha/engine/postgres"
	"captcha/engine/service"
	"captcha/engine/sqlite"
)

// database is what the commands need of a store: the service's part and the admin UI's.
// engine/sqlite and engine/postgres both are one.
type database interface {
	service.Store
	service.OperatorStore
	// Path names the database for logs: SQLite's file, or PostgreSQL's URL without its
	// password.
	Path() string
	Close() error
}

var (
	_ database = (*sqlite.DB)(nil)
	_ database = (*postgres.DB)(nil)
)

// openDatabase opens the database the configuration names: PostgreSQL at database_url, or
// else SQLite in the data directory.
func openDatabase(ctx context.Context, cfg Config) (database, error) {
	if cfg.DatabaseURL != "" {
		return postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
	}
	release, err := lockData(cfg.DataDir, false)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, sqlite.FileName))
	if err != nil {
		release()
		return nil, err
	}
	return &lockedDB{DB: db, release: release}, nil
}

// lockedDB is the SQLite database with the data directory's shared lock, which restore
// checks for (lock_unix.go); closing it lets go of the lock.
type lockedDB struct {
	*sqlite.DB
	release func()
}

func (db *lockedDB) Close() error {
	defer db.release()
	return db.DB.Close()
}
