package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"captcha/engine/service"
	"captcha/engine/sqlrows"
)

// The widget's response tokens (service/token.go), as engine/sqlite keeps them.

// CreateToken stores a response token, once PostgreSQL has flushed it: the widget hands the
// token over only then.
func (db *DB) CreateToken(ctx context.Context, t *service.Token) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return retry(ctx, func() error {
		_, err := db.pool.Exec(ctx, `INSERT INTO tokens (hash, app_id, challenge_at, hostname, action, cdata, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			t.Hash, t.AppID, millis(t.ChallengeAt), t.Hostname, t.Action, t.CData, millis(t.ExpiresAt))
		return err
	})
}

// RedeemToken redeems a token in one conditional UPDATE: concurrent ones, on any nodes,
// queue for the row's lock, and each after the first finds redeemed_at set (PostgreSQL
// evaluates the condition again on the row as the first left it), so exactly one redeems.
func (db *DB) RedeemToken(ctx context.Context, hash []byte, appID int64, idempotencyKey string, now time.Time) (*service.Token, bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var t *service.Token
	// A retry only follows an attempt that reached no database, so it cannot redeem twice.
	err := retry(ctx, func() (err error) {
		t, err = sqlrows.ScanToken(db.pool.QueryRow(ctx, `UPDATE tokens SET redeemed_at = $1, idempotency_key = $2
			WHERE hash = $3 AND app_id = $4 AND redeemed_at IS NULL AND expires_at > $1
			RETURNING `+sqlrows.TokenColumns, millis(now), idempotencyKey, hash, appID))
		return err
	})
	if err == nil {
		return t, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, err
	}
	err = retry(ctx, func() (err error) {
		t, err = sqlrows.ScanToken(db.pool.QueryRow(ctx,
			`SELECT `+sqlrows.TokenColumns+` FROM tokens WHERE hash = $1 AND app_id = $2`, hash, appID))
		return err
	})
	if err != nil {
		return nil, false, noRows(err, service.ErrTokenInvalid)
	}
	return t, false, nil
}

// DeleteExpiredTokens deletes the tokens that expired before t, in batches; nodes running
// it at once skip each other's rows.
func (db *DB) DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error) {
	n, err := db.deleteInBatches(ctx, `DELETE FROM tokens WHERE hash IN
		(SELECT hash FROM tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, millis(t))
	return int(n), err
}
