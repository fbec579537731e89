package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"captcha/engine"
	"captcha/engine/service"
)

var _ service.Store = (*DB)(nil)

// statements are the queries on the request path, prepared once: preparing costs about as
// much as running these small statements.
type statements struct {
	appByKey, keyByID         *sql.Stmt // reader
	createKey                 *sql.Stmt // writer
	keyForUpdate, addVerified *sql.Stmt // writer, inside UpdateKey's transaction
	// The UPDATEs of a key, narrowest first (see UpdateKey): markImage, markAudio, attempts,
	// then updateKey, which writes every column that can change.
	markImage, markAudio, attempts, updateKey *sql.Stmt // writer, inside UpdateKey's transaction
}

const appColumns = `id, name, app_key, secret_hash, enabled, charset, length, difficulty, width, height,
	lang, key_lifetime_s, max_attempts, created_at`

const keyColumns = `k.id, k.app_id, a.app_key, a.enabled, k.answer, k.charset, k.difficulty, k.width,
	k.height, k.lang, k.max_attempts, k.attempts, k.consumed, k.created_at, k.expires_at,
	k.image_served_at, k.audio_served_at`

const keyByIDQuery = `SELECT ` + keyColumns + ` FROM keys k JOIN apps a ON a.id = k.app_id WHERE k.id = ?`

func (s *statements) prepare(ctx context.Context, writer, reader *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		db   *sql.DB
		sql  string
	}{
		{&s.appByKey, reader, `SELECT ` + appColumns + ` FROM apps WHERE app_key = ?`},
		{&s.keyByID, reader, keyByIDQuery},
		{&s.createKey, writer, `INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang,
			max_attempts, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.keyForUpdate, writer, keyByIDQuery},
		{&s.markImage, writer, `UPDATE keys SET image_served_at = ? WHERE id = ?`},
		{&s.markAudio, writer, `UPDATE keys SET audio_served_at = ? WHERE id = ?`},
		{&s.attempts, writer, `UPDATE keys SET attempts = ?, consumed = ? WHERE id = ?`},
		{&s.updateKey, writer, `UPDATE keys SET attempts = ?, consumed = ?, expires_at = ?, image_served_at = ?,
			audio_served_at = ? WHERE id = ?`},
		{&s.addVerified, writer, `INSERT INTO verifications (app_id, outcome, channel, response_ms, created_at)
			VALUES (?, ?, ?, ?, ?)`},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (s *statements) close() {
	for _, st := range []*sql.Stmt{s.appByKey, s.keyByID, s.createKey, s.keyForUpdate, s.addVerified, s.markImage,
		s.markAudio, s.attempts, s.updateKey} {
		if st != nil {
			st.Close()
		}
	}
}

// ServerSecret returns the seed secret, generating it on first use. INSERT OR IGNORE then
// SELECT: if two processes start at once, both read the one that was written first.
func (db *DB) ServerSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := db.writer.ExecContext(ctx,
		`INSERT INTO server_secrets (name, value) VALUES ('seed', ?) ON CONFLICT DO NOTHING`, fresh); err != nil {
		return nil, err
	}
	var secret []byte
	err := db.writer.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'seed'`).Scan(&secret)
	return secret, err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

// nullableMillis stores the zero time as NULL.
func nullableMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

func nullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64)
}

// CreateApp inserts app and sets its ID.
func (db *DB) CreateApp(ctx context.Context, app *service.App) error {
	st := app.Settings
	res, err := db.writer.ExecContext(ctx, `INSERT INTO apps (name, app_key, secret_hash, enabled, charset, length,
		difficulty, width, height, lang, key_lifetime_s, max_attempts, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		app.Name, app.AppKey, app.SecretHash, app.Enabled, string(st.Charset), st.Length, string(st.Difficulty),
		st.Width, st.Height, string(st.Lang), int64(st.KeyLifetime/time.Second), st.MaxAttempts, millis(app.CreatedAt))
	if err != nil {
		return err
	}
	app.ID, err = res.LastInsertId()
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scanApp(row scanner) (*service.App, error) {
	var a service.App
	var charset, difficulty, lang string
	var lifetime, created int64
	err := row.Scan(&a.ID, &a.Name, &a.AppKey, &a.SecretHash, &a.Enabled, &charset, &a.Settings.Length,
		&difficulty, &a.Settings.Width, &a.Settings.Height, &lang, &lifetime, &a.Settings.MaxAttempts, &created)
	if err != nil {
		return nil, err
	}
	a.Settings.Charset, a.Settings.Difficulty, a.Settings.Lang = engine.Charset(charset), engine.Difficulty(difficulty), engine.Lang(lang)
	a.Settings.KeyLifetime = time.Duration(lifetime) * time.Second
	a.CreatedAt = fromMillis(created)
	return &a, nil
}

// AppByKey returns the app with this appkey, enabled or not.
func (db *DB) AppByKey(ctx context.Context, appKey string) (*service.App, error) {
	app, err := scanApp(db.stmts.appByKey.QueryRowContext(ctx, appKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrUnknownApp
	}
	return app, err
}

// ListApps returns every app, oldest first.
func (db *DB) ListApps(ctx context.Context) ([]*service.App, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []*service.App
	for rows.Next() {
		app, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return apps, rows.Err()
}

// SetAppEnabled enables or disables an app.
func (db *DB) SetAppEnabled(ctx context.Context, appKey string, enabled bool) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE apps SET enabled = ? WHERE app_key = ?`, enabled, appKey)
	return oneRow(res, err, service.ErrUnknownApp)
}

