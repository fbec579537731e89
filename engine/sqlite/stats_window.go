package sqlite

import (
	"context"
	"slices"
	"time"

	"captcha/engine/service"
)

const hourMillis = 3600000

// Stats aggregates a window for the admin UI's statistics: the key counters that the
// triggers of migration 0002 keep, and the verification records. For every app at once the
// filter is "app_id IN (SELECT id FROM apps)" rather than none, so that both tables are
// still read through their (app_id, time) keys, one range per app, and never scanned whole.
func (db *DB) Stats(ctx context.Context, w service.StatsWindow) (*service.StatsData, error) {
	appFilter, args := "app_id IN (SELECT id FROM apps)", []any{}
	if w.AppID != 0 {
		appFilter, args = "app_id = ?", []any{w.AppID}
	}
	from, to := millis(w.From), millis(w.To)
	hours := map[int64]*service.HourStats{}
	hour := func(h int64) *service.HourStats {
		if hours[h] == nil {
			hours[h] = &service.HourStats{Hour: time.UnixMilli(h * hourMillis)}
		}
		return hours[h]
	}

	rows, err := db.reader.QueryContext(ctx, `SELECT hour, sum(issued), sum(images), sum(sounds), sum(expired_unsolved),
		sum(escalated) FROM key_counts WHERE `+appFilter+` AND hour >= ? AND hour < ? GROUP BY hour`,
		append(args, from/hourMillis, (to+hourMillis-1)/hourMillis)...)
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
	rows, err = db.reader.QueryContext(ctx, `SELECT created_at / 3600000 AS hour, outcome, channel, count(*)
		FROM verifications WHERE `+appFilter+` AND created_at >= ? AND created_at < ? GROUP BY hour, outcome, channel`,
		append(args, from, to)...)
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

	// Grouped by the millisecond: exact percentiles for any threshold from at most one row
	// per distinct time, which a key's lifetime (two hours at most) bounds.
	rows, err = db.reader.QueryContext(ctx, `SELECT response_ms, count(*) FROM verifications
		WHERE `+appFilter+` AND created_at >= ? AND created_at < ? AND outcome = 'passed' AND response_ms IS NOT NULL
		GROUP BY response_ms ORDER BY response_ms`, append(args, from, to)...)
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
