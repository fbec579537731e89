package web

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: PerSecond tokens refill each second, up to Burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Limits are the abuse limits, set with the two sides of a CAPTCHA flow in mind: issuance
// and verification come from a customer's backend (one IP for all its users), so they are
// limited per app; image and sound fetches come from end users' browsers, so they are
// limited per client network. A call whose app cannot be identified is charged to no app
// (anyone can name any appkey): it is limited per client network too.
type Limits struct {
	Enabled   bool
	AppIssue  Rate // key issuance, per app
	AppVerify Rate // verification and expiry, per app
	IPFetch   Rate // image and sound fetches, per client IP (per /64 for IPv6)
	// IPAuthFailure is the budget of failed identifications (an unknown or disabled appkey,
	// one of the other dialect, missing or wrong credentials) per client IP.
	IPAuthFailure Rate
	// IPSounds is the quota of sounds per client IP (per /64 for IPv6): first deliveries of
	// a key's sound, on top of IPFetch. About 1% of people use the audio, so a client that
	// asks for many sounds is farming them (to train a speech recogniser, say), and the
	// sounds of keys are what it farms: replaying a sound already delivered costs nothing.
	IPSounds Rate
}

// maxBuckets bounds a limiter's memory. Past it, new keys share one overflow bucket: a flood
// from more distinct addresses than that is throttled as a whole instead of growing the map.
const maxBuckets = 100_000

// keyedLimiter keeps one token bucket per key (an appkey, a client network).
type keyedLimiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket takes to refill completely; one untouched for longer is
	// indistinguishable from a new one, so sweeping it changes nothing.
	idle time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	overflow  *rate.Limiter
	lastSweep time.Time
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

// newKeyedLimiter returns nil, which allows everything, when limits are off.
func newKeyedLimiter(enabled bool, r Rate) *keyedLimiter {
	if !enabled {
		return nil
	}
	idle := time.Second
	if r.PerSecond > 0 {
		idle = max(idle, time.Duration(float64(r.Burst)/r.PerSecond*float64(time.Second)))
	}
	return &keyedLimiter{
		limit:    rate.Limit(r.PerSecond),
		burst:    r.Burst,
		idle:     idle,
		buckets:  make(map[string]*bucket),
		overflow: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst),
	}
}

// allow takes a token from key's bucket at now.
func (l *keyedLimiter) allow(key string, now time.Time) bool {
	if l == nil {
		return true
	}
	return l.bucket(key, now).AllowN(now, 1)
}

// charge takes a token from key's bucket at now even when it has none, leaving it in debt
// that its refill pays back first: for a limit charged once the request has turned out to
// cost (a sound's first delivery), whose requests are checked with exhausted beforehand.
// Requests checked at once and charged later can take the bucket below zero, by no more
// than there were of them, and that is paid back too. A bucket in debt may be swept a
// little before it has paid it all, when it has been idle for a whole refill.
func (l *keyedLimiter) charge(key string, now time.Time) {
	if l == nil {
		return
	}
	l.bucket(key, now).ReserveN(now, 1)
}

// bucket returns key's bucket, made full if it had none, or the overflow bucket past
// maxBuckets.
func (l *keyedLimiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if now.Sub(l.lastSweep) >= l.idle || len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		if len(l.buckets) >= maxBuckets {
			return l.overflow
		}
		b = &bucket{limiter: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.limiter
}

// exhausted says whether key's bucket is empty at now, without taking a token: for a limit
// that charges only some requests (failures) but, once used up, refuses all of them.
func (l *keyedLimiter) exhausted(key string, now time.Time) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	b := l.buckets[key]
	overflowing := b == nil && len(l.buckets) >= maxBuckets
	l.mu.Unlock()
	switch {
	case b != nil:
		return b.limiter.TokensAt(now) < 1
	case overflowing:
		return l.overflow.TokensAt(now) < 1
	}
	return false // no bucket yet: a full one
}

// wait is how long key's bucket takes from now to hold a token again: 0 when it holds one
// (or limits are off), an hour when it never refills.
func (l *keyedLimiter) wait(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	missing := 1 - l.bucket(key, now).TokensAt(now)
	switch {
	case missing <= 0:
		return 0
	case l.limit <= 0:
		return time.Hour
	}
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

func (l *keyedLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.idle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

func (l *keyedLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// clientNetwork is the rate-limit key of a client address: the address itself for IPv4, its
// /64 for IPv6, since one subscriber is usually handed a whole /64.
func clientNetwork(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
