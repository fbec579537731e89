package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"captcha/engine/service"

	"captcha/engine/sqlrows"
)

// The app queries of the admin UI, off the request path of the APIs: not prepared.

// AppByID returns the app with this ID, enabled or not.
func (db *DB) AppByID(ctx context.Context, id int64) (*service.App, error) {
	app, err := sqlrows.ScanApp(db.reader.QueryRowContext(ctx, `SELECT `+sqlrows.AppColumns+` FROM apps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrUnknownApp
	}
	return app, err
}

// UpdateApp replaces an app's name, dialect and settings.
func (db *DB) UpdateApp(ctx context.Context, id int64, name string, api service.API, st service.AppSettings) error {
	e := st.Escalation
	res, err := db.writer.ExecContext(ctx, `UPDATE apps SET name = ?, api = ?, charset = ?, length = ?, difficulty = ?,
		width = ?, height = ?, lang = ?, key_lifetime_s = ?, max_attempts = ?, escalate = ?, escalate_min_answers = ?,
		escalate_bad_percent = ?, fast_solve_ms = ?, token_lifetime_s = ? WHERE id = ?`,
		name, string(api), string(st.Charset), st.Length, string(st.Difficulty), st.Width, st.Height, string(st.Lang),
		int64(st.KeyLifetime/time.Second), st.MaxAttempts, e.Enabled, e.MinAnswers, e.BadPercent, e.FastSolve.Milliseconds(),
		int64(st.TokenLifetime/time.Second), id)
	return oneRow(res, err, service.ErrUnknownApp)
}

// SetAppHostnames replaces the hosts that may embed an app's widget.
func (db *DB) SetAppHostnames(ctx context.Context, id int64, hostnames []string) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE apps SET hostnames = ? WHERE id = ?`, sqlrows.JoinHostnames(hostnames), id)
	return oneRow(res, err, service.ErrUnknownApp)
}

// AppBySecretHash returns the app whose secret has this hash, enabled or not.
func (db *DB) AppBySecretHash(ctx context.Context, secretHash []byte) (*service.App, error) {
	app, err := sqlrows.ScanApp(db.reader.QueryRowContext(ctx,
		`SELECT `+sqlrows.AppColumns+` FROM apps WHERE secret_hash = ? ORDER BY id LIMIT 1`, secretHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrUnknownApp
	}
	return app, err
}

// SetAppSecret replaces the hash of an app's secret.
func (db *DB) SetAppSecret(ctx context.Context, id int64, secretHash []byte) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE apps SET secret_hash = ? WHERE id = ?`, secretHash, id)
	return oneRow(res, err, service.ErrUnknownApp)
}
