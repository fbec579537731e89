package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"captcha/engine/service"
)

var _ service.OperatorStore = (*DB)(nil)

// firstOperatorLock is the key of the advisory lock CreateFirstOperator takes: under READ
// COMMITTED, "insert if the table is empty" in one statement is not enough, since two
// nodes can both see it empty.
const firstOperatorLock = 0x63617074636862

// CreateFirstOperator inserts op only if the operators table is empty, atomically across
// nodes.
func (db *DB) CreateFirstOperator(ctx context.Context, op *service.Operator) (bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	created := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(firstOperatorLock)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO operators (name, password_hash, created_at, updated_at,
			must_change_password) SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM operators) RETURNING id`,
			op.Name, op.PasswordHash, millis(op.CreatedAt), millis(op.UpdatedAt), op.MustChangePassword).Scan(&op.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		created = err == nil
		return err
	})
	return created && err == nil, err
}

// SetOperatorPassword creates the operator or replaces its password and deletes its
// sessions, in one transaction: a reset password leaves no session signed in with the old.
func (db *DB) SetOperatorPassword(ctx context.Context, name string, hash []byte, at time.Time) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO operators (name, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $3)
			ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at,
				must_change_password = FALSE
			RETURNING id`, name, hash, millis(at)).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM operator_sessions WHERE operator_id = $1`, id)
		return err
	})
}

// OperatorByName returns the operator with this name.
func (db *DB) OperatorByName(ctx context.Context, name string) (*service.Operator, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var op service.Operator
	var created, updated int64
	err := db.pool.QueryRow(ctx, `SELECT id, name, password_hash, created_at, updated_at, must_change_password
		FROM operators WHERE name = $1`, name).Scan(&op.ID, &op.Name, &op.PasswordHash, &created, &updated,
		&op.MustChangePassword)
	if err != nil {
		return nil, noRows(err, service.ErrUnknownOperator)
	}
	op.CreatedAt, op.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &op, nil
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *service.Session) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `INSERT INTO operator_sessions (token_hash, operator_id, csrf_token,
		created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.TokenHash, s.OperatorID, s.CSRFToken, millis(s.CreatedAt), millis(s.ExpiresAt))
	return err
}

// SessionByTokenHash returns a session that has not expired by now.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (*service.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	s := service.Session{TokenHash: hash}
	var created, expires int64
	err := db.pool.QueryRow(ctx, `SELECT s.operator_id, o.name, o.must_change_password, s.csrf_token,
		s.created_at, s.expires_at
		FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, hash, millis(now)).
		Scan(&s.OperatorID, &s.OperatorName, &s.MustChangePassword, &s.CSRFToken, &created, &expires)
	if err != nil {
		return nil, noRows(err, service.ErrNoSession)
	}
	s.CreatedAt, s.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &s, nil
}

// DeleteSession deletes a session, if it still exists.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `DELETE FROM operator_sessions WHERE token_hash = $1`, hash)
	return err
}

// DeleteExpiredSessions deletes the sessions that expired at or before now. Any number of
// nodes may run it at once: each row goes once.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM operator_sessions WHERE expires_at <= $1`, millis(now))
	return tag.RowsAffected(), err
}
