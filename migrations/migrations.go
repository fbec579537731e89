// Package migrations holds the database schema as numbered SQL files. Each file is applied
// once, in order, in its own transaction, and recorded in the schema_migrations table (see
// engine/sqlite). A file, once released, is never edited: changes go in a new, higher number.
package migrations

import "embed"

// FS holds the NNNN_name.sql files at its root.
//
//go:embed *.sql
var FS embed.FS
