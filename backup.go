package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"captcha/engine/sqlite"
)

// runBackup writes a consistent copy of the SQLite database while the server may run:
// captcha backup -out FILE.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("backup", stderr, &common)
	out := fs.String("out", "", "the file to write the copy to; it must not exist (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return &usageError{"backup: -out FILE is required"}
	}
	cfg, err := configFor(common, nil)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL != "" {
		return errors.New("backup: database_url names a PostgreSQL database: back it up with PostgreSQL's tools " +
			"(pg_dump, or its continuous archiving); captcha backup copies the SQLite database of a single node")
	}
	if _, err := secureDataDir(cfg.DataDir); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.(*lockedDB).Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", db.Path(), *out)
	return nil
}

// runRestore replaces the SQLite database with a backup, for a stopped server:
// captcha restore -in FILE.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("restore", stderr, &common)
	in := fs.String("in", "", "the backup to restore, written by captcha backup (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return &usageError{"restore: -in FILE is required"}
	}
	cfg, err := configFor(common, nil)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL != "" {
		return errors.New("restore: database_url names a PostgreSQL database: restore it with PostgreSQL's tools")
	}
	version, err := sqlite.CheckBackup(ctx, *in)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := secureDataDir(cfg.DataDir); err != nil {
		return err
	}
	release, err := lockData(cfg.DataDir, true)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer release()
	path := filepath.Join(cfg.DataDir, sqlite.FileName)
	replaced, err := sqlite.Restore(ctx, *in, path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s (schema version %d) to %s\n", *in, version, path)
	if replaced != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s\n", replaced)
	}
	return nil
}
