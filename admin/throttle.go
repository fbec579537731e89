package admin

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The sign-in throttle, in memory: it need not survive a restart, and a restart is no help
// to an attacker who must first wait out the current block.
//
// Attempts are counted per client IP (per /64 for IPv6) and per pair of account name and
// IP. Each key may make a few attempts; from the last of those on, every attempt blocks
// the next for twice as long as the previous one did, from one second up to a quarter of
// an hour. An hour without an attempt forgets the key. An IP may make more attempts than a
// pair because it may guess at many accounts, and many people can share one address.
//
// There is no key for an account alone, whatever the address: a block on it is one that
// anyone anywhere can set off, and renew forever, to keep the owner out. Instead the
// guessing addresses are slowed, each on its own, and the owner at an address without
// failures gets in. A looser ceiling per account that still let a clean address through
// would have to leave each new address its first attempts, which is all that a guesser
// with many addresses needs; what bounds that guesser is bcrypt's cost, the 120-bit
// generated password and the minimum length, and every failure is logged with its account
// and address for an operator's alerts.
//
// Account names are keys whether or not the account exists, so that the throttle does not
// tell which exist.
//
// An attempt counts as a failure from the moment it begins, under the lock, and a success
// gives it back: counting only once bcrypt had said no let a burst of concurrent guesses all
// through before the first of them was recorded. A success clears its pair but gives back
// only its own attempt to the IP, so that one valid account cannot be used to reset the
// guessing of others from the same address.
const (
	attemptsPerIP   = 10
	attemptsPerPair = 5 // per account and IP
	firstBlock      = time.Second
	maxBlock        = 15 * time.Minute
	forgetAfter     = time.Hour
	// maxThrottleKeys bounds memory under a flood of distinct names or addresses (which
	// bcrypt already slows to a few dozen a second): past it, records are forgotten sooner.
	maxThrottleKeys = 100_000
)

type throttle struct {
	now       func() time.Time
	mu        sync.Mutex
	records   map[string]*strikes
	lastSweep time.Time
}

// strikes are the attempts of one key that have not been given back.
type strikes struct {
	allowed  int // attempts before the first block
	attempts int
	last     time.Time // when the last attempt began
}

// blockedUntil is when the key may try again: the attempt that used up the allowance blocks
// for firstBlock, and each one after it for twice as long as the one before.
func (s *strikes) blockedUntil() time.Time {
	over := s.attempts - s.allowed
	if over < 0 {
		return time.Time{}
	}
	block := maxBlock
	if over < 20 { // 2^20 s is far past maxBlock
		block = min(firstBlock<<over, maxBlock)
	}
	return s.last.Add(block)
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, records: map[string]*strikes{}}
}

func ipKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	if addr.Is6() && !addr.Is4In6() {
		// One IPv6 user holds a whole /64: throttling single addresses would not throttle them.
		p, _ := addr.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + addr.Unmap().String()
}

func accountKey(user string) string {
	user = strings.ToLower(user)
	if len(user) > 64 {
		user = user[:64]
	}
	return "user:" + user
}

// account is what the throttle knows of an account: its name, and when its password was
// last set, so that setting a password (here or in another process, such as `captcha admin
// passwd`) starts the account's records afresh and lifts its blocks; the old records are
// forgotten with time.
type account struct {
	name          string
	passwordSetAt time.Time // zero for a name that is no account
}

// pairKey is the key of one account at one address.
func pairKey(ip string, a account) string {
	return accountKey(a.name) + "@" + strconv.FormatInt(a.passwordSetAt.UnixMilli(), 10) + "|" + ipKey(ip)
}

// attempt is a password check the throttle let begin. It already counts as a failure;
// the caller tells it how the check ended.
type attempt struct {
	t        *throttle
	ip, pair string // keys
}

// begin lets an attempt at acct's password from ip begin, counting it, or says how long
// the IP, or the account at that IP, must still wait.
func (t *throttle) begin(ip string, acct account) (*attempt, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	a := &attempt{t: t, ip: ipKey(ip), pair: pairKey(ip, acct)}
	limits := []struct {
		key     string
		allowed int
	}{{a.ip, attemptsPerIP}, {a.pair, attemptsPerPair}}
	var wait time.Duration
	for _, l := range limits {
		if s := t.live(l.key, now); s != nil {
			wait = max(wait, s.blockedUntil().Sub(now))
		}
	}
	if wait > 0 {
		return nil, wait
	}
	for _, l := range limits {
		s := t.live(l.key, now)
		if s == nil {
			s = &strikes{allowed: l.allowed}
			t.records[l.key] = s
		}
		s.attempts++
		s.last = now
	}
	return a, 0
}

// live is key's record unless there is none or it has been forgotten.
func (t *throttle) live(key string, now time.Time) *strikes {
	s := t.records[key]
	if s == nil || now.Sub(s.last) >= forgetAfter {
		return nil
	}
	return s
}

// failed counts the wait from now, when the client is told, rather than from when the
// attempt began: a slow check (bcrypt on a busy machine) must not use the wait up before
// the answer is even sent. Concurrent attempts were held off from the beginning.
func (a *attempt) failed() {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	now := a.t.now()
	for _, key := range []string{a.ip, a.pair} {
		if s := a.t.records[key]; s != nil && s.last.Before(now) {
			s.last = now
		}
	}
}

// succeeded clears the pair's record and gives the IP its attempt back.
func (a *attempt) succeeded() {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	delete(a.t.records, a.pair)
	a.t.giveBack(a.ip)
}

// cancel gives the attempt back to both keys: the password was never judged (the database
// failed), so it says nothing about who is guessing.
func (a *attempt) cancel() {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	a.t.giveBack(a.ip)
	a.t.giveBack(a.pair)
}

// giveBack uncounts one attempt. Its block shrinks accordingly, measured from when the
// latest attempt began, which may be a little later than the block it replaces began.
func (t *throttle) giveBack(key string) {
	if s := t.records[key]; s != nil && s.attempts > 0 {
		s.attempts--
	}
}

// sweep drops forgotten records once a minute; when there are too many, it forgets records
// sooner (never one that is blocking), until half the room is free.
func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute && len(t.records) < maxThrottleKeys {
		return
	}
	t.lastSweep = now
	for horizon := forgetAfter; ; horizon /= 2 {
		for k, s := range t.records {
			if now.Sub(s.last) >= horizon && !s.blockedUntil().After(now) {
				delete(t.records, k)
			}
		}
		if len(t.records) < maxThrottleKeys/2 || horizon < time.Minute {
			return
		}
	}
}

// windowLimiter allows n events per window per client network: the demo page's limit on
// verifications, which keeps anyone from using it to hammer the database. (The widget's own
// challenges are limited per client network by web, as on any site.)
type windowLimiter struct {
	n      int
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	counts map[string]*windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

// demoVerificationsPerMinute is far more than a person sends, and little for the database.
const demoVerificationsPerMinute = 30

func newWindowLimiter(n int, window time.Duration, now func() time.Time) *windowLimiter {
	return &windowLimiter{n: n, window: window, now: now, counts: map[string]*windowCount{}}
}

func (l *windowLimiter) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := ipKey(ip)
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		if len(l.counts) >= maxThrottleKeys {
			for k, old := range l.counts {
				if now.Sub(old.start) >= l.window {
					delete(l.counts, k)
				}
			}
		}
		if len(l.counts) >= maxThrottleKeys {
			return false // a flood from that many networks: refuse rather than grow
		}
		c = &windowCount{start: now}
		l.counts[key] = c
	}
	if c.n >= l.n {
		return false
	}
	c.n++
	return true
}
