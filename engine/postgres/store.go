package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"captcha/engine"
	"captcha/engine/service"

	"captcha/engine/sqlrows"
)

var _ service.Store = (*DB)(nil)

const keyByIDQuery = `SELECT ` + sqlrows.KeyColumns + ` FROM keys k JOIN apps a ON a.id = k.app_id WHERE k.id = $1`

// ServerSecret returns the seed secret, generating it on first use. INSERT … ON CONFLICT DO
// NOTHING then SELECT: of nodes starting at once, every one reads the secret that was
// written first.
func (db *DB) ServerSecret(ctx context.Context) ([]byte, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := db.pool.Exec(ctx,
		`INSERT INTO server_secrets (name, value) VALUES ('seed', $1) ON CONFLICT DO NOTHING`, fresh); err != nil {
		return nil, err
	}
	var secret []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = 'seed'`).Scan(&secret)
	return secret, err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

// millisOrNull stores the zero time as NULL.
func millisOrNull(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := millis(t)
	return &ms
}

// CreateApp inserts app and sets its ID.
func (db *DB) CreateApp(ctx context.Context, app *service.App) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	st := app.Settings
	e := st.Escalation
	return db.pool.QueryRow(ctx, `INSERT INTO apps (name, app_key, secret_hash, enabled, api, charset,
		length, difficulty, width, height, lang, key_lifetime_s, max_attempts, created_at, escalate,
		escalate_min_answers, escalate_bad_percent, fast_solve_ms, hostnames, token_lifetime_s)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
		app.Name, app.AppKey, app.SecretHash, app.Enabled, string(app.API), string(st.Charset), st.Length,
		string(st.Difficulty), st.Width, st.Height, string(st.Lang), int64(st.KeyLifetime/time.Second),
		st.MaxAttempts, millis(app.CreatedAt), e.Enabled, e.MinAnswers, e.BadPercent, e.FastSolve.Milliseconds(),
		sqlrows.JoinHostnames(app.Hostnames), int64(st.TokenLifetime/time.Second)).Scan(&app.ID)
}

// AppByKey returns the app with this appkey, enabled or not.
func (db *DB) AppByKey(ctx context.Context, appKey string) (*service.App, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var app *service.App
	err := retry(ctx, func() (err error) {
		app, err = sqlrows.ScanApp(db.pool.QueryRow(ctx, `SELECT `+sqlrows.AppColumns+` FROM apps WHERE app_key = $1`, appKey))
		return err
	})
	return app, noRows(err, service.ErrUnknownApp)
}

// ListApps returns every app, oldest first.
func (db *DB) ListApps(ctx context.Context) ([]*service.App, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.AppColumns+` FROM apps ORDER BY id`)
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
	return db.execOne(ctx, service.ErrUnknownApp, `UPDATE apps SET enabled = $1 WHERE app_key = $2`, enabled, appKey)
}

// SetAppAPI changes the dialect an app answers in.
func (db *DB) SetAppAPI(ctx context.Context, appKey string, api service.API) error {
	return db.execOne(ctx, service.ErrUnknownApp, `UPDATE apps SET api = $1 WHERE app_key = $2`, string(api), appKey)
}

// DeleteApp deletes an app; its keys and verification records go with it (ON DELETE CASCADE).
func (db *DB) DeleteApp(ctx context.Context, appKey string) error {
	return db.execOne(ctx, service.ErrUnknownApp, `DELETE FROM apps WHERE app_key = $1`, appKey)
}

// execOne runs a statement that changes one row, and turns "no row changed" into notFound.
func (db *DB) execOne(ctx context.Context, notFound error, query string, args ...any) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}

