package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"captcha/engine"
)

// Escalation. A client network whose recent answers were mostly wrong, or came faster than a
// person reads and types, is probably a bot working through challenges; its next ones are
// made harder: one difficulty up and two characters longer.
//
// The end user's network is known only when the challenge is fetched (verifications come
// from the customer's backend), so a key remembers the network of its first delivery, and
// its verification is attributed to that network. The answers of each network are kept, per
// node and in memory only, in a bounded table of counts per minute over EscalationWindow
// (answerWatch): another node, or a restart, starts without them, which costs no more than
// a few challenges left unescalated.
//
// The decision is made at the key's first delivery and stored on the key in the same step
// that records the delivery (Store.DeliverKey), so that concurrent fetches agree and every
// later fetch, image or sound, draws the same harder challenge.

// Escalation is an app's policy for networks that answer like bots.
type Escalation struct {
	Enabled bool
	// MinAnswers is how many answers a network must have given in the window before it is
	// judged at all: a person's one or two slips are no evidence.
	MinAnswers int
	// BadPercent is the share of those answers, wrong or too fast, at or above which the
	// network's next challenges are escalated.
	BadPercent int
	// FastSolve is the solve time, from the first delivery to the passing answer, under
	// which a pass counts as a bot's; 0: no pass does.
	FastSolve time.Duration
}

// EscalationWindow is how far back a network's answers count. Fixed rather than per app: it
// sizes the table every app shares.
const EscalationWindow = 10 * time.Minute

// Limits and defaults of the per-app escalation settings.
const (
	DefaultEscalateMinAnswers = 5
	MaxEscalateMinAnswers     = 100
	DefaultEscalateBadPercent = 70
	DefaultFastSolve          = time.Second
	MaxFastSolve              = 10 * time.Second
	fastSolveStep             = 100 * time.Millisecond
)

// DefaultEscalation is on: 5 answers in the last 10 minutes, 70% of them wrong or under a
// second, escalate. A person gets one wrong now and then and never answers within a second
// of seeing the challenge; a script that guesses, or that reads and answers at once, does
// both all the time.
func DefaultEscalation() Escalation {
	return Escalation{Enabled: true, MinAnswers: DefaultEscalateMinAnswers, BadPercent: DefaultEscalateBadPercent,
		FastSolve: DefaultFastSolve}
}

// Validate reports the first setting out of range, as an *engine.FieldError named like the
// admin form's field. The thresholds are checked even when escalation is off, so that
// switching it on never meets a value that was never allowed.
func (e Escalation) Validate() error {
	if e.MinAnswers < 1 || e.MinAnswers > MaxEscalateMinAnswers {
		return &engine.FieldError{Field: "escalate_min_answers", Value: e.MinAnswers, Allowed: fmt.Sprintf("1 to %d", MaxEscalateMinAnswers)}
	}
	if e.BadPercent < 1 || e.BadPercent > 100 {
		return &engine.FieldError{Field: "escalate_bad_percent", Value: e.BadPercent, Allowed: "1 to 100"}
	}
	if e.FastSolve < 0 || e.FastSolve > MaxFastSolve || e.FastSolve%fastSolveStep != 0 {
		return &engine.FieldError{Field: "fast_solve", Value: e.FastSolve.Seconds(),
			Allowed: fmt.Sprintf("0 to %v seconds, in tenths", MaxFastSolve.Seconds())}
	}
	return nil
}

// NetworkID is a client network as keys store it: a keyed hash, the zero value for none.
// Keyed (an HMAC under a key derived from the server secret) because there are few enough
// IPv4 addresses to try every one against a plain hash; the database then holds nothing that
// tells who fetched a challenge.
type NetworkID [16]byte

// IsZero says there is no network.
func (n NetworkID) IsZero() bool { return n == NetworkID{} }

// networkKey derives the key of NetworkID's HMAC from the seed secret, so that a network's
// ID is no seed of any challenge.
func networkKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("client network"))
	return m.Sum(nil)
}

// networkID hashes a client network (an IPv4 address, an IPv6 /64); "" is none.
func (s *Service) networkID(network string) NetworkID {
	var id NetworkID
	if network == "" {
		return id
	}
	m := hmac.New(sha256.New, s.netKey)
	m.Write([]byte(network))
	copy(id[:], m.Sum(nil))
	return id
}

