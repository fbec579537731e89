package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"captcha/engine"
	"captcha/engine/service"
)

const (
	botNet    = "203.0.113.9"
	personNet = "198.51.100.7"
)

// stored reads a key as the writer sees it, first deliveries not yet committed included.
func (f *fixture) stored(t *testing.T, id string) *service.Key {
	t.Helper()
	var seen service.Key
	err := f.db.UpdateKey(context.Background(), id, func(k *service.Key) (*service.Verification, error) {
		seen = *k
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &seen
}

// delivered issues a key of app and fetches its image from network.
func (f *fixture) delivered(t *testing.T, app *service.App, network string) *service.Key {
	t.Helper()
	k := f.key(t, app)
	if _, err := f.svc.KeyImage(context.Background(), service.NHN, k.ID, "", network); err != nil {
		t.Fatal(err)
	}
	return f.stored(t, k.ID)
}

// answer delivers a key of app to network and answers it after a while, rightly or not.
func (f *fixture) answer(t *testing.T, app *service.App, network string, after time.Duration, right bool) {
	t.Helper()
	k := f.delivered(t, app, network)
	f.clock.Advance(after)
	answer := k.Answer
	if !right {
		answer = "WRONG"
	}
	if _, err := f.svc.Verify(context.Background(), app, k.ID, answer, service.NoChannel); err != nil && !errors.Is(err, service.ErrWrongAnswer) {
		t.Fatal(err)
	}
}

func TestEscalationFollowsTheNetworksAnswers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1) // normal, 6 characters, escalation on by default
	for range 4 {
		f.answer(t, app, botNet, 5*time.Second, false)
	}
	if k := f.delivered(t, app, botNet); k.Escalated {
		t.Fatal("escalated after 4 answers, under the minimum of 5")
	}
	f.answer(t, app, botNet, 5*time.Second, false)

	issued := f.key(t, app)
	first, err := f.svc.KeyImage(ctx, service.NHN, issued.ID, "", botNet)
	if err != nil {
		t.Fatal(err)
	}
	k := f.stored(t, issued.ID)
	if !k.Escalated || k.Options.Difficulty != engine.Hard || utf8.RuneCountInString(k.Answer) != 8 || k.Options.Length != 8 {
		t.Fatalf("after 5 wrong answers: %+v", k)
	}
	if k.Options.Charset != engine.Alnum || !isDrawnFrom(k.Answer, engine.Alnum) {
		t.Fatalf("the longer answer %q is not of the app's charset", k.Answer)
	}
	// Every later fetch, from anywhere, draws the same harder challenge.
	again, _ := f.svc.KeyImage(ctx, service.NHN, issued.ID, "", personNet)
	if string(again.Data) != string(first.Data) {
		t.Error("an escalated key drew differently the second time")
	}
	if _, err := f.svc.KeyAudio(ctx, service.NHN, issued.ID, "", botNet); err != nil {
		t.Fatal(err)
	}
	if f.stored(t, issued.ID).Answer != k.Answer {
		t.Error("the sound's first delivery changed the escalated answer")
	}
	// The answer it was issued with no longer passes; the one it was drawn with does.
	if _, err := f.svc.Verify(ctx, app, issued.ID, issued.Answer, service.NoChannel); !errors.Is(err, service.ErrWrongAnswer) {
		t.Errorf("the answer from before the escalation: %v", err)
	}

	// Other networks, and deliveries without a client, are left alone.
	if k := f.delivered(t, app, personNet); k.Escalated || k.Options.Difficulty != engine.Normal {
		t.Errorf("another network's key: %+v", k)
	}
	if k := f.delivered(t, app, ""); k.Escalated || !k.Network.IsZero() {
		t.Errorf("a delivery without a client: %+v", k)
	}
	// The answers age out of the window.
	f.clock.Advance(service.EscalationWindow)
	if k := f.delivered(t, app, botNet); k.Escalated {
		t.Error("still escalated once the window has passed")
	}
}

// Passes faster than the app's threshold count like wrong answers; slower ones like a person's.
func TestEscalationCountsImplausiblyFastSolves(t *testing.T) {
	f := newFixture(t)
	app := f.app(t, 1)
	for range 5 {
		f.answer(t, app, botNet, 900*time.Millisecond, true)
		f.answer(t, app, personNet, 4*time.Second, true)
	}
	if k := f.delivered(t, app, botNet); !k.Escalated {
		t.Error("five solves in 0.9 s did not escalate")
	}
	if k := f.delivered(t, app, personNet); k.Escalated {
		t.Error("five solves in 4 s escalated")
	}
	// 3 bad of 5 is 60%, under the default 70%.
	f.clock.Advance(service.EscalationWindow)
	for i := range 5 {
		f.answer(t, app, botNet, 4*time.Second, i < 2)
	}
	if k := f.delivered(t, app, botNet); k.Escalated {
		t.Error("3 wrong of 5 escalated")
	}
}

