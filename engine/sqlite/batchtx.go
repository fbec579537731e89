package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"
)

// The transaction of one batch (batch.go) runs at the driver's level, below database/sql.
// database/sql starts a goroutine for every transaction and for every query inside one, to
// watch contexts that these never have (a batch outlives the requests in it), and converts
// and allocates for every value it passes; together that cost more than the SQL of a
// CAPTCHA flow. The batch's statements are few and fixed, so they are prepared once on the
// writer connection and run directly.

// hotStatement names one of the statements of the request path's writes.
type hotStatement int

const (
	insertKey hotStatement = iota
	selectKeyForUpdate
	// The UPDATEs of a key, narrowest first (see saveKey).
	markImageServed
	markAudioServed
	setAttempts
	markFirstDelivery
	updateKeyState
	insertVerification
	addKeyCounts
	numHotStatements
)

var hotSQL = [numHotStatements]string{
	insertKey: `INSERT INTO keys (id, app_id, answer, charset, difficulty, width, height, lang, max_attempts,
		created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	selectKeyForUpdate: keyByIDQuery,
	markImageServed:    `UPDATE keys SET image_served_at = ? WHERE id = ?`,
	markAudioServed:    `UPDATE keys SET audio_served_at = ? WHERE id = ?`,
	setAttempts:        `UPDATE keys SET attempts = ?, consumed = ? WHERE id = ?`,
	markFirstDelivery: `UPDATE keys SET image_served_at = ?, audio_served_at = ?, client_net = ?, escalated = ?,
		answer = ?, difficulty = ? WHERE id = ?`,
	updateKeyState: `UPDATE keys SET attempts = ?, consumed = ?, expires_at = ?, image_served_at = ?,
		audio_served_at = ?, client_net = ?, escalated = ?, answer = ?, difficulty = ? WHERE id = ?`,
	insertVerification: `INSERT INTO verifications (app_id, outcome, channel, response_ms, created_at)
		VALUES (?, ?, ?, ?, ?)`,
	addKeyCounts: `INSERT INTO key_counts (app_id, hour, issued, images, sounds, escalated) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, hour) DO UPDATE SET issued = issued + excluded.issued,
			images = images + excluded.images, sounds = sounds + excluded.sounds,
			escalated = escalated + excluded.escalated`,
}

// hotStatements are the statements prepared on one driver connection.
type hotStatements struct {
	conn  driver.Conn
	stmts [numHotStatements]driver.Stmt
}

func prepareHot(conn driver.Conn) (*hotStatements, error) {
	prep, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite: the driver's connection %T cannot prepare with a context", conn)
	}
	h := &hotStatements{conn: conn}
	for i, query := range hotSQL {
		s, err := prep.PrepareContext(context.Background(), query)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("preparing %q: %w", query, err)
		}
		if _, ok := s.(driver.StmtQueryContext); !ok {
			s.Close()
			h.close()
			return nil, fmt.Errorf("sqlite: the driver's statement %T cannot run with a context", s)
		}
		h.stmts[i] = s
	}
	return h, nil
}

func (h *hotStatements) close() {
	for i, s := range h.stmts {
		if s != nil {
			s.Close()
			h.stmts[i] = nil
		}
	}
}

// errNoRow is queryRow's answer when the query found nothing.
var errNoRow = errors.New("sqlite: no row")

// batchTx is the transaction a batch's operations run in. Its methods are called by the
// batcher's goroutine alone, one operation at a time.
type batchTx struct {
	conn   driver.Conn
	hot    *hotStatements
	args   []driver.NamedValue // scratch, reused by every call
	row    []driver.Value
	counts map[countKey]*keyCounts // added to key_counts by flushCounts, before the commit
}

// countKey and keyCounts are a row of key_counts and what the batch adds to it.
type countKey struct {
	appID int64
	hour  int64 // Unix milliseconds / 3600000, as in key_counts
}

type keyCounts struct{ issued, images, sounds, escalated int64 }

// count returns what the batch adds to the counts of app at t, for the caller to add to.
func (t *batchTx) count(appID int64, at time.Time) *keyCounts {
	k := countKey{appID, millis(at) / 3_600_000}
	c := t.counts[k]
	if c == nil {
		if t.counts == nil {
			t.counts = make(map[countKey]*keyCounts)
		}
		c = &keyCounts{}
		t.counts[k] = c
	}
	return c
}

// flushCounts adds the batch's counts to key_counts, one upsert per app and hour.
func (t *batchTx) flushCounts() error {
	for k, c := range t.counts {
		if err := t.exec(addKeyCounts, k.appID, k.hour, c.issued, c.images, c.sounds, c.escalated); err != nil {
			return err
		}
	}
	clear(t.counts)
	return nil
}

func (t *batchTx) named(args []driver.Value) []driver.NamedValue {
	t.args = t.args[:0]
	for i, v := range args {
		t.args = append(t.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return t.args
}

// exec runs one of the hot statements. Arguments are driver values: int64, not int.
func (t *batchTx) exec(s hotStatement, args ...driver.Value) error {
	_, err := t.hot.stmts[s].(driver.StmtExecContext).ExecContext(context.Background(), t.named(args))
	return err
}

// queryRow runs one of the hot statements and returns the values of its first row, which
// stay valid until the next call, or errNoRow.
func (t *batchTx) queryRow(s hotStatement, args ...driver.Value) ([]driver.Value, error) {
	rows, err := t.hot.stmts[s].(driver.StmtQueryContext).QueryContext(context.Background(), t.named(args))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := len(rows.Columns())
	if cap(t.row) < n {
		t.row = make([]driver.Value, n)
	}
	t.row = t.row[:n]
	switch err := rows.Next(t.row); {
	case errors.Is(err, io.EOF):
		return nil, errNoRow
	case err != nil:
		return nil, err
	}
	return t.row, nil
}

// execSQL runs any statement, prepared for this call alone: for writes off the request path.
func (t *batchTx) execSQL(query string, args ...driver.Value) error {
	execer, ok := t.conn.(driver.ExecerContext)
	if !ok {
		return fmt.Errorf("sqlite: the driver's connection %T cannot execute with a context", t.conn)
	}
	_, err := execer.ExecContext(context.Background(), query, t.named(args))
	return err
}
