package service

import (
	"context"
	"math"
	"sort"
	"time"
)

// Statistics for operators. Two sources: hourly counters of what happens to keys (issued,
// served, expired unsolved), which the store keeps as keys are written because keys are
// deleted once they expire; and the verification records, which are kept for the retention
// period and give outcomes and solve times.

// HourStats counts what happened in one hour, or in a whole window for Stats.Totals.
type HourStats struct {
	Hour            time.Time // the start of the hour; zero in totals
	Issued          int64     // keys issued
	Images          int64     // keys whose image was served (first delivery)
	Sounds          int64     // keys whose sound was served (first delivery)
	ExpiredUnsolved int64     // keys that expired before they were used up
	Escalated       int64     // keys made harder at their first delivery (escalate.go)
	Passed          int64     // verifications that passed
	Wrong           int64     // verifications with a wrong answer
	Refused         int64     // verifications of a key already expired or used up
}

// CountVerifications adds n verifications with outcome o: passed and wrong ones apart, any
// refusal as Refused. Both stores tally their rows through it, so they cannot disagree.
func (h *HourStats) CountVerifications(o Outcome, n int64) {
	switch o {
	case Passed:
		h.Passed += n
	case Wrong:
		h.Wrong += n
	default:
		h.Refused += n
	}
}

func (h *HourStats) add(o HourStats) {
	h.Issued += o.Issued
	h.Images += o.Images
	h.Sounds += o.Sounds
	h.ExpiredUnsolved += o.ExpiredUnsolved
	h.Escalated += o.Escalated
	h.Passed += o.Passed
	h.Wrong += o.Wrong
	h.Refused += o.Refused
}

// ChannelStats counts the verifications of the keys delivered on one channel: the sound if
// it was ever fetched, else the image, else none (an NHN key answered unseen).
type ChannelStats struct {
	Passed, Wrong, Refused int64
}

// Verifications counts them all.
func (c ChannelStats) Verifications() int64 { return c.Passed + c.Wrong + c.Refused }

// SuccessRate is the share of them that passed, and false when there were none.
func (c ChannelStats) SuccessRate() (float64, bool) {
	n := c.Verifications()
	if n == 0 {
		return 0, false
	}
	return float64(c.Passed) / float64(n), true
}

func (c *ChannelStats) add(o Outcome, n int64) {
	switch o {
	case Passed:
		c.Passed += n
	case Wrong:
		c.Wrong += n
	default:
		c.Refused += n
	}
}

// SolveTime is how many passed verifications came Millis milliseconds after the challenge
// was first served.
type SolveTime struct {
	Millis int64
	Count  int64
}

// StatsWindow is what the store aggregates over [From, To), both on hour boundaries, for
// one app or, with AppID 0, for every app.
type StatsWindow struct {
	AppID    int64
	From, To time.Time
}

// StatsData is what the store returns: the hours that saw anything, oldest first, and the
// solve times of passed verifications that had been served, fastest first.
type StatsData struct {
	Hours      []HourStats
	SolveTimes []SolveTime
	// Channels counts the verifications by channel and outcome, for the whole window.
	Channels []ChannelCount
}

// CountChannel adds n verifications of outcome o on channel c to d.Channels.
func (d *StatsData) CountChannel(c Channel, o Outcome, n int64) {
	for i := range d.Channels {
		if d.Channels[i].Channel == c && d.Channels[i].Outcome == o {
			d.Channels[i].Count += n
			return
		}
	}
	d.Channels = append(d.Channels, ChannelCount{Channel: c, Outcome: o, Count: n})
}

// ChannelCount is how many verifications on a channel had an outcome.
type ChannelCount struct {
	Channel Channel
	Outcome Outcome
	Count   int64
}

// Stats are the statistics of one window.
type Stats struct {
	From, To   time.Time
	Hours      []HourStats // every hour of the window, oldest first, empty ones included
	Totals     HourStats
	SolveTimes []SolveTime // fastest first
	Solves     int64       // the sum of SolveTimes' counts: passes with a known solve time
	// Channels holds the verifications by channel; a channel without any is absent.
	Channels map[Channel]ChannelStats
}

