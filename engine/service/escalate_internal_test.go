package service

import (
	"errors"
	"testing"
	"time"

	"captcha/engine"
)

// Answers count for EscalationWindow, a minute at a time, and no longer.
func TestAnswerWatchWindow(t *testing.T) {
	w := newAnswerWatch()
	n := NetworkID{1}
	start := time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)
	for i := range 4 {
		w.record(n, start.Add(time.Duration(i)*time.Minute), i != 0) // one good answer, then three bad
	}
	if a, b := w.tally(n, start.Add(3*time.Minute)); a != 4 || b != 3 {
		t.Fatalf("tally %d/%d, want 4/3", a, b)
	}
	if a, _ := w.tally(NetworkID{2}, start); a != 0 {
		t.Fatalf("another network has %d answers", a)
	}
	e := Escalation{Enabled: true, MinAnswers: 4, BadPercent: 75}
	if !w.suspect(n, start.Add(3*time.Minute), e) {
		t.Error("3 bad of 4 is 75%: not suspect")
	}
	if e.BadPercent = 76; w.suspect(n, start.Add(3*time.Minute), e) {
		t.Error("3 bad of 4 is under 76%: suspect")
	}
	if w.suspect(n, start.Add(3*time.Minute), Escalation{Enabled: true, MinAnswers: 5, BadPercent: 1}) {
		t.Error("suspect on fewer answers than the minimum")
	}
	// Ten minutes after the first answer it is out of the window; the other three are not.
	if a, b := w.tally(n, start.Add(EscalationWindow)); a != 3 || b != 3 {
		t.Fatalf("tally %d/%d at the end of the first answer's window, want 3/3", a, b)
	}
	if a, _ := w.tally(n, start.Add(EscalationWindow+3*time.Minute)); a != 0 {
		t.Fatalf("%d answers left after the window", a)
	}
	// A clock that steps back does not count answers from its future.
	if a, _ := w.tally(n, start.Add(-time.Minute)); a != 0 {
		t.Fatalf("%d answers from the future", a)
	}
}

// Networks with no answer in the window are swept; past maxWatchedNetworks newcomers share
// one record instead of growing the table.
func TestAnswerWatchIsBounded(t *testing.T) {
	w := newAnswerWatch()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	id := func(i int) NetworkID { return NetworkID{byte(i), byte(i >> 8), byte(i >> 16), 1} }
	for i := range maxWatchedNetworks {
		w.record(id(i), start, false)
	}
	if w.size() != maxWatchedNetworks {
		t.Fatalf("%d networks", w.size())
	}
	for i := range 5 {
		w.record(id(maxWatchedNetworks+i), start, true)
	}
	if w.size() != maxWatchedNetworks {
		t.Fatalf("the table grew past its bound: %d", w.size())
	}
	if a, b := w.tally(id(maxWatchedNetworks+100), start); a != 5 || b != 5 {
		t.Fatalf("a newcomer past the bound reads the shared record: %d/%d", a, b)
	}
	if a, b := w.tally(id(7), start); a != 1 || b != 0 {
		t.Fatalf("a network in the table: %d/%d", a, b)
	}
	// Once the window has passed, a newcomer sweeps the table.
	w.record(id(-1), start.Add(EscalationWindow), true)
	if w.size() != 1 {
		t.Fatalf("%d networks after the sweep, want 1", w.size())
	}
}

func TestEscalationValidate(t *testing.T) {
	for _, tc := range []struct {
		e     Escalation
		field string
	}{
		{DefaultEscalation(), ""},
		{Escalation{MinAnswers: 1, BadPercent: 100, FastSolve: 0}, ""},
		{Escalation{MinAnswers: 100, BadPercent: 1, FastSolve: MaxFastSolve}, ""},
		{Escalation{MinAnswers: 0, BadPercent: 70}, "escalate_min_answers"},
		{Escalation{MinAnswers: 101, BadPercent: 70}, "escalate_min_answers"},
		{Escalation{MinAnswers: 5, BadPercent: 0}, "escalate_bad_percent"},
		{Escalation{MinAnswers: 5, BadPercent: 101}, "escalate_bad_percent"},
		{Escalation{MinAnswers: 5, BadPercent: 70, FastSolve: -fastSolveStep}, "fast_solve"},
		{Escalation{MinAnswers: 5, BadPercent: 70, FastSolve: MaxFastSolve + fastSolveStep}, "fast_solve"},
		{Escalation{MinAnswers: 5, BadPercent: 70, FastSolve: 1050 * time.Millisecond}, "fast_solve"},
	} {
		err := tc.e.Validate()
		var fe *engine.FieldError
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || fe.Allowed == "") {
			t.Errorf("%+v: %v, want an error for %q", tc.e, err, tc.field)
		}
	}
}
