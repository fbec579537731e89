package sqlite

import (
	"context"
	"time"
)

// deleteBatch bounds how many rows one housekeeping statement deletes, so that requests
// waiting for the writer are not held up for long behind it.
const deleteBatch = 1000

// DeleteExpiredKeys deletes the keys that expired at or before now, in batches, and counts
// those that were never used up.
func (db *DB) DeleteExpiredKeys(ctx context.Context, now time.Time) (deleted, unsolved int, err error) {
	for {
		n, u, err := db.deleteExpiredBatch(ctx, now)
		deleted, unsolved = deleted+n, unsolved+u
		if err != nil || n < deleteBatch {
			return deleted, unsolved, err
		}
	}
}

func (db *DB) deleteExpiredBatch(ctx context.Context, now time.Time) (deleted, unsolved int, err error) {
	rows, err := db.writer.QueryContext(ctx, `DELETE FROM keys WHERE id IN
		(SELECT id FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING consumed`,
		millis(now), deleteBatch)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var consumed bool
		if err := rows.Scan(&consumed); err != nil {
			return deleted, unsolved, err
		}
		deleted++
		if !consumed {
			unsolved++
		}
	}
	return deleted, unsolved, rows.Err()
}

// DeleteStatsBefore deletes the verification records older than t, app by app so that each
// batch walks the (app_id, created_at) index instead of the whole table, then the hourly
// key counts of the hours that ended by t. It returns how many rows went.
func (db *DB) DeleteStatsBefore(ctx context.Context, t time.Time) (int64, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id FROM apps`)
	if err != nil {
		return 0, err
	}
	var apps []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		apps = append(apps, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, app := range apps {
		n, err := db.deleteInBatches(ctx, `DELETE FROM verifications WHERE id IN
			(SELECT id FROM verifications WHERE app_id = ? AND created_at < ? LIMIT ?)`, app, millis(t))
		total += n
		if err != nil {
			return total, err
		}
	}
	res, err := db.writer.ExecContext(ctx, `DELETE FROM key_counts WHERE hour < ?`, millis(t)/3_600_000)
	if err != nil {
		return total, err
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}

// deleteInBatches runs query, a DELETE whose last parameter is how many rows it may delete,
// with args and deleteBatch, until a run deletes fewer, and says how many rows went.
func (db *DB) deleteInBatches(ctx context.Context, query string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := db.writer.ExecContext(ctx, query, append(args, deleteBatch)...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < deleteBatch {
			return total, nil
		}
	}
}
