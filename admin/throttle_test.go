package admin

import (
	"testing"
	"time"
)

func TestThrottleBackoff(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const ip, user = "198.51.100.1", "alice"
	for i := range freeFailuresPerAccount {
		if w := th.wait(ip, user); w != 0 {
			t.Fatalf("before failure %d: wait %v", i+1, w)
		}
		th.failed(ip, user)
	}
	if w := th.wait(ip, user); w != 0 {
		t.Fatalf("after the free failures: wait %v", w)
	}
	// Each further failure doubles the block, up to the cap.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		th.failed(ip, user)
		if w := th.wait(ip, user); w != want {
			t.Errorf("failure %d: wait %v, want %v", freeFailuresPerAccount+i+1, w, want)
		}
	}
	for range 30 {
		th.failed(ip, user)
	}
	if w := th.wait(ip, user); w != maxBlock {
		t.Errorf("after many failures: %v, want the cap %v", w, maxBlock)
	}
	// An hour without failures forgets them.
	now = now.Add(forgetAfter)
	th.failed(ip, user)
	if w := th.wait(ip, user); w != 0 {
		t.Errorf("a failure an hour later: wait %v", w)
	}
}

func TestThrottleKeys(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2:ffff::1"}, // one /64
		{"::ffff:198.51.100.1", "198.51.100.1"},          // IPv4-mapped
	} {
		if ipKey(tc.a) != ipKey(tc.b) {
			t.Errorf("%s and %s are throttled apart: %s, %s", tc.a, tc.b, ipKey(tc.a), ipKey(tc.b))
		}
	}
	if ipKey("2001:db8:1:2::1") == ipKey("2001:db8:1:3::1") {
		t.Error("two /64s share a record")
	}
	if accountKey("Alice") != accountKey("alice") {
		t.Error("account names are not case-folded")
	}
}

func TestThrottleSweepKeepsBlocks(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for range freeFailuresPerAccount + 1 {
		th.failed("198.51.100.1", "alice")
	}
	now = now.Add(2 * time.Minute)
	th.failed("198.51.100.2", "bob") // sweeps
	if _, ok := th.records[accountKey("alice")]; !ok {
		t.Error("the sweep dropped a recent record")
	}
	now = now.Add(forgetAfter)
	th.failed("198.51.100.2", "bob")
	if _, ok := th.records[accountKey("alice")]; ok {
		t.Error("the sweep kept a forgotten record")
	}
}
