package web

import (
	"fmt"
	"testing"
	"time"
)

func TestKeyedLimiterBucketsPerKey(t *testing.T) {
	l := newKeyedLimiter(true, Rate{PerSecond: 1, Burst: 2})
	now := time.Unix(1_700_000_000, 0)
	for i, want := range []bool{true, true, false} {
		if got := l.allow("a", now); got != want {
			t.Fatalf("request %d: %v", i, got)
		}
	}
	if !l.allow("b", now) {
		t.Fatal("another key shares the bucket")
	}
	if !l.allow("a", now.Add(time.Second)) {
		t.Fatal("no refill after a second")
	}
	if off := newKeyedLimiter(false, Rate{PerSecond: 1, Burst: 1}); !off.allow("a", now) || !off.allow("a", now) {
		t.Fatal("a disabled limiter refused")
	}
}

// exhausted looks without taking a token or making a bucket.
func TestKeyedLimiterExhausted(t *testing.T) {
	l := newKeyedLimiter(true, Rate{PerSecond: 1, Burst: 2})
	now := time.Unix(1_700_000_000, 0)
	if l.exhausted("a", now) || l.size() != 0 {
		t.Fatalf("a key never seen: exhausted, or a bucket made (%d)", l.size())
	}
	l.allow("a", now)
	for range 3 {
		if l.exhausted("a", now) {
			t.Fatal("exhausted with a token left, or looking took it")
		}
	}
	l.allow("a", now)
	if !l.exhausted("a", now) {
		t.Fatal("not exhausted after the burst")
	}
	if l.exhausted("a", now.Add(time.Second)) {
		t.Fatal("still exhausted after a refill")
	}
	var off *keyedLimiter
	if off.exhausted("a", now) {
		t.Fatal("a disabled limiter is exhausted")
	}
}

// charge takes a token even from an empty bucket; the debt is paid back before the bucket
// allows again.
func TestKeyedLimiterCharge(t *testing.T) {
	l := newKeyedLimiter(true, Rate{PerSecond: 1, Burst: 2})
	now := time.Unix(1_700_000_000, 0)
	for range 4 { // two tokens, then two of debt
		l.charge("a", now)
	}
	for _, tc := range []struct {
		after     time.Duration
		exhausted bool
	}{{0, true}, {2 * time.Second, true}, {3 * time.Second, false}} {
		if got := l.exhausted("a", now.Add(tc.after)); got != tc.exhausted {
			t.Errorf("after %v: exhausted %v", tc.after, got)
		}
	}
	if l.exhausted("b", now) {
		t.Error("another key was charged")
	}
	var off *keyedLimiter
	off.charge("a", now) // a disabled limiter charges nothing, and does not panic
}

// Buckets idle long enough to be full again are dropped, which changes no answer.
func TestKeyedLimiterSweepsIdleBuckets(t *testing.T) {
	l := newKeyedLimiter(true, Rate{PerSecond: 10, Burst: 20}) // full again after 2 s
	now := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		l.allow(fmt.Sprint(i), now)
	}
	if l.size() != 100 {
		t.Fatalf("%d buckets", l.size())
	}
	l.allow("late", now.Add(3*time.Second))
	if l.size() != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", l.size())
	}
}

// Past maxBuckets, new keys share one overflow bucket instead of growing the map.
func TestKeyedLimiterIsBounded(t *testing.T) {
	l := newKeyedLimiter(true, Rate{PerSecond: 0.001, Burst: 1})
	now := time.Unix(1_700_000_000, 0)
	for i := range maxBuckets {
		l.allow(fmt.Sprint(i), now)
	}
	if !l.allow("first newcomer", now) {
		t.Fatal("the overflow bucket refused its first request")
	}
	if l.allow("second newcomer", now) {
		t.Fatal("newcomers past the bound do not share a bucket")
	}
	if l.size() != maxBuckets {
		t.Fatalf("%d buckets", l.size())
	}
}

func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"::ffff:203.0.113.9":   "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not an address":       "not an address",
	} {
		if got := clientNetwork(in); got != want {
			t.Errorf("clientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
