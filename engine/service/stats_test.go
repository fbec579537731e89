package service_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"captcha/engine/service"
)

// statsFixture plays known traffic: app a gets four keys (a pass after 1.5 s on the image, a
// wrong answer, a pass after 10 s on the sound, one never served that expires), a second
// answer to its used key, and app b one pass after 3 s.
func statsFixture(t *testing.T) (f *fixture, a, b *service.App) {
	t.Helper()
	f = newFixture(t)
	ctx := context.Background()
	a, b = f.app(t, 1), f.app(t, 1)
	fetch := func(k *service.Key, ch service.Channel) {
		t.Helper()
		var err error
		if ch == service.Audio {
			_, err = f.svc.KeyAudio(ctx, service.NHN, k.ID, "", "")
		} else {
			_, err = f.svc.KeyImage(ctx, service.NHN, k.ID, "", "")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	verify := func(app *service.App, k *service.Key, answer string, want error) {
		t.Helper()
		if _, err := f.svc.Verify(ctx, app, k.ID, answer, service.NoChannel); !errors.Is(err, want) {
			t.Fatalf("verify: %v, want %v", err, want)
		}
	}

	k1 := f.key(t, a)
	f.clock.Advance(time.Second)
	fetch(k1, service.Image)
	fetch(k1, service.Image) // a reload is not a second delivery
	f.clock.Advance(1500 * time.Millisecond)
	verify(a, k1, k1.Answer, nil)
	verify(a, k1, k1.Answer, service.ErrKeyUsedUp)

	k2 := f.key(t, a)
	fetch(k2, service.Image)
	f.clock.Advance(4 * time.Second)
	verify(a, k2, "WRONG0", service.ErrWrongAnswer)

	k3 := f.key(t, a)
	fetch(k3, service.Audio)
	f.clock.Advance(10 * time.Second)
	verify(a, k3, k3.Answer, nil)

	f.key(t, a) // never served

	k5 := f.key(t, b)
	fetch(k5, service.Image)
	f.clock.Advance(3 * time.Second)
	verify(b, k5, k5.Answer, nil)

	// Every key expires and housekeeping deletes them: only the unserved, unused one counts
	// as expired unsolved (k2 is used up by its wrong answer).
	f.clock.Advance(service.DefaultKeyLifetime)
	f.svc.DeleteExpiredKeys(ctx)
	return f, a, b
}

func TestStatsOfOneApp(t *testing.T) {
	f, a, _ := statsFixture(t)
	st, err := f.svc.Stats(context.Background(), a.ID, 24)
	if err != nil {
		t.Fatal(err)
	}
	want := service.HourStats{Issued: 4, Images: 2, Sounds: 1, ExpiredUnsolved: 1, Passed: 2, Wrong: 1, Refused: 1}
	if st.Totals != want {
		t.Errorf("totals %+v, want %+v", st.Totals, want)
	}
	if len(st.Hours) != 24 {
		t.Fatalf("%d hours", len(st.Hours))
	}
	// The clock started at 12:00 and is now at 12:10: everything is in the last hour.
	last := st.Hours[23]
	if !last.Hour.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) || last.Issued != 4 || last.Passed != 2 {
		t.Errorf("last hour %+v", last)
	}
	if first := st.Hours[0]; !first.Hour.Equal(time.Date(2025, 2, 28, 13, 0, 0, 0, time.UTC)) || first != (service.HourStats{Hour: first.Hour}) {
		t.Errorf("first hour %+v", first)
	}
	if !st.From.Equal(st.Hours[0].Hour) || !st.To.Equal(last.Hour.Add(time.Hour)) {
		t.Errorf("window %v to %v", st.From, st.To)
	}
	if want := []service.SolveTime{{Millis: 1500, Count: 1}, {Millis: 10000, Count: 1}}; !slices.Equal(st.SolveTimes, want) || st.Solves != 2 {
		t.Errorf("solve times %v (%d), want %v", st.SolveTimes, st.Solves, want)
	}
	if rate, ok := st.SuccessRate(); !ok || rate != 0.5 {
		t.Errorf("success rate %v %v, want 2 of 4", rate, ok)
	}
	if d, ok := st.SolveTimePercentile(0.5); !ok || d != 1500*time.Millisecond {
		t.Errorf("median %v", d)
	}
	if d, ok := st.SolveTimePercentile(0.9); !ok || d != 10*time.Second {
		t.Errorf("p90 %v", d)
	}
	if share, n, ok := st.FasterThan(2 * time.Second); !ok || n != 1 || share != 0.5 {
		t.Errorf("faster than 2 s: %v %d %v", share, n, ok)
	}
	if share, n, _ := st.FasterThan(1500 * time.Millisecond); n != 0 || share != 0 {
		t.Errorf("faster than 1.5 s (strictly): %v %d", share, n)
	}
	if h := st.Histogram([]time.Duration{time.Second, 2 * time.Second, 5 * time.Second}); !slices.Equal(h, []int64{0, 1, 0, 1}) {
		t.Errorf("histogram %v", h)
	}
	// k1 and k2 were seen as images (a pass, its second answer, a wrong one), k3 heard.
	wantChannels := map[service.Channel]service.ChannelStats{service.Image: {Passed: 1, Wrong: 1, Refused: 1}, service.Audio: {Passed: 1}}
	if !maps.Equal(st.Channels, wantChannels) {
		t.Errorf("channels %+v, want %+v", st.Channels, wantChannels)
	}
	if share, ok := st.AudioShare(); !ok || share != 0.5 {
		t.Errorf("audio share %v %v, want 1 of 2 solves", share, ok)
	}
	if rate, ok := st.Channels[service.Image].SuccessRate(); !ok || rate != 1.0/3 {
		t.Errorf("image success rate %v %v, want 1 of 3", rate, ok)
	}
	if rate, ok := st.Channels[service.Audio].SuccessRate(); !ok || rate != 1 {
		t.Errorf("audio success rate %v %v", rate, ok)
	}
	if _, ok := st.Channels[service.NoChannel].SuccessRate(); ok {
		t.Error("a success rate on a channel without verifications")
	}
}

func TestStatsOfTheWholeServer(t *testing.T) {
	f, _, _ := statsFixture(t)
	st, err := f.svc.Stats(context.Background(), 0, 24*7)
	if err != nil {
		t.Fatal(err)
	}
	want := service.HourStats{Issued: 5, Images: 3, Sounds: 1, ExpiredUnsolved: 1, Passed: 3, Wrong: 1, Refused: 1}
	if st.Totals != want || len(st.Hours) != 24*7 {
		t.Errorf("totals %+v over %d hours, want %+v", st.Totals, len(st.Hours), want)
	}
	if d, _ := st.SolveTimePercentile(0.5); d != 3*time.Second {
		t.Errorf("median of 1.5, 3 and 10 s: %v", d)
	}
	if share, ok := st.AudioShare(); !ok || share != 1.0/3 || st.Channels[service.Image].Passed != 2 {
		t.Errorf("audio share %v %v, channels %+v", share, ok, st.Channels)
	}
}

// A window with nothing in it still has its hours, and says that it has no rates.
func TestStatsOfAnEmptyWindow(t *testing.T) {
	f, a, _ := statsFixture(t)
	f.clock.Advance(3 * time.Hour)
	st, err := f.svc.Stats(context.Background(), a.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Hours) != 1 || st.Totals != (service.HourStats{}) || st.Solves != 0 {
		t.Errorf("got %+v", st)
	}
	if _, ok := st.SuccessRate(); ok {
		t.Error("a success rate without verifications")
	}
	if _, ok := st.SolveTimePercentile(0.5); ok {
		t.Error("a median without solves")
	}
	if _, _, ok := st.FasterThan(time.Second); ok {
		t.Error("a share without solves")
	}
	if h := st.Histogram([]time.Duration{time.Second}); !slices.Equal(h, []int64{0, 0}) {
		t.Errorf("histogram %v", h)
	}
	if _, ok := st.AudioShare(); ok || len(st.Channels) != 0 {
		t.Errorf("an audio share without solves, or channels %v", st.Channels)
	}
}

// Escalated keys count once each, in the app and hour of their first delivery.
func TestStatsCountEscalatedKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.app(t, 1), f.app(t, 1)
	for range 5 {
		f.answer(t, a, botNet, time.Second, false)
	}
	k := f.delivered(t, b, botNet) // the network's answers count for every app
	f.svc.KeyAudio(ctx, service.NHN, k.ID, "", botNet)
	f.delivered(t, a, botNet)
	f.delivered(t, a, personNet)
	for app, want := range map[int64]int64{a.ID: 1, b.ID: 1, 0: 2} {
		st, err := f.svc.Stats(ctx, app, 24)
		if err != nil {
			t.Fatal(err)
		}
		if st.Totals.Escalated != want || st.Hours[23].Escalated != want {
			t.Errorf("app %d: %d escalated, want %d", app, st.Totals.Escalated, want)
		}
	}
}

// Deleting an app deletes its counters without counting its live keys as expired.
func TestStatsForgetADeletedApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.app(t, 1), f.app(t, 1)
	f.key(t, a)
	f.key(t, b)
	if err := f.svc.DeleteApp(ctx, a.AppKey); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.Stats(ctx, 0, 24)
	if err != nil {
		t.Fatal(err)
	}
	if want := (service.HourStats{Issued: 1}); st.Totals != want {
		t.Errorf("totals %+v, want %+v", st.Totals, want)
	}
}