// escalate makes a key that has not been delivered yet one difficulty harder and two
// characters longer, up to engine.MaxLength. The answer is drawn again whole, with
// crypto/rand, at the new length: nobody has seen the old one, so a fresh answer is a
// longer one with two more random characters.
func (k *Key) escalate() error {
	k.Options.Difficulty = harder(k.Options.Difficulty)
	if length := min(utf8.RuneCountInString(k.Answer)+2, engine.MaxLength); length > utf8.RuneCountInString(k.Answer) {
		answer, err := engine.NewAnswer(k.Options.Charset, length)
		if err != nil {
			return fmt.Errorf("escalating a key: %w", err)
		}
		k.Answer, k.Options.Length = answer, length
	}
	k.Escalated = true
	return nil
}

// harder is the next difficulty up; hard stays hard.
func harder(d engine.Difficulty) engine.Difficulty {
	switch d {
	case engine.Easy:
		return engine.Normal
	case engine.Normal:
		return engine.Hard
	}
	return d
}

// The table of recent answers: per network, counts per minute in a ring of one slot per
// minute of the window, so a network costs the same whatever it sends.
const (
	watchSlots = int(EscalationWindow / time.Minute)
	// maxWatchedNetworks bounds the table, at about 100 bytes a network. Past it, networks
	// not in it share one overflow record: a flood from more networks than that is judged as
	// a whole instead of growing the table.
	maxWatchedNetworks = 1 << 16
)

type minuteTally struct {
	minute       uint32 // minutes since the Unix epoch
	answers, bad uint16 // saturating
}

type recentAnswers [watchSlots]minuteTally

func (r *recentAnswers) add(minute uint32, bad bool) {
	t := &r[minute%uint32(watchSlots)]
	if t.minute != minute {
		*t = minuteTally{minute: minute}
	}
	if t.answers < ^uint16(0) {
		t.answers++
		if bad {
			t.bad++
		}
	}
}

// tally sums the slots of the window that ends with minute.
func (r *recentAnswers) tally(minute uint32) (answers, bad int) {
	for _, t := range r {
		if minute-t.minute < uint32(watchSlots) { // a slot from the future wraps around: too old
			answers += int(t.answers)
			bad += int(t.bad)
		}
	}
	return answers, bad
}

// stale says whether every slot is out of the window ending with minute.
func (r *recentAnswers) stale(minute uint32) bool {
	answers, _ := r.tally(minute)
	return answers == 0
}

// answerWatch is the table of recent answers per network, safe for concurrent use.
type answerWatch struct {
	mu        sync.Mutex
	nets      map[NetworkID]*recentAnswers
	overflow  recentAnswers
	lastSweep uint32
}

func newAnswerWatch() *answerWatch { return &answerWatch{nets: make(map[NetworkID]*recentAnswers)} }

func minuteOf(t time.Time) uint32 { return uint32(t.Unix() / 60) }

// record counts an answer of network n at t, bad if it was wrong or too fast.
func (w *answerWatch) record(n NetworkID, t time.Time, bad bool) {
	minute := minuteOf(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.nets[n]
	if r == nil {
		if minute != w.lastSweep && (len(w.nets) >= maxWatchedNetworks || minute-w.lastSweep >= uint32(watchSlots)) {
			w.sweep(minute)
		}
		if len(w.nets) >= maxWatchedNetworks {
			w.overflow.add(minute, bad)
			return
		}
		r = &recentAnswers{}
		w.nets[n] = r
	}
	r.add(minute, bad)
}

// sweep drops the networks with no answer in the window: dropping them changes no tally.
func (w *answerWatch) sweep(minute uint32) {
	for n, r := range w.nets {
		if r.stale(minute) {
			delete(w.nets, n)
		}
	}
	w.lastSweep = minute
}

// tally is how many answers network n gave in the window ending at t, and how many of them
// were bad.
func (w *answerWatch) tally(n NetworkID, t time.Time) (answers, bad int) {
	minute := minuteOf(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.nets[n]; r != nil {
		return r.tally(minute)
	}
	if len(w.nets) >= maxWatchedNetworks {
		return w.overflow.tally(minute)
	}
	return 0, 0
}

// suspect says whether network n's recent answers call for escalation under e.
func (w *answerWatch) suspect(n NetworkID, t time.Time, e Escalation) bool {
	answers, bad := w.tally(n, t)
	return answers >= e.MinAnswers && bad*100 >= e.BadPercent*answers
}

// size is how many networks the table holds, for tests.
func (w *answerWatch) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.nets)
}
