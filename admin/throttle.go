package admin

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The sign-in throttle, in memory: it need not survive a restart, and a restart is no help
// to an attacker who must first wait out the current block.
//
// Each IP and each account name (existing or not, so that the throttle does not tell which
// exist) has a few free failures; past them, every failure blocks further attempts for twice
// as long as the previous one, from one second up to a quarter of an hour. An hour without a
// failure forgets the key. A success clears its account's record but not its IP's, so that
// one valid account cannot be used to reset the guessing of others from the same address.
// An IP gets more free failures than an account because many people can share one address.
const (
	freeFailuresPerIP      = 10
	freeFailuresPerAccount = 5
	firstBlock             = time.Second
	maxBlock               = 15 * time.Minute
	forgetAfter            = time.Hour
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

type strikes struct {
	failures     int
	last         time.Time
	blockedUntil time.Time
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

// wait is how long the IP or the account must still wait before it may try again.
func (t *throttle) wait(ip, user string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range []string{ipKey(ip), accountKey(user)} {
		if s := t.records[k]; s != nil && s.blockedUntil.After(now) {
			wait = max(wait, s.blockedUntil.Sub(now))
		}
	}
	return wait
}

// failed records a failed sign-in against both the IP and the account.
func (t *throttle) failed(ip, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	t.strike(ipKey(ip), freeFailuresPerIP, now)
	t.strike(accountKey(user), freeFailuresPerAccount, now)
}

func (t *throttle) strike(key string, free int, now time.Time) {
	s := t.records[key]
	if s == nil || now.Sub(s.last) >= forgetAfter {
		s = &strikes{}
		t.records[key] = s
	}
	s.failures++
	s.last = now
	if over := s.failures - free; over > 0 {
		block := maxBlock
		if over <= 20 { // 2^20 s is far past maxBlock
			block = min(firstBlock<<(over-1), maxBlock)
		}
		s.blockedUntil = now.Add(block)
	}
}

// succeeded clears the account's record.
func (t *throttle) succeeded(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.records, accountKey(user))
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
			if now.Sub(s.last) >= horizon && !s.blockedUntil.After(now) {
				delete(t.records, k)
			}
		}
		if len(t.records) < maxThrottleKeys/2 || horizon < time.Minute {
			return
		}
	}
}

// windowLimiter allows n events per window per client network: the demo page's limit on
// new challenges, which keeps anyone from filling the database through it.
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

// demoIssuesPerMinute is far more than a person asks for, and little for the database.
const demoIssuesPerMinute = 30

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
