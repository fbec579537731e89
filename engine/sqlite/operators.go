package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"captcha/engine/service"
)

var _ service.OperatorStore = (*DB)(nil)

// CreateFirstOperator inserts op only if the operators table is empty: one statement, so two
// processes starting at once cannot both create an account.
func (db *DB) CreateFirstOperator(ctx context.Context, op *service.Operator) (bool, error) {
	res, err := db.writer.ExecContext(ctx, `INSERT INTO operators (name, password_hash, created_at, updated_at,
		must_change_password) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM operators)`,
		op.Name, op.PasswordHash, millis(op.CreatedAt), millis(op.UpdatedAt), op.MustChangePassword)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	op.ID, err = res.LastInsertId()
	return err == nil, err
}

// SetOperatorPassword creates the operator or replaces its password and deletes its
// sessions, in one transaction: a reset password leaves no session signed in with the old.
// The password is one someone chose, so the operator need not change it.
func (db *DB) SetOperatorPassword(ctx context.Context, name string, hash []byte, at time.Time) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO operators (name, password_hash, created_at, updated_at)
		VALUES (?1, ?2, ?3, ?3)
		ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at,
			must_change_password = 0
		RETURNING id`, name, hash, millis(at)).Scan(&id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM operator_sessions WHERE operator_id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// OperatorByName returns the operator with this name.
func (db *DB) OperatorByName(ctx context.Context, name string) (*service.Operator, error) {
	var op service.Operator
	var created, updated int64
	err := db.reader.QueryRowContext(ctx, `SELECT id, name, password_hash, created_at, updated_at, must_change_password
		FROM operators WHERE name = ?`, name).Scan(&op.ID, &op.Name, &op.PasswordHash, &created, &updated,
		&op.MustChangePassword)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrUnknownOperator
	}
	if err != nil {
		return nil, err
	}
	op.CreatedAt, op.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &op, nil
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *service.Session) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO operator_sessions (token_hash, operator_id, csrf_token,
		created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		s.TokenHash, s.OperatorID, s.CSRFToken, millis(s.CreatedAt), millis(s.ExpiresAt))
	return err
}

// SessionByTokenHash returns a session that has not expired by now.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte, now time.Time) (*service.Session, error) {
	s := service.Session{TokenHash: hash}
	var created, expires int64
	err := db.reader.QueryRowContext(ctx, `SELECT s.operator_id, o.name, o.must_change_password, s.csrf_token,
		s.created_at, s.expires_at
		FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, hash, millis(now)).
		Scan(&s.OperatorID, &s.OperatorName, &s.MustChangePassword, &s.CSRFToken, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, service.ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &s, nil
}

// DeleteSession deletes a session, if it still exists.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.writer.ExecContext(ctx, `DELETE FROM operator_sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredSessions deletes the sessions that expired at or before now.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM operator_sessions WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
