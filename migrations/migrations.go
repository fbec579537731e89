// Package migrations holds the database schemas as numbered SQL files: SQLite's at the root
// (engine/sqlite), PostgreSQL's under postgres/ (engine/postgres). Each file is applied
// once, in order, in its own transaction, and recorded in the schema_migrations table of its
// database. A file, once released, is never edited: changes go in a new, higher number, in
// both directories when both stores need them.
package migrations

import (
	"embed"
	"io/fs"
)

// FS holds the NNNN_name.sql files of SQLite at its root.
//
//go:embed *.sql
var FS embed.FS

//go:embed postgres/*.sql
var postgresFS embed.FS

// Postgres holds the NNNN_name.sql files of PostgreSQL at its root.
func Postgres() fs.FS {
	sub, err := fs.Sub(postgresFS, "postgres")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	return sub
}
