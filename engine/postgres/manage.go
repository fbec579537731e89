package postgres

import (
	"context"
	"time"

	"captcha/engine/service"

	"captcha/engine/sqlrows"
)

// The app queries of the admin UI, off the request path of the APIs.

// AppByID returns the app with this ID, enabled or not.
func (db *DB) AppByID(ctx context.Context, id int64) (*service.App, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	app, err := sqlrows.ScanApp(db.pool.QueryRow(ctx, `SELECT `+sqlrows.AppColumns+` FROM apps WHERE id = $1`, id))
	return app, noRows(err, service.ErrUnknownApp)
}

// UpdateApp replaces an app's name, dialect and settings.
func (db *DB) UpdateApp(ctx context.Context, id int64, name string, api service.API, st service.AppSettings) error {
	e := st.Escalation
	return db.execOne(ctx, service.ErrUnknownApp, `UPDATE apps SET name = $1, api = $2, charset = $3, length = $4,
		difficulty = $5, width = $6, height = $7, lang = $8, key_lifetime_s = $9, max_attempts = $10, escalate = $11,
		escalate_min_answers = $12, escalate_bad_percent = $13, fast_solve_ms = $14, token_lifetime_s = $15 WHERE id = $16`,
		name, string(api), string(st.Charset), st.Length, string(st.Difficulty), st.Width, st.Height, string(st.Lang),
		int64(st.KeyLifetime/time.Second), st.MaxAttempts, e.Enabled, e.MinAnswers, e.BadPercent,
		e.FastSolve.Milliseconds(), int64(st.TokenLifetime/time.Second), id)
}

// SetAppHostnames replaces the hosts that may embed an app's widget.
func (db *DB) SetAppHostnames(ctx context.Context, id int64, hostnames []string) error {
	return db.execOne(ctx, service.ErrUnknownApp, `UPDATE apps SET hostnames = $1 WHERE id = $2`,
		sqlrows.JoinHostnames(hostnames), id)
}

// AppBySecretHash returns the app whose secret has this hash, enabled or not.
func (db *DB) AppBySecretHash(ctx context.Context, secretHash []byte) (*service.App, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var app *service.App
	err := retry(ctx, func() (err error) {
		app, err = sqlrows.ScanApp(db.pool.QueryRow(ctx,
			`SELECT `+sqlrows.AppColumns+` FROM apps WHERE secret_hash = $1 ORDER BY id LIMIT 1`, secretHash))
		return err
	})
	return app, noRows(err, service.ErrUnknownApp)
}

// SetAppSecret replaces the hash of an app's secret.
func (db *DB) SetAppSecret(ctx context.Context, id int64, secretHash []byte) error {
	return db.execOne(ctx, service.ErrUnknownApp, `UPDATE apps SET secret_hash = $1 WHERE id = $2`, secretHash, id)
}
