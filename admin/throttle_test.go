package admin

import (
	"testing"
	"time"
)

// fail begins an attempt and ends it as a failure; a refusal returns its wait.
func fail(th *throttle, ip, user string) time.Duration {
	a, wait := th.begin(ip, account{name: user})
	if a != nil {
		a.failed()
	}
	return wait
}

func TestThrottleBackoff(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const ip, user = "198.51.100.1", "alice"
	for i := range attemptsPerPair {
		if w := fail(th, ip, user); w != 0 {
			t.Fatalf("attempt %d of the allowance: wait %v", i+1, w)
		}
	}
	// The attempt that used up the allowance blocks for a second; each one after that
	// blocks twice as long as the one before, up to the cap.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if w := fail(th, ip, user); w != want {
			t.Fatalf("after %d attempts: wait %v, want %v", attemptsPerPair+i, w, want)
		}
		if w := fail(th, ip, user); w != want {
			t.Fatalf("a refused attempt changed the wait: %v, want %v", w, want)
		}
		now = now.Add(want)
		if w := fail(th, ip, user); w != 0 {
			t.Fatalf("once the block has passed: wait %v", w)
		}
	}
	for range 30 {
		now = now.Add(fail(th, ip, user))
		fail(th, ip, user)
	}
	if w := fail(th, ip, user); w != maxBlock {
		t.Errorf("after many attempts: %v, want the cap %v", w, maxBlock)
	}
	// An hour without attempts forgets them.
	now = now.Add(forgetAfter)
	if w := fail(th, ip, user); w != 0 {
		t.Errorf("an attempt an hour later: wait %v", w)
	}
	if w := fail(th, ip, user); w != 0 {
		t.Errorf("the attempt after it: wait %v", w)
	}
}

// A wait runs from the answer to the failure, not from the beginning of its check, which
// may have taken a while; attempts meanwhile were refused from the beginning.
func TestThrottleWaitsFromTheFailure(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const ip, user = "198.51.100.1", "alice"
	for range attemptsPerPair - 1 {
		fail(th, ip, user)
	}
	slow, _ := th.begin(ip, account{name: user}) // uses up the allowance
	now = now.Add(500 * time.Millisecond)
	if w := fail(th, ip, user); w != 500*time.Millisecond {
		t.Errorf("during the check: wait %v, want the rest of the block it set", w)
	}
	now = now.Add(3 * time.Second)
	slow.failed()
	if w := fail(th, ip, user); w != time.Second {
		t.Errorf("right after the slow failure: wait %v, want the whole block", w)
	}
}

func TestThrottleGivesBack(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const ip = "198.51.100.1"
	for range attemptsPerPair - 1 {
		fail(th, ip, "alice")
	}
	a, _ := th.begin(ip, account{name: "alice"})
	a.succeeded()
	if s := th.records[pairKey(ip, account{name: "alice"})]; s != nil {
		t.Errorf("a success left its pair's record: %+v", s)
	}
	if s := th.records[ipKey(ip)]; s == nil || s.attempts != attemptsPerPair-1 {
		t.Errorf("the IP after a success: %+v, want only the failures counted", s)
	}

	a, _ = th.begin(ip, account{name: "bob"})
	a.cancel()
	if s := th.records[pairKey(ip, account{name: "bob"})]; s == nil || s.attempts != 0 {
		t.Errorf("bob after a cancelled attempt: %+v", s)
	}
	if s := th.records[ipKey(ip)]; s.attempts != attemptsPerPair-1 {
		t.Errorf("the IP after a cancelled attempt: %+v", s)
	}
}

// A password set anew, here or by another process, starts the account's records afresh.
func TestThrottleForgetsBlocksOfAnOldPassword(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const ip = "198.51.100.1"
	before := account{name: "alice", passwordSetAt: now.Add(-time.Hour)}
	for range attemptsPerPair {
		th.begin(ip, before)
	}
	if _, wait := th.begin(ip, before); wait == 0 {
		t.Fatal("not blocked past the allowance")
	}
	after := account{name: "alice", passwordSetAt: now}
	if _, wait := th.begin(ip, after); wait != 0 {
		t.Errorf("blocked after the password was set: %v", wait)
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
	if pairKey("198.51.100.1", account{name: "Alice"}) != pairKey("::ffff:198.51.100.1", account{name: "alice"}) {
		t.Error("account names are not case-folded, or addresses not normalised, in pairs")
	}
	if pairKey("198.51.100.1", account{name: "alice"}) == pairKey("198.51.100.2", account{name: "alice"}) {
		t.Error("one account at two addresses shares a record")
	}
}

func TestThrottleSweepKeepsBlocks(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for range attemptsPerPair {
		fail(th, "198.51.100.1", "alice")
	}
	now = now.Add(2 * time.Minute)
	fail(th, "198.51.100.2", "bob") // sweeps
	if _, ok := th.records[pairKey("198.51.100.1", account{name: "alice"})]; !ok {
		t.Error("the sweep dropped a recent record")
	}
	now = now.Add(forgetAfter)
	fail(th, "198.51.100.2", "bob")
	if _, ok := th.records[pairKey("198.51.100.1", account{name: "alice"})]; ok {
		t.Error("the sweep kept a forgotten record")
	}
}
