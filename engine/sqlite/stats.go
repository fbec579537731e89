package sqlite

import (
	"context"
	"time"

	"captcha/engine/service"
)

// HourCount is the number of verifications of one outcome in one hour, with their mean
// response time over those that had been served.
type HourCount struct {
	Hour         time.Time
	Outcome      service.Outcome
	Count        int64
	MeanResponse time.Duration
}

// VerificationsByHour aggregates an app's verification records in [from, to) by hour and
// outcome, oldest first. It walks the (app_id, created_at) index, so its cost follows the
// range asked for, not the size of the table.
func (db *DB) VerificationsByHour(ctx context.Context, appID int64, from, to time.Time) ([]HourCount, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT created_at / 3600000 AS hour, outcome, count(*),
		coalesce(avg(response_ms), 0)
		FROM verifications WHERE app_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY hour, outcome ORDER BY hour, outcome`, appID, millis(from), millis(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HourCount
	for rows.Next() {
		var hour int64
		var outcome string
		var mean float64
		var c HourCount
		if err := rows.Scan(&hour, &outcome, &c.Count, &mean); err != nil {
			return nil, err
		}
		c.Hour = time.UnixMilli(hour * 3600000)
		c.Outcome = service.Outcome(outcome)
		c.MeanResponse = time.Duration(mean * float64(time.Millisecond))
		out = append(out, c)
	}
	return out, rows.Err()
}
