package postgres

import (
	"context"
	"time"
)

// deleteBatch bounds how many rows one housekeeping statement deletes, so that no statement
// holds many row locks or writes much WAL at once.
const deleteBatch = 1000

// deleteExpiredKeys deletes a batch of expired keys and, in the same statement, adds them to
// key_counts: issued in the hour each was created, first deliveries in the hours they
// happened, escalations in the hour of the first delivery, and, for those never used up, expired unsolved in the hour they expired. Until
// then the statistics count them from the keys table (stats.go), so each key counts once,
// whichever side of its deletion the statistics are read. Nodes running it at once skip
// each other's rows (SKIP LOCKED) rather than wait for them, and a row can be deleted only
// once, so concurrent runs never count a key twice.
const deleteExpiredKeys = `WITH gone AS (
		DELETE FROM keys WHERE id IN (
			SELECT id FROM keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING app_id, consumed, created_at, expires_at, image_served_at, audio_served_at, escalated),
	events AS (
		SELECT g.app_id, e.hour, e.issued, e.images, e.sounds, e.expired, e.escalated
		FROM gone g, LATERAL (VALUES
			(g.created_at / 3600000, 1, 0, 0, 0, 0),
			(g.image_served_at / 3600000, 0, 1, 0, 0, 0),
			(g.audio_served_at / 3600000, 0, 0, 1, 0, 0),
			(CASE WHEN NOT g.consumed THEN g.expires_at / 3600000 END, 0, 0, 0, 1, 0),
			(CASE WHEN g.escalated THEN LEAST(g.image_served_at, g.audio_served_at) / 3600000 END, 0, 0, 0, 0, 1)
		) AS e (hour, issued, images, sounds, expired, escalated)
		WHERE e.hour IS NOT NULL),
	counted AS (
		INSERT INTO key_counts AS c (app_id, hour, issued, images, sounds, expired_unsolved, escalated)
		SELECT app_id, hour, sum(issued), sum(images), sum(sounds), sum(expired), sum(escalated) FROM events
		GROUP BY app_id, hour
		ON CONFLICT (app_id, hour) DO UPDATE SET issued = c.issued + excluded.issued,
			images = c.images + excluded.images, sounds = c.sounds + excluded.sounds,
			expired_unsolved = c.expired_unsolved + excluded.expired_unsolved,
			escalated = c.escalated + excluded.escalated)
	SELECT count(*), count(*) FILTER (WHERE NOT consumed) FROM gone`

// DeleteExpiredKeys deletes the keys that expired at or before now, in batches, and counts
// those that were never used up.
func (db *DB) DeleteExpiredKeys(ctx context.Context, now time.Time) (deleted, unsolved int, err error) {
	for {
		var n, u int
		bctx, cancel := db.bound(ctx)
		err := db.pool.QueryRow(bctx, deleteExpiredKeys, millis(now), deleteBatch).Scan(&n, &u)
		cancel()
		deleted, unsolved = deleted+n, unsolved+u
		if err != nil || n < deleteBatch {
			return deleted, unsolved, err
		}
	}
}

// DeleteStatsBefore deletes the verification records older than t, in batches, then the
// hourly key counts of the hours that ended by t. It returns how many rows went. Nodes may
// run it at once: a row is deleted once, whoever deletes it.
func (db *DB) DeleteStatsBefore(ctx context.Context, t time.Time) (int64, error) {
	total, err := db.deleteInBatches(ctx, `DELETE FROM verifications WHERE id IN
		(SELECT id FROM verifications WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, millis(t))
	if err != nil {
		return total, err
	}
	bctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(bctx, `DELETE FROM key_counts WHERE hour < $1`, millis(t)/3_600_000)
	return total + tag.RowsAffected(), err
}

// deleteInBatches runs query, a DELETE of at most $2 rows older than $1 (before), with $2
// deleteBatch, until a run deletes fewer, and says how many rows went.
func (db *DB) deleteInBatches(ctx context.Context, query string, before int64) (int64, error) {
	var total int64
	for {
		bctx, cancel := db.bound(ctx)
		tag, err := db.pool.Exec(bctx, query, before, deleteBatch)
		cancel()
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < deleteBatch {
			return total, nil
		}
	}
}
