package postgres

import (
	"context"
	"slices"
	"time"

	"captcha/engine/service"
)

const hourMillis = 3600000

// Stats aggregates a window for the admin UI's statistics. The counts of keys come from two
// places that never hold the same key: key_counts for the keys housekeeping has deleted,
// and the keys table for those still there (at most the longest key lifetime's worth). One
// statement reads both, so that a deletion between two reads cannot count a key twice or
// not at all. For every app at once the filter is "app_id IN (SELECT id FROM apps)" rather
// than none, as in SQLite, so that the tables are read through their (app_id, time) keys,
// one range per app, and never scanned whole.
func (db *DB) Stats(ctx context.Context, w service.StatsWindow) (*service.StatsData, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	appFilter, args := "app_id IN (SELECT id FROM apps)", []any{}
	if w.AppID != 0 {
		appFilter, args = "app_id = $3", []any{w.AppID}
	}
	fromHour, toHour := millis(w.From)/hourMillis, (millis(w.To)+hourMillis-1)/hourMillis
	hours := map[int64]*service.HourStats{}
	hour := func(h int64) *service.HourStats {
		if hours[h] == nil {
			hours[h] = &service.HourStats{Hour: time.UnixMilli(h * hourMillis)}
		}
		return hours[h]
	}

	// An escalated key counts in the hour of its first delivery, on either channel (LEAST
	// ignores a NULL).
	rows, err := db.pool.Query(ctx, `SELECT hour, sum(issued)::bigint, sum(images)::bigint, sum(sounds)::bigint,
		sum(expired_unsolved)::bigint, sum(escalated)::bigint FROM (
			SELECT hour, issued, images, sounds, expired_unsolved, escalated FROM key_counts
			WHERE `+appFilter+` AND hour >= $1 AND hour < $2
			UNION ALL
			SELECT e.hour, e.issued, e.images, e.sounds, 0, e.escalated FROM keys k, LATERAL (VALUES
				(k.created_at / 3600000, 1, 0, 0, 0),
				(k.image_served_at / 3600000, 0, 1, 0, 0),
				(k.audio_served_at / 3600000, 0, 0, 1, 0),
				(CASE WHEN k.escalated THEN LEAST(k.image_served_at, k.audio_served_at) / 3600000 END, 0, 0, 0, 1)
			) AS e (hour, issued, images, sounds, escalated)
			WHERE `+appFilter+` AND e.hour >= $1 AND e.hour < $2
		) AS c GROUP BY hour`, append([]any{fromHour, toHour}, args...)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var h int64
		var c service.HourStats
		if err := rows.Scan(&h, &c.Issued, &c.Images, &c.Sounds, &c.ExpiredUnsolved, &c.Escalated); err != nil {
			rows.Close()
			return nil, err
		}
		s := hour(h)
		s.Issued, s.Images, s.Sounds, s.ExpiredUnsolved, s.Escalated = c.Issued, c.Images, c.Sounds, c.ExpiredUnsolved, c.Escalated
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// By channel too, in the same pass over the records: the channel stats are their sums.
	data := &service.StatsData{}
	from, to := millis(w.From), millis(w.To)
	rows, err = db.pool.Query(ctx, `SELECT created_at / 3600000 AS hour, outcome, channel, count(*)
		FROM verifications WHERE `+appFilter+` AND created_at >= $1 AND created_at < $2
		GROUP BY hour, outcome, channel`,
		append([]any{from, to}, args...)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var h, n int64
		var outcome, channel string
		if err := rows.Scan(&h, &outcome, &channel, &n); err != nil {
			rows.Close()
			return nil, err
		}
		data.CountChannel(service.Channel(channel), service.Outcome(outcome), n)
		hour(h).CountVerifications(service.Outcome(outcome), n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = db.pool.Query(ctx, `SELECT response_ms, count(*) FROM verifications
		WHERE `+appFilter+` AND created_at >= $1 AND created_at < $2 AND outcome = 'passed' AND response_ms IS NOT NULL
		GROUP BY response_ms ORDER BY response_ms`, append([]any{from, to}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t service.SolveTime
		if err := rows.Scan(&t.Millis, &t.Count); err != nil {
			return nil, err
		}
		data.SolveTimes = append(data.SolveTimes, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, s := range hours {
		data.Hours = append(data.Hours, *s)
	}
	slices.SortFunc(data.Hours, func(a, b service.HourStats) int { return a.Hour.Compare(b.Hour) })
	return data, nil
}