// MaxStatsHours bounds a statistics window: 90 days of hours.
const MaxStatsHours = 90 * 24

// Stats aggregates the last hours hours, the current one included, for one app or, with
// appID 0, for the whole server. Whole hours, so that the counters and the verification
// records cover exactly the same span.
func (s *Service) Stats(ctx context.Context, appID int64, hours int) (*Stats, error) {
	hours = min(max(hours, 1), MaxStatsHours)
	to := s.now().Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-time.Duration(hours) * time.Hour)
	data, err := s.store.Stats(ctx, StatsWindow{AppID: appID, From: from, To: to})
	if err != nil {
		return nil, err
	}
	st := &Stats{From: from, To: to, Hours: make([]HourStats, hours), SolveTimes: data.SolveTimes,
		Channels: map[Channel]ChannelStats{}}
	for _, c := range data.Channels {
		ch := st.Channels[c.Channel]
		ch.add(c.Outcome, c.Count)
		st.Channels[c.Channel] = ch
	}
	for i := range st.Hours {
		st.Hours[i].Hour = from.Add(time.Duration(i) * time.Hour)
	}
	for _, h := range data.Hours {
		i := int(h.Hour.Sub(from) / time.Hour)
		if i < 0 || i >= hours {
			continue // cannot happen with a store that honours the window
		}
		h.Hour = st.Hours[i].Hour
		st.Hours[i] = h
		st.Totals.add(h)
	}
	for _, t := range st.SolveTimes {
		st.Solves += t.Count
	}
	return st, nil
}

// SuccessRate is the share of verifications that passed, and false when there were none.
// Every verification counts: wrong answers and answers to keys already expired or used up.
func (st *Stats) SuccessRate() (float64, bool) {
	n := st.Totals.Passed + st.Totals.Wrong + st.Totals.Refused
	if n == 0 {
		return 0, false
	}
	return float64(st.Totals.Passed) / float64(n), true
}

// AudioShare is the share of solves (passed verifications) whose key had its sound
// delivered, and false when there were no solves. About 1% of people use the audio; much
// more is bots farming it, since a speech recogniser is easier to come by than a reader of
// these images.
func (st *Stats) AudioShare() (float64, bool) {
	if st.Totals.Passed == 0 {
		return 0, false
	}
	return float64(st.Channels[Audio].Passed) / float64(st.Totals.Passed), true
}

// SolveTimePercentile is the nearest-rank percentile p (0 < p <= 1) of the solve times: the
// smallest time at or under which a share p of the solves fall. False when there are none.
func (st *Stats) SolveTimePercentile(p float64) (time.Duration, bool) {
	if st.Solves == 0 || !(p > 0 && p <= 1) {
		return 0, false
	}
	rank := int64(math.Ceil(p * float64(st.Solves)))
	var seen int64
	for _, t := range st.SolveTimes {
		seen += t.Count
		if seen >= rank {
			return time.Duration(t.Millis) * time.Millisecond, true
		}
	}
	return time.Duration(st.SolveTimes[len(st.SolveTimes)-1].Millis) * time.Millisecond, true
}

// FasterThan is the share of solves that took less than d, and how many did: a person
// rarely reads and types a challenge within a couple of seconds, a script does.
func (st *Stats) FasterThan(d time.Duration) (share float64, n int64, ok bool) {
	if st.Solves == 0 {
		return 0, 0, false
	}
	for _, t := range st.SolveTimes {
		if time.Duration(t.Millis)*time.Millisecond >= d {
			break
		}
		n += t.Count
	}
	return float64(n) / float64(st.Solves), n, true
}

// Histogram counts the solve times in the buckets that bounds, ascending, delimit: bucket 0
// is [0, bounds[0]), bucket i is [bounds[i-1], bounds[i]), and the last, len(bounds), is
// everything from the last bound up.
func (st *Stats) Histogram(bounds []time.Duration) []int64 {
	counts := make([]int64, len(bounds)+1)
	for _, t := range st.SolveTimes {
		d := time.Duration(t.Millis) * time.Millisecond
		i := sort.Search(len(bounds), func(i int) bool { return d < bounds[i] })
		counts[i] += t.Count
	}
	return counts
}
