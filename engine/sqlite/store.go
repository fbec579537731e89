package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"captcha/engine"
	"captcha/engine/service"

	"captcha/engine/sqlrows"
)

var _ service.Store = (*DB)(nil)

// statements are the reads of the request path, prepared once on the read pool: preparing
// costs about as much as running these small statements. The writes have their own
// (batchtx.go).
type statements struct {
	appByKey, keyByID *sql.Stmt
}

// keyColumnCount is the number of sqlrows.KeyColumns.
const keyColumnCount = 24

const keyByIDQuery = `SELECT ` + sqlrows.KeyColumns + ` FROM keys k JOIN apps a ON a.id = k.app_id WHERE k.id = ?`

func (s *statements) prepare(ctx context.Context, reader *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.appByKey, `SELECT ` + sqlrows.AppColumns + ` FROM apps WHERE app_key = ?`},
		{&s.keyByID, keyByIDQuery},
	} {
		stmt, err := reader.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (s *statements) close() {
	for _, st := range []*sql.Stmt{s.appByKey, s.keyByID} {
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

// CreateApp inserts app and sets its ID.
func (db *DB) CreateApp(ctx context.Context, app *service.App) error {
	st := app.Settings
	e := st.Escalation
	res, err := db.writer.ExecContext(ctx, `INSERT INTO apps (name, app_key, secret_hash, enabled, api, charset,
		length, difficulty, width, height, lang, key_lifetime_s, max_attempts, created_at, escalate,
		escalate_min_answers, escalate_bad_percent, fast_solve_ms, hostnames, token_lifetime_s)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		app.Name, app.AppKey, app.SecretHash, app.Enabled, string(app.API), string(st.Charset), st.Length, string(st.Difficulty),
		st.Width, st.Height, string(st.Lang), int64(st.KeyLifetime/time.Second), st.MaxAttempts, millis(app.CreatedAt),
		e.Enabled, e.MinAnswers, e.BadPercent, e.FastSolve.Milliseconds(), sqlrows.JoinHostnames(app.Hostnames),
		int64(st.TokenLifetime/time.Second))
	if err != nil {
		return err
	}
	app.ID, err = res.LastInsertId()
	return err
}

// AppByKey returns the app with this appkey, enabled or not.
func (db *DB) AppByKey(ctx context.Context, appKey string) (*service.App, error) {
	app, err := sqlrows.ScanApp(db.stmts.appByKey.QueryRowContext(ctx, appKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrUnknownApp
	}
	return app, err
}

// ListApps returns every app, oldest first.
func (db *DB) ListApps(ctx context.Context) ([]*service.App, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+sqlrows.AppColumns+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []*service.App
	for rows.Next() {
		app, err := sqlrows.ScanApp(rows)
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

// SetAppAPI changes the dialect an app answers in.
func (db *DB) SetAppAPI(ctx context.Context, appKey string, api service.API) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE apps SET api = ? WHERE app_key = ?`, string(api), appKey)
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
	return db.batch.write(ctx, func(tx *batchTx) error {
		err := tx.exec(insertKey, k.ID, k.AppID, k.Answer, string(o.Charset), string(o.Difficulty),
			int64(o.Width), int64(o.Height), string(o.Lang), int64(k.MaxAttempts), millis(k.CreatedAt),
			millis(k.ExpiresAt))
		if err != nil {
			return dbErr(err)
		}
		tx.count(k.AppID, k.CreatedAt).issued++
		return nil
	})
}

// keyFromRow makes a key of the values of one row of sqlrows.KeyColumns, as the driver returns
// them: TEXT as string, INTEGER as int64, NULL as nil.
func keyFromRow[V any](row []V) (*service.Key, error) {
	if len(row) != keyColumnCount {
		return nil, fmt.Errorf("sqlite: a key row has %d columns, not %d", len(row), keyColumnCount)
	}
	text := func(i int) string { s, _ := any(row[i]).(string); return s }
	integer := func(i int) int64 { n, _ := any(row[i]).(int64); return n }
	millisOrZero := func(i int) time.Time {
		if n, ok := any(row[i]).(int64); ok {
			return fromMillis(n)
		}
		return time.Time{}
	}
	k := service.Key{
		ID:            text(0),
		AppID:         integer(1),
		AppKey:        text(2),
		AppEnabled:    integer(3) != 0,
		Answer:        text(4),
		MaxAttempts:   int(integer(10)),
		Attempts:      int(integer(11)),
		Consumed:      integer(12) != 0,
		CreatedAt:     fromMillis(integer(13)),
		ExpiresAt:     fromMillis(integer(14)),
		ImageServedAt: millisOrZero(15),
		AudioServedAt: millisOrZero(16),
		AppAPI:        service.API(text(17)),
		Escalated:     integer(19) != 0,
		AppEscalation: service.Escalation{Enabled: integer(20) != 0, MinAnswers: int(integer(21)),
			BadPercent: int(integer(22)), FastSolve: time.Duration(integer(23)) * time.Millisecond},
	}
	if net, ok := any(row[18]).([]byte); ok {
		if len(net) != len(k.Network) {
			return nil, fmt.Errorf("sqlite: a key's client network has %d bytes, not %d", len(net), len(k.Network))
		}
		copy(k.Network[:], net)
	}
	k.Options = engine.Options{Charset: engine.Charset(text(5)), Difficulty: engine.Difficulty(text(6)),
		Width: int(integer(7)), Height: int(integer(8)), Lang: engine.Lang(text(9)),
		Length: utf8.RuneCountInString(k.Answer)}
	if k.ID == "" || k.Answer == "" {
		return nil, errors.New("sqlite: a key row without an id or an answer")
	}
	return &k, nil
}

// KeyByID returns a key with its app's appkey and state, from the read pool.
func (db *DB) KeyByID(ctx context.Context, id string) (*service.Key, error) {
	row := make([]any, keyColumnCount)
	dest := make([]any, len(row))
	for i := range row {
		dest[i] = &row[i]
	}
	err := db.stmts.keyByID.QueryRowContext(ctx, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	return keyFromRow(row)
}

// UpdateKey runs update on the key inside a transaction of the single writer connection,
// begun IMMEDIATE, so no other write, from this process or another, interleaves with it,
// then saves what update changed.
func (db *DB) UpdateKey(ctx context.Context, id string, update func(*service.Key) (*service.Verification, error)) error {
	return db.batch.write(ctx, func(tx *batchTx) error { return updateKey(tx, id, update) })
}

// DeliverKey runs deliver on the key and saves what it changed, answered before its commit
// (see service.Store).
func (db *DB) DeliverKey(ctx context.Context, id string, deliver func(*service.Key) error) (*service.Key, error) {
	var delivered *service.Key
	err := db.batch.writeEarly(ctx, func(tx *batchTx) error {
		return updateKey(tx, id, func(k *service.Key) (*service.Verification, error) {
			if err := deliver(k); err != nil {
				return nil, err
			}
			delivered = k
			return nil, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return delivered, nil
}

func updateKey(tx *batchTx, id string, update func(*service.Key) (*service.Verification, error)) error {
	row, err := tx.queryRow(selectKeyForUpdate, id)
	if errors.Is(err, errNoRow) {
		return service.ErrKeyNotFound
	}
	if err != nil {
		return dbErr(err)
	}
	k, err := keyFromRow(row)
	if err != nil {
		return dbErr(err)
	}
	before := *k
	v, err := update(k)
	if err != nil {
		return err // decided before anything was written
	}
	if err := saveKey(tx, &before, k); err != nil {
		return dbErr(err)
	}
	// First deliveries count in the hour they happened (key_counts).
	if before.ImageServedAt.IsZero() && !k.ImageServedAt.IsZero() {
		tx.count(k.AppID, k.ImageServedAt).images++
	}
	if before.AudioServedAt.IsZero() && !k.AudioServedAt.IsZero() {
		tx.count(k.AppID, k.AudioServedAt).sounds++
	}
	if !before.Escalated && k.Escalated {
		tx.count(k.AppID, k.ServedAt(service.NoChannel)).escalated++
	}
	if v == nil {
		return nil
	}
	var responseMS driver.Value // NULL unless served
	if v.Served {
		responseMS = v.ResponseTime.Milliseconds()
	}
	return dbErr(tx.exec(insertVerification, v.AppID, string(v.Outcome), string(v.Channel), responseMS, millis(v.At)))
}

// saveKey writes what changed between before and after with the narrowest UPDATE that covers
// it. Each flow changes one or two columns at a time, and an UPDATE that names an indexed
// column (expires_at) or a column a trigger watches rewrites that index entry or runs that
// trigger even when the value is unchanged.
func saveKey(tx *batchTx, before, after *service.Key) error {
	attempts := after.Attempts != before.Attempts || after.Consumed != before.Consumed
	expires := !after.ExpiresAt.Equal(before.ExpiresAt)
	image := !after.ImageServedAt.Equal(before.ImageServedAt)
	audio := !after.AudioServedAt.Equal(before.AudioServedAt)
	// What a first delivery may set besides its time: the client network, an escalation.
	first := after.Network != before.Network || after.Escalated != before.Escalated ||
		after.Answer != before.Answer || after.Options.Difficulty != before.Options.Difficulty
	switch {
	case !attempts && !expires && !image && !audio && !first:
		return nil
	case image && !attempts && !expires && !audio && !first:
		return tx.exec(markImageServed, millisOrNull(after.ImageServedAt), after.ID)
	case audio && !attempts && !expires && !image && !first:
		return tx.exec(markAudioServed, millisOrNull(after.AudioServedAt), after.ID)
	case attempts && !expires && !image && !audio && !first:
		return tx.exec(setAttempts, int64(after.Attempts), after.Consumed, after.ID)
	case first && !attempts && !expires:
		return tx.exec(markFirstDelivery, millisOrNull(after.ImageServedAt), millisOrNull(after.AudioServedAt),
			networkOrNull(after.Network), after.Escalated, after.Answer, string(after.Options.Difficulty), after.ID)
	}
	return tx.exec(updateKeyState, int64(after.Attempts), after.Consumed, millis(after.ExpiresAt),
		millisOrNull(after.ImageServedAt), millisOrNull(after.AudioServedAt), networkOrNull(after.Network),
		after.Escalated, after.Answer, string(after.Options.Difficulty), after.ID)
}

// networkOrNull stores no network as NULL.
func networkOrNull(n service.NetworkID) driver.Value {
	if n.IsZero() {
		return nil
	}
	return n[:]
}

// millisOrNull stores the zero time as NULL.
func millisOrNull(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}