// DeleteApp deletes an app; its keys and verification records go with it (ON DELETE CASCADE).
func (db *DB) DeleteApp(ctx context.Context, appKey string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM apps WHERE app_key = ?`, appKey)
	return oneRow(res, err, service.ErrUnknownApp)
}

// oneRow turns "no row changed" into notFound.
func oneRow(res sql.Result, err error, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// CreateKey inserts a new key.
func (db *DB) CreateKey(ctx context.Context, k *service.Key) error {
	o := k.Options
	return db.batch.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Stmt(db.stmts.createKey).Exec(k.ID, k.AppID, k.Answer, string(o.Charset), string(o.Difficulty),
			o.Width, o.Height, string(o.Lang), k.MaxAttempts, millis(k.CreatedAt), millis(k.ExpiresAt))
		return dbErr(err)
	})
}

func scanKey(row scanner) (*service.Key, error) {
	var k service.Key
	var charset, difficulty, lang string
	var created, expires int64
	var image, audio sql.NullInt64
	err := row.Scan(&k.ID, &k.AppID, &k.AppKey, &k.AppEnabled, &k.Answer, &charset, &difficulty, &k.Options.Width,
		&k.Options.Height, &lang, &k.MaxAttempts, &k.Attempts, &k.Consumed, &created, &expires, &image, &audio)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	k.Options.Charset, k.Options.Difficulty, k.Options.Lang = engine.Charset(charset), engine.Difficulty(difficulty), engine.Lang(lang)
	k.Options.Length = utf8.RuneCountInString(k.Answer)
	k.CreatedAt, k.ExpiresAt = fromMillis(created), fromMillis(expires)
	k.ImageServedAt, k.AudioServedAt = nullMillis(image), nullMillis(audio)
	return &k, nil
}

// KeyByID returns a key with its app's appkey and state, from the read pool.
func (db *DB) KeyByID(ctx context.Context, id string) (*service.Key, error) {
	return scanKey(db.stmts.keyByID.QueryRowContext(ctx, id))
}

// UpdateKey runs update on the key inside a transaction of the single writer connection,
// begun IMMEDIATE, so no other write, from this process or another, interleaves with it,
// then saves what update changed.
func (db *DB) UpdateKey(ctx context.Context, id string, update func(*service.Key) (*service.Verification, error)) error {
	return db.batch.write(ctx, func(tx *sql.Tx) error { return db.updateKey(tx, id, update) })
}

// ServeKey is UpdateKey answered before its commit (see service.Store).
func (db *DB) ServeKey(ctx context.Context, id string, update func(*service.Key) error) error {
	return db.batch.writeEarly(ctx, func(tx *sql.Tx) error {
		return db.updateKey(tx, id, func(k *service.Key) (*service.Verification, error) { return nil, update(k) })
	})
}

func (db *DB) updateKey(tx *sql.Tx, id string, update func(*service.Key) (*service.Verification, error)) error {
	k, err := scanKey(tx.Stmt(db.stmts.keyForUpdate).QueryRow(id))
	if errors.Is(err, service.ErrKeyNotFound) {
		return err
	}
	if err != nil {
		return dbErr(err)
	}
	before := *k
	v, err := update(k)
	if err != nil {
		return err // decided before anything was written
	}
	if err := db.saveKey(tx, &before, k); err != nil {
		return dbErr(err)
	}
	if v == nil {
		return nil
	}
	var responseMS sql.NullInt64
	if v.Served {
		responseMS = sql.NullInt64{Int64: v.ResponseTime.Milliseconds(), Valid: true}
	}
	_, err = tx.Stmt(db.stmts.addVerified).Exec(v.AppID, string(v.Outcome), string(v.Channel), responseMS, millis(v.At))
	return dbErr(err)
}

// saveKey writes what changed between before and after with the narrowest UPDATE that covers
// it. Each flow changes one or two columns at a time, and an UPDATE that names an indexed
// column (expires_at) or a column a trigger watches rewrites that index entry or runs that
// trigger even when the value is unchanged.
func (db *DB) saveKey(tx *sql.Tx, before, after *service.Key) error {
	attempts := after.Attempts != before.Attempts || after.Consumed != before.Consumed
	expires := !after.ExpiresAt.Equal(before.ExpiresAt)
	image := !after.ImageServedAt.Equal(before.ImageServedAt)
	audio := !after.AudioServedAt.Equal(before.AudioServedAt)
	var err error
	switch {
	case !attempts && !expires && !image && !audio:
	case image && !attempts && !expires && !audio:
		_, err = tx.Stmt(db.stmts.markImage).Exec(nullableMillis(after.ImageServedAt), after.ID)
	case audio && !attempts && !expires && !image:
		_, err = tx.Stmt(db.stmts.markAudio).Exec(nullableMillis(after.AudioServedAt), after.ID)
	case attempts && !expires && !image && !audio:
		_, err = tx.Stmt(db.stmts.attempts).Exec(after.Attempts, after.Consumed, after.ID)
	default:
		_, err = tx.Stmt(db.stmts.updateKey).Exec(after.Attempts, after.Consumed, millis(after.ExpiresAt),
			nullableMillis(after.ImageServedAt), nullableMillis(after.AudioServedAt), after.ID)
	}
	return err
}