// An app's policy: its thresholds decide, and with escalation off its keys are never
// escalated and its answers are no evidence against a network.
func TestEscalationIsPerApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	strict, off := service.DefaultAppSettings(), service.DefaultAppSettings()
	strict.Escalation.MinAnswers, strict.Escalation.BadPercent, strict.Escalation.FastSolve = 2, 50, 5*time.Second
	off.Escalation.Enabled = false
	strictApp, _, err := f.svc.CreateApp(ctx, "strict", service.NHN, strict)
	if err != nil {
		t.Fatal(err)
	}
	offApp, _, err := f.svc.CreateApp(ctx, "off", service.NHN, off)
	if err != nil {
		t.Fatal(err)
	}
	lenient := f.app(t, 1)

	for range 5 {
		f.answer(t, offApp, botNet, time.Second, false)
	}
	if k := f.delivered(t, strictApp, botNet); k.Escalated {
		t.Fatal("answers to an app with escalation off counted")
	}
	f.answer(t, strictApp, botNet, 3*time.Second, true) // under its 5 s
	f.answer(t, strictApp, botNet, 10*time.Second, true)
	if k := f.delivered(t, strictApp, botNet); !k.Escalated || k.Network.IsZero() {
		t.Errorf("1 fast solve of 2 under 50%%/2 answers: %+v", k)
	}
	if k := f.delivered(t, lenient, botNet); k.Escalated {
		t.Error("the default policy escalated on 2 answers")
	}
	if k := f.delivered(t, offApp, botNet); k.Escalated || !k.Network.IsZero() {
		t.Errorf("an app with escalation off: %+v", k)
	}
}

// One difficulty up, two characters more, up to the engine's limits.
func TestEscalationSteps(t *testing.T) {
	for _, tc := range []struct {
		difficulty, want engine.Difficulty
		length, wantLen  int
	}{
		{engine.Easy, engine.Normal, 4, 6},
		{engine.Normal, engine.Hard, 6, 8},
		{engine.Hard, engine.Hard, 7, 8},
		{engine.Hard, engine.Hard, 8, 8},
	} {
		f := newFixture(t)
		s := service.DefaultAppSettings()
		s.Charset, s.Lang, s.Difficulty, s.Length = engine.Hangul, engine.Korean, tc.difficulty, tc.length
		s.Escalation.MinAnswers = 1
		app, _, err := f.svc.CreateApp(context.Background(), "shop", service.NHN, s)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, app, botNet, time.Second, false)
		issued := f.key(t, app)
		if _, err := f.svc.KeyAudio(context.Background(), service.NHN, issued.ID, "", botNet); err != nil {
			t.Fatal(err)
		}
		k := f.stored(t, issued.ID)
		if !k.Escalated || k.Options.Difficulty != tc.want || utf8.RuneCountInString(k.Answer) != tc.wantLen ||
			!isDrawnFrom(k.Answer, engine.Hangul) {
			t.Errorf("%s/%d: escalated to %s/%q", tc.difficulty, tc.length, k.Options.Difficulty, k.Answer)
		}
		if tc.length == engine.MaxLength && k.Answer != issued.Answer {
			t.Errorf("an answer already at the longest was drawn again")
		}
	}
}

// Concurrent first fetches of one key, from a network that calls for escalation, all draw
// the one escalated challenge.
func TestConcurrentFirstDeliveriesAgree(t *testing.T) {
	f := newFixture(t)
	app := f.app(t, 1)
	for range 5 {
		f.answer(t, app, botNet, time.Second, false)
	}
	k := f.key(t, app)
	images := make([]string, 32)
	var wg sync.WaitGroup
	for i := range images {
		wg.Go(func() {
			c, err := f.svc.KeyImage(context.Background(), service.NHN, k.ID, "", botNet)
			if err != nil {
				t.Error(err)
			}
			images[i] = string(c.Data)
		})
	}
	wg.Wait()
	for _, img := range images[1:] {
		if img != images[0] {
			t.Fatal("concurrent first fetches drew different challenges")
		}
	}
	if s := f.stored(t, k.ID); !s.Escalated || len(s.Answer) != 8 {
		t.Fatalf("the key: %+v", s)
	}
	if st, err := f.svc.Stats(context.Background(), app.ID, 1); err != nil || st.Totals.Escalated != 1 {
		t.Fatalf("counted as escalated %d times, %v", st.Totals.Escalated, err)
	}
	if n := f.obs.escalated.Load(); n != 1 {
		t.Fatalf("the observer was told of %d escalations", n)
	}
}

func isDrawnFrom(answer string, c engine.Charset) bool {
	for _, r := range answer {
		found := false
		for _, a := range c.Runes() {
			found = found || a == r
		}
		if !found {
			return false
		}
	}
	return true
}