// CreateKey inserts a new key. It is counted as issued from the keys table while it lives,
// and in key_counts once housekeeping deletes it (housekeeping.go). Like a delivery it is
// committed without waiting for the flush to disk (on the async pool): every node sees the
// key at once, and only a crash of the database server within wal_writer_delay can forget
// it, which fails closed (an unknown key passes nothing) and costs its user a fresh
// challenge. Waiting would put a disk flush on the way of every challenge issued, half of
// a flow's flushes.
func (db *DB) CreateKey(ctx context.Context, k *service.Key) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	o := k.Options
	err := retry(ctx, func() error {
		_, err := db.async.Exec(ctx, `INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang,
			max_attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			k.ID, k.AppID, k.Answer, string(o.Charset), string(o.Difficulty), o.Width, o.Height, string(o.Lang),
			k.MaxAttempts, millis(k.CreatedAt), millis(k.ExpiresAt))
		return err
	})
	if err == nil && k.AppKey != "" {
		stored := *k // as it reads back: no attempts, nothing served, millisecond times
		stored.Attempts, stored.Consumed, stored.ImageServedAt, stored.AudioServedAt = 0, false, time.Time{}, time.Time{}
		stored.Network, stored.Escalated = service.NetworkID{}, false
		stored.CreatedAt, stored.ExpiresAt = fromMillis(millis(k.CreatedAt)), fromMillis(millis(k.ExpiresAt))
		stored.Options.Length = utf8.RuneCountInString(k.Answer)
		db.keys.put(&stored)
	}
	return err
}

// scanKey reads one row of sqlrows.KeyColumns.
func scanKey(row pgx.Row) (*service.Key, error) {
	var k service.Key
	var charset, difficulty, lang, api string
	var created, expires, fastMS int64
	var image, audio *int64
	var network []byte
	e := &k.AppEscalation
	err := row.Scan(&k.ID, &k.AppID, &k.AppKey, &k.AppEnabled, &k.Answer, &charset, &difficulty,
		&k.Options.Width, &k.Options.Height, &lang, &k.MaxAttempts, &k.Attempts, &k.Consumed, &created, &expires, &image,
		&audio, &api, &network, &k.Escalated, &e.Enabled, &e.MinAnswers, &e.BadPercent, &fastMS)
	if err != nil {
		return nil, err
	}
	e.FastSolve = time.Duration(fastMS) * time.Millisecond
	k.Options.Charset, k.Options.Difficulty, k.Options.Lang = engine.Charset(charset), engine.Difficulty(difficulty), engine.Lang(lang)
	k.Options.Length = utf8.RuneCountInString(k.Answer)
	k.CreatedAt, k.ExpiresAt = fromMillis(created), fromMillis(expires)
	if image != nil {
		k.ImageServedAt = fromMillis(*image)
	}
	if audio != nil {
		k.AudioServedAt = fromMillis(*audio)
	}
	if network != nil {
		if len(network) != len(k.Network) {
			return nil, fmt.Errorf("postgres: a key's client network has %d bytes, not %d", len(network), len(k.Network))
		}
		copy(k.Network[:], network)
	}
	k.AppAPI = service.API(api)
	return &k, nil
}

// KeyByID returns a key with its app's appkey and state.
func (db *DB) KeyByID(ctx context.Context, id string) (*service.Key, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var k *service.Key
	err := retry(ctx, func() (err error) {
		k, err = scanKey(db.pool.QueryRow(ctx, keyByIDQuery, id))
		return err
	})
	return k, noRows(err, service.ErrKeyNotFound)
}

// UpdateKey runs update on the key and saves what it changed, so that no other update of
// the key, from this node or another, interleaves with it. It tries optimistically first,
// as most keys are updated by one request at a time: it runs update on the key as this node
// last wrote it (keycache.go), or else as it reads it, and saves the changes in one
// statement, with the verification record, on the condition that the key is still so
// (compare and swap): one round trip, or two with the read, and no explicit transaction. If
// the key changed meanwhile, it tries again on the key as read; after maxOptimistic tries
// (a key under a burst of concurrent requests) it locks the key's row instead
// (updateKeyLocked), which waits its turn. So update may run more than once, each time on
// the key as it then is; only the last run's changes are saved.
func (db *DB) UpdateKey(ctx context.Context, id string, update func(*service.Key) (*service.Verification, error)) error {
	return db.updateKey(ctx, db.pool, id, update)
}

// updateKey is UpdateKey on the connections of pool.
func (db *DB) updateKey(ctx context.Context, pool *pgxpool.Pool, id string, update func(*service.Key) (*service.Verification, error)) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	for try := range maxOptimistic {
		var saved bool
		err := retry(ctx, func() (err error) {
			saved, err = db.updateKeyOptimistically(ctx, pool, id, try == 0, update)
			return err
		})
		if err != nil || saved {
			return err
		}
	}
	db.keys.forget(id)
	// A retry runs update again on the key as it is then: only an attempt that reached no
	// database is retried, so the first one changed nothing.
	return retry(ctx, func() error { return db.updateKeyLocked(ctx, pool, id, update) })
}

// maxOptimistic is how many times UpdateKey tries to save without a lock.
const maxOptimistic = 2

// saveKeyIfUnchanged saves a key's state ($2 to $6, and what a first delivery may set
// besides its time: $20 to $23) if it still is as it was read ($7 to $11, $24 to $27), with
// its app as it was read ($17 to $19, and the escalation policy a delivery decides by: $28
// to $31), and then records the verification ($12 to $16, none when $13 is NULL). It
// returns whether it saved. The condition names every column an update may change.
const saveKeyIfUnchanged = `WITH saved AS (
		UPDATE keys SET attempts = $2, consumed = $3, expires_at = $4, image_served_at = $5, audio_served_at = $6,
			client_net = $20, escalated = $21, answer = $22, difficulty = $23
		WHERE id = $1 AND attempts = $7 AND consumed = $8 AND expires_at = $9
			AND image_served_at IS NOT DISTINCT FROM $10 AND audio_served_at IS NOT DISTINCT FROM $11
			AND client_net IS NOT DISTINCT FROM $24 AND escalated = $25 AND answer = $26 AND difficulty = $27
			AND EXISTS (SELECT 1 FROM apps a WHERE a.id = keys.app_id AND a.app_key = $17 AND a.enabled = $18
				AND a.api = $19 AND a.escalate = $28 AND a.escalate_min_answers = $29
				AND a.escalate_bad_percent = $30 AND a.fast_solve_ms = $31)
		RETURNING id),
	recorded AS (
		INSERT INTO verifications (app_id, outcome, channel, response_ms, created_at)
		SELECT $12, $13, $14, $15, $16 FROM saved WHERE $13::text IS NOT NULL)
	SELECT count(*) FROM saved`

// updateKeyOptimistically runs update on the key as this node last wrote it, when cached
// says so and it did, else as read, and saves the changes if the key is still so.
func (db *DB) updateKeyOptimistically(ctx context.Context, pool *pgxpool.Pool, id string, cached bool, update func(*service.Key) (*service.Verification, error)) (bool, error) {
	k, fromCache := db.keys.get(id)
	if !cached || !fromCache {
		var err error
		fromCache = false
		if k, err = scanKey(pool.QueryRow(ctx, keyByIDQuery, id)); err != nil {
			return false, noRows(err, service.ErrKeyNotFound)
		}
	}
	before := *k
	v, err := update(k)
	if err != nil || (v == nil && !keyChanged(&before, k)) {
		if fromCache {
			// Decided on the key as remembered, which another node may have changed
			// since (served its image, say): decide again on the key as stored.
			return false, nil
		}
		return err == nil, err // decided before anything was written
	}
	var outcome, channel *string
	var appID int64
	var responseMS *int64
	var at int64
	if v != nil {
		o, c := string(v.Outcome), string(v.Channel)
		outcome, channel, appID, at = &o, &c, v.AppID, millis(v.At)
		responseMS = responseMillis(v)
	}
	var n int
	err = pool.QueryRow(ctx, saveKeyIfUnchanged, id,
		k.Attempts, k.Consumed, millis(k.ExpiresAt), millisOrNull(k.ImageServedAt), millisOrNull(k.AudioServedAt),
		before.Attempts, before.Consumed, millis(before.ExpiresAt), millisOrNull(before.ImageServedAt),
		millisOrNull(before.AudioServedAt), appID, outcome, channel, responseMS, at,
		before.AppKey, before.AppEnabled, string(before.AppAPI),
		networkOrNull(k.Network), k.Escalated, k.Answer, string(k.Options.Difficulty),
		networkOrNull(before.Network), before.Escalated, before.Answer, string(before.Options.Difficulty),
		before.AppEscalation.Enabled, before.AppEscalation.MinAnswers, before.AppEscalation.BadPercent,
		before.AppEscalation.FastSolve.Milliseconds()).Scan(&n)
	switch {
	case err != nil || n == 0:
		db.keys.forget(id)
	case k.Consumed:
		db.keys.forget(id) // used up: the next update, if any, finds it so either way
	default:
		db.keys.put(k)
	}
	return n == 1, err
}

// keyChanged says whether update changed anything of the key that is stored.
func keyChanged(before, after *service.Key) bool {
	return after.Attempts != before.Attempts || after.Consumed != before.Consumed ||
		!after.ExpiresAt.Equal(before.ExpiresAt) || !after.ImageServedAt.Equal(before.ImageServedAt) ||
		!after.AudioServedAt.Equal(before.AudioServedAt) || after.Network != before.Network ||
		after.Escalated != before.Escalated || after.Answer != before.Answer ||
		after.Options.Difficulty != before.Options.Difficulty
}

// networkOrNull stores no network as NULL.
func networkOrNull(n service.NetworkID) []byte {
	if n.IsZero() {
		return nil
	}
	return n[:]
}

// responseMillis is a verification's response time, NULL unless the challenge was served.
func responseMillis(v *service.Verification) *int64 {
	if !v.Served {
		return nil
	}
	ms := v.ResponseTime.Milliseconds()
	return &ms
}

// updateKeyLocked runs update inside a transaction that holds the key's row locked
// (SELECT … FOR UPDATE): concurrent updates of the key wait for it, in turn. It takes two
// round trips: BEGIN and the locking read go together, then the writes and the COMMIT.
func (db *DB) updateKeyLocked(ctx context.Context, pool *pgxpool.Pool, id string, update func(*service.Key) (*service.Verification, error)) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction (after an error) is closed by the pool rather
	// than reused.
	defer conn.Release()
	var read pgx.Batch
	read.Queue("BEGIN")
	lock := read.Queue(keyByIDQuery+` FOR UPDATE OF k`, id)
	var k *service.Key
	lock.QueryRow(func(row pgx.Row) (err error) {
		k, err = scanKey(row)
		return err
	})
	if err := conn.SendBatch(ctx, &read).Close(); errors.Is(err, pgx.ErrNoRows) {
		return rollback(ctx, conn, service.ErrKeyNotFound)
	} else if err != nil {
		return err
	}
	before := *k
	v, err := update(k)
	if err != nil {
		return rollback(ctx, conn, err) // decided before anything was written
	}
	var write pgx.Batch
	if keyChanged(&before, k) {
		write.Queue(`UPDATE keys SET attempts = $1, consumed = $2, expires_at = $3, image_served_at = $4,
			audio_served_at = $5, client_net = $6, escalated = $7, answer = $8, difficulty = $9 WHERE id = $10`,
			k.Attempts, k.Consumed, millis(k.ExpiresAt), millisOrNull(k.ImageServedAt), millisOrNull(k.AudioServedAt),
			networkOrNull(k.Network), k.Escalated, k.Answer, string(k.Options.Difficulty), k.ID)
	}
	if v != nil {
		write.Queue(`INSERT INTO verifications (app_id, outcome, channel, response_ms, created_at)
			VALUES ($1, $2, $3, $4, $5)`, v.AppID, string(v.Outcome), string(v.Channel), responseMillis(v), millis(v.At))
	}
	write.Queue("COMMIT")
	return conn.SendBatch(ctx, &write).Close()
}

// rollback ends the transaction on conn and returns err, or the rollback's own error.
func rollback(ctx context.Context, conn *pgxpool.Conn, err error) error {
	if _, rbErr := conn.Exec(ctx, "ROLLBACK"); rbErr != nil {
		return rbErr
	}
	return err
}

// DeliverKey runs deliver on the key and saves what it changed (see service.Store), as
// UpdateKey does: on the key as this node last wrote it, when it did (it issued the key, as
// a node behind a sticky load balancer does), in one round trip, else as read, in two. The
// save is conditional on the key being still as deliver saw it, app included, so that
// deliver's decision (Key.Deliverable, and at the first delivery the client's network and
// an escalation) is made on the key as stored and concurrent deliveries agree: only one of
// them records the first delivery, and the others decide again on the key it saved. A
// delivery that changes nothing (a replay) is decided on the key as read, never as
// remembered, which another node may have used up since. It is committed without waiting
// for the flush to disk (synchronous_commit off, on the async pool's connections): the
// record is in the database at once for every node, durable within PostgreSQL's
// wal_writer_delay (200 ms), and only a crash of the database server in between can lose
// it, which the contract allows. Waiting would put a disk flush on the way of every first
// image.
func (db *DB) DeliverKey(ctx context.Context, id string, deliver func(*service.Key) error) (*service.Key, error) {
	var delivered service.Key
	err := db.updateKey(ctx, db.async, id, func(k *service.Key) (*service.Verification, error) {
		if err := deliver(k); err != nil {
			return nil, err
		}
		delivered = *k
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &delivered, nil
}
