package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"captcha/engine/service"
	"captcha/engine/sqlrows"
)

// The widget's response tokens (service/token.go). They are written on the writer
// connection directly rather than in the group commit's batches: a token is issued and
// redeemed once per solved challenge, against the key's three writes.

// CreateToken stores a response token.
func (db *DB) CreateToken(ctx context.Context, t *service.Token) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO tokens (hash, app_id, challenge_at, hostname, action, cdata,
		expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.AppID, millis(t.ChallengeAt), t.Hostname, t.Action, t.CData, millis(t.ExpiresAt))
	return err
}

// RedeemToken redeems a token in one conditional UPDATE, which SQLite runs under its write
// lock: of concurrent calls, from this process or another, one finds it unredeemed.
func (db *DB) RedeemToken(ctx context.Context, hash []byte, appID int64, idempotencyKey string, now time.Time) (*service.Token, bool, error) {
	t, err := sqlrows.ScanToken(db.writer.QueryRowContext(ctx, `UPDATE tokens SET redeemed_at = ?, idempotency_key = ?
		WHERE hash = ? AND app_id = ? AND redeemed_at IS NULL AND expires_at > ?
		RETURNING `+sqlrows.TokenColumns, millis(now), idempotencyKey, hash, appID, millis(now)))
	if err == nil {
		return t, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}
	t, err = sqlrows.ScanToken(db.writer.QueryRowContext(ctx,
		`SELECT `+sqlrows.TokenColumns+` FROM tokens WHERE hash = ? AND app_id = ?`, hash, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, service.ErrTokenInvalid
	}
	return t, false, err
}

// DeleteExpiredTokens deletes the tokens that expired before t, in batches.
func (db *DB) DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error) {
	n, err := db.deleteInBatches(ctx, `DELETE FROM tokens WHERE hash IN
		(SELECT hash FROM tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, millis(t))
	return int(n), err
}
