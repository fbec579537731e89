// Package storetest is the conformance suite of service.Store: every behaviour the service
// relies on from its store, checked through the interface alone, so that each store
// (engine/sqlite, engine/postgres) runs the same suite in its own tests:
//
//	func TestStore(t *testing.T) { storetest.Run(t, func(t *testing.T) service.Store { return open(t) }) }
//
// What only one store has (SQLite's group commit and pragmas, PostgreSQL's advisory locks,
// each one's migrations) stays in that store's own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

// Run runs the suite. newStore returns an empty store of its own for each test, closed when
// the test ends; a store that also implements service.OperatorStore is checked as one too.
func Run(t *testing.T, newStore func(t *testing.T) service.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s service.Store)
	}{
		{"ServerSecret", testServerSecret},
		{"Apps", testApps},
		{"KeyRoundTrip", testKeyRoundTrip},
		{"UpdateKeyWritesOnlyWithoutError", testUpdateKeyWritesOnlyWithoutError},
		{"UpdateKeyIsAtomic", testUpdateKeyIsAtomic},
		{"DeliverKeyFollowsTheRule", testDeliverKeyFollowsTheRule},
		{"FirstDeliverySavesNetworkAndEscalation", testFirstDeliverySavesNetworkAndEscalation},
		{"AppEscalationSettingsRoundTrip", testAppEscalationSettingsRoundTrip},
		{"DeleteExpiredKeysCountsUnsolved", testDeleteExpiredKeysCountsUnsolved},
		{"DeleteExpiredKeysInBatches", testDeleteExpiredKeysInBatches},
		{"DeleteAppCascades", testDeleteAppCascades},
		{"StatsByHour", testStatsByHour},
		{"StatsCountConcurrentKeys", testStatsCountConcurrentKeys},
		{"StatsByChannel", testStatsByChannel},
		{"StatsRetention", testStatsRetention},
		{"WidgetAppFields", testWidgetAppFields},
		{"TokenRedeemedOnce", testTokenRedeemedOnce},
		{"TokenRedeemedOnceConcurrently", testTokenRedeemedOnceConcurrently},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"Operators", testOperators},
		{"FirstOperatorOnce", testFirstOperatorOnce},
		{"Sessions", testSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

// base is a time on the hour, long enough ago that no test's keys are live now.
var base = time.UnixMilli(1_700_002_800_000)

func newApp(t *testing.T, s service.Store, appKey string) *service.App {
	t.Helper()
	app := &service.App{Name: "test " + appKey, AppKey: appKey, SecretHash: []byte{1, 2, 3}, Enabled: true,
		API: service.NHN, Settings: service.DefaultAppSettings(), CreatedAt: base}
	if err := s.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if app.ID == 0 {
		t.Fatal("CreateApp set no ID")
	}
	return app
}

func newKey(t *testing.T, s service.Store, app *service.App, id string, expires time.Time) *service.Key {
	t.Helper()
	k := &service.Key{ID: id, AppID: app.ID, Answer: "ACE234", Options: engine.DefaultOptions(), MaxAttempts: 1,
		CreatedAt: expires.Add(-time.Minute), ExpiresAt: expires}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return k
}

// set changes a key through UpdateKey, recording nothing.
func set(t *testing.T, s service.Store, id string, change func(k *service.Key)) {
	t.Helper()
	if err := s.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
		change(k)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// deliver is the delivery the service asks DeliverKey for, without a client network.
func deliver(api service.API, appKey string, ch service.Channel, now time.Time) func(*service.Key) error {
	return func(k *service.Key) error {
		_, err := k.Deliver(api, appKey, ch, now)
		return err
	}
}

// record stores a verification at at of a key of app issued then, which it uses up.
func record(t *testing.T, s service.Store, app *service.App, at time.Time, o service.Outcome, rt time.Duration) {
	t.Helper()
	id := fmt.Sprintf("%s-%d-%s", app.AppKey, at.UnixMilli(), o)
	k := &service.Key{ID: id, AppID: app.ID, Answer: "ACE234", Options: engine.DefaultOptions(), MaxAttempts: 1,
		CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
		k.Consumed = true
		return &service.Verification{AppID: app.ID, Outcome: o, Channel: service.Image, Served: rt > 0,
			ResponseTime: rt, At: at}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// stats returns what the store aggregates for app (0: every app) in [from, to).
func stats(t *testing.T, s service.Store, appID int64, from, to time.Time) *service.StatsData {
	t.Helper()
	d, err := s.Stats(ctx, service.StatsWindow{AppID: appID, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hourly writes the hours of d as "offset:issued/images/sounds/expired passed/wrong/refused",
// the offset in hours from base.
func hourly(d *service.StatsData) []string {
	var out []string
	for _, h := range d.Hours {
		out = append(out, fmt.Sprintf("%d:%d/%d/%d/%d %d/%d/%d", int(h.Hour.Sub(base)/time.Hour), h.Issued, h.Images,
			h.Sounds, h.ExpiredUnsolved, h.Passed, h.Wrong, h.Refused))
	}
	return out
}

func testServerSecret(t *testing.T, s service.Store) {
	secret, err := s.ServerSecret(ctx)
	if err != nil || len(secret) != 32 {
		t.Fatalf("secret %x, %v", secret, err)
	}
	// Every caller gets the same one, concurrent ones included.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			again, err := s.ServerSecret(ctx)
			if err != nil || string(again) != string(secret) {
				t.Errorf("secret %x then %x, %v", secret, again, err)
			}
		})
	}
	wg.Wait()
}

func testApps(t *testing.T, s service.Store) {
	a := newApp(t, s, "appkey-a")
	b := newApp(t, s, "appkey-b")
	if a.ID == b.ID {
		t.Fatal("two apps share an ID")
	}
	got, err := s.AppByKey(ctx, "appkey-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Name != a.Name || string(got.SecretHash) != string(a.SecretHash) || !got.Enabled ||
		got.API != a.API || got.Settings != a.Settings || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("got %+v, stored %+v", got, a)
	}
	if byID, err := s.AppByID(ctx, b.ID); err != nil || byID.AppKey != "appkey-b" {
		t.Fatalf("by ID: %+v, %v", byID, err)
	}
	for _, err := range []error{
		func() error { _, err := s.AppByKey(ctx, "nope"); return err }(),
		func() error { _, err := s.AppByID(ctx, 1<<40); return err }(),
		s.SetAppEnabled(ctx, "nope", false),
		s.SetAppAPI(ctx, "nope", service.Naver),
		s.DeleteApp(ctx, "nope"),
		s.UpdateApp(ctx, 1<<40, "x", service.NHN, service.DefaultAppSettings()),
		s.SetAppSecret(ctx, 1<<40, []byte{1}),
	} {
		if !errors.Is(err, service.ErrUnknownApp) {
			t.Errorf("an unknown app: %v, want ErrUnknownApp", err)
		}
	}

	settings := service.DefaultAppSettings()
	settings.Charset, settings.Length, settings.Lang = engine.Hangul, 4, engine.Korean
	settings.KeyLifetime, settings.MaxAttempts = 90*time.Second, 3
	if err := s.UpdateApp(ctx, a.ID, "renamed", service.Naver, settings); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppSecret(ctx, a.ID, []byte{9}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppEnabled(ctx, "appkey-b", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppAPI(ctx, "appkey-b", service.Naver); err != nil {
		t.Fatal(err)
	}
	apps, err := s.ListApps(ctx)
	if err != nil || len(apps) != 2 {
		t.Fatalf("list: %d apps, %v", len(apps), err)
	}
	if apps[0].ID != a.ID || apps[1].ID != b.ID {
		t.Errorf("list is not oldest first: %d, %d", apps[0].ID, apps[1].ID)
	}
	if got := apps[0]; got.Name != "renamed" || got.API != service.Naver || got.Settings != settings ||
		string(got.SecretHash) != "\x09" {
		t.Errorf("after the changes: %+v", got)
	}
	if got := apps[1]; got.Enabled || got.API != service.Naver {
		t.Errorf("disabled and switched: %+v", got)
	}
}

func testKeyRoundTrip(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	exp := base.Add(10 * time.Minute)
	want := newKey(t, s, app, "key1", exp)
	got, err := s.KeyByID(ctx, "key1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "key1" || got.AppID != app.ID || got.AppKey != "k1" || !got.AppEnabled || got.AppAPI != service.NHN ||
		got.Answer != want.Answer || got.Options != want.Options || got.MaxAttempts != 1 || got.Attempts != 0 ||
		got.Consumed || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(exp) ||
		!got.ImageServedAt.IsZero() || !got.AudioServedAt.IsZero() {
		t.Fatalf("got %+v, stored %+v", got, want)
	}
	// A Hangul answer keeps its length in characters, not bytes.
	hangul := &service.Key{ID: "key2", AppID: app.ID, Answer: "가나다라", MaxAttempts: 3, CreatedAt: base, ExpiresAt: exp,
		Options: engine.Options{Charset: engine.Hangul, Length: 4, Difficulty: engine.Hard, Width: 300, Height: 90, Lang: engine.Korean}}
	if err := s.CreateKey(ctx, hangul); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeyByID(ctx, "key2"); err != nil || got.Answer != hangul.Answer || got.Options != hangul.Options {
		t.Fatalf("got %+v, %v", got, err)
	}
	served, heard := exp.Add(-30*time.Second), exp.Add(-20*time.Second)
	set(t, s, "key1", func(k *service.Key) { k.ImageServedAt, k.AudioServedAt = served, heard })
	got, _ = s.KeyByID(ctx, "key1")
	if !got.ImageServedAt.Equal(served) || !got.AudioServedAt.Equal(heard) {
		t.Fatalf("served at %v / %v", got.ImageServedAt, got.AudioServedAt)
	}
	set(t, s, "key1", func(k *service.Key) { k.Attempts, k.Consumed, k.ExpiresAt = 1, true, served })
	got, _ = s.KeyByID(ctx, "key1")
	if got.Attempts != 1 || !got.Consumed || !got.ExpiresAt.Equal(served) || !got.ImageServedAt.Equal(served) {
		t.Fatalf("after an update: %+v", got)
	}
	if _, err := s.KeyByID(ctx, "nope"); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if err := s.CreateKey(ctx, want); err == nil {
		t.Error("a key was issued twice")
	}
}

func testUpdateKeyWritesOnlyWithoutError(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	newKey(t, s, app, "key1", base.Add(10*time.Minute))
	boom := errors.New("boom")
	err := s.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
		k.Attempts, k.Consumed = 1, true
		return &service.Verification{AppID: app.ID, Outcome: service.Wrong, Channel: service.NoChannel, At: base}, boom
	})
	if err != boom {
		t.Fatalf("got %v", err)
	}
	hour := stats(t, s, app.ID, base, base.Add(time.Hour))
	if k, _ := s.KeyByID(ctx, "key1"); k.Attempts != 0 || k.Consumed || len(hour.Hours) != 1 || hour.Hours[0].Wrong != 0 {
		t.Fatalf("a failed update wrote: %+v, %v", k, hourly(hour))
	}
	err = s.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
		k.Attempts, k.Consumed = 1, true
		return &service.Verification{AppID: app.ID, Outcome: service.Passed, Channel: service.Image,
			Served: true, ResponseTime: 1500 * time.Millisecond, At: base.Add(time.Minute)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hour = stats(t, s, app.ID, base, base.Add(time.Hour))
	if k, _ := s.KeyByID(ctx, "key1"); k.Attempts != 1 || !k.Consumed || hour.Hours[0].Passed != 1 ||
		!slices.Equal(hour.SolveTimes, []service.SolveTime{{Millis: 1500, Count: 1}}) {
		t.Fatalf("the update was not saved: %+v, %v %v", k, hourly(hour), hour.SolveTimes)
	}
	if err := s.UpdateKey(ctx, "nope", nil); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

// Of 64 concurrent updates that each use the key up if it is not yet, exactly one finds it
// unused: what makes a key single-use.
func testUpdateKeyIsAtomic(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	newKey(t, s, app, "key1", time.Now().Add(time.Hour))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Go(func() {
			<-start
			err := s.UpdateKey(ctx, "key1", func(k *service.Key) (*service.Verification, error) {
				k.Attempts++
				if k.Consumed {
					return &service.Verification{AppID: app.ID, Outcome: service.UsedUp, Channel: service.NoChannel, At: base}, nil
				}
				k.Consumed = true
				return &service.Verification{AppID: app.ID, Outcome: service.Passed, Channel: service.NoChannel, At: base}, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	// A store may run update more than once (service.Store): what was saved is what counts.
	// Had two updates interleaved, one's attempt would be lost or two would have passed.
	k, _ := s.KeyByID(ctx, "key1")
	d := stats(t, s, app.ID, base, base.Add(time.Hour))
	if k.Attempts != 64 || len(d.Hours) != 1 || d.Hours[0].Passed != 1 || d.Hours[0].Refused != 63 {
		t.Fatalf("after 64 concurrent updates: %d attempts, %v", k.Attempts, hourly(d))
	}
}

// DeliverKey follows service.Key.Deliverable in every state a key can be in, and records
// only a first delivery, on its own channel.
func testDeliverKeyFollowsTheRule(t *testing.T, s service.Store) {
	mine, theirs := newApp(t, s, "mine"), newApp(t, s, "theirs")
	if err := s.SetAppEnabled(ctx, "theirs", false); err != nil {
		t.Fatal(err)
	}
	now := base.Add(30 * time.Minute)
	earlier := now.Add(-time.Second)
	n := 0
	for _, app := range []*service.App{mine, theirs} {
		for _, consumed := range []bool{false, true} {
			for _, expires := range []time.Time{now.Add(-time.Millisecond), now, now.Add(time.Millisecond)} {
				for _, served := range []time.Time{{}, earlier} {
					for _, ch := range []service.Channel{service.Image, service.Audio} {
						for _, asked := range []string{"", "mine", "theirs"} {
							for _, api := range []service.API{service.NHN, service.Naver} {
								n++
								id := fmt.Sprintf("key%03d", n)
								newKey(t, s, app, id, expires)
								set(t, s, id, func(k *service.Key) { k.Consumed, k.ImageServedAt = consumed, served })
								before, err := s.KeyByID(ctx, id)
								if err != nil {
									t.Fatal(err)
								}
								want := before.Deliverable(api, asked, now)
								got, err := s.DeliverKey(ctx, id, deliver(api, asked, ch, now))
								if err != want {
									t.Fatalf("%s of %+v asked by %q in %s: got %v, want %v", ch, before, asked, api, err, want)
								}
								var after service.Key
								set(t, s, id, func(k *service.Key) { after = *k }) // as the next update sees it
								wantImage, wantAudio := before.ImageServedAt, before.AudioServedAt
								if want == nil && ch == service.Image && wantImage.IsZero() {
									wantImage = now
								}
								if want == nil && ch == service.Audio {
									wantAudio = now
								}
								if !after.ImageServedAt.Equal(wantImage) || !after.AudioServedAt.Equal(wantAudio) {
									t.Fatalf("%s of %+v: served at %v / %v", ch, before, after.ImageServedAt, after.AudioServedAt)
								}
								if want == nil && (got.Answer != before.Answer || got.Options != before.Options ||
									got.ID != id || got.AppKey != app.AppKey || got.AppAPI != app.API ||
									!got.ServedAt(ch).Equal(after.ServedAt(ch))) {
									t.Fatalf("delivered %+v, stored %+v", got, after)
								}
							}
						}
					}
				}
			}
		}
	}
	if _, err := s.DeliverKey(ctx, "nope", deliver(service.NHN, "", service.Image, now)); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

// asStored reads a key as the next update sees it, deliveries not yet durable included.
func asStored(t *testing.T, s service.Store, id string) *service.Key {
	t.Helper()
	var seen service.Key
	set(t, s, id, func(k *service.Key) { seen = *k })
	return &seen
}

// escalated sums the escalated keys of app's hours in [from, to).
func escalated(t *testing.T, s service.Store, app *service.App, from, to time.Time) int64 {
	t.Helper()
	var n int64
	for _, h := range stats(t, s, app.ID, from, to).Hours {
		n += h.Escalated
	}
	return n
}

// What a first delivery sets besides its time (the client network, an escalation's answer
// and difficulty) is saved with it, counted once in the statistics, in the hour of the first
// delivery, whether the key is stored or housekeeping has deleted it, and loaded back with
// the key.
func testFirstDeliverySavesNetworkAndEscalation(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	now := base.Add(90 * time.Minute) // in the hour after the keys' issuance
	newKey(t, s, app, "plain", now.Add(time.Hour))
	newKey(t, s, app, "harder", now.Add(time.Hour))
	network := service.NetworkID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

	first := func(escalate bool) func(*service.Key) error {
		return func(k *service.Key) error {
			if _, err := k.Deliver(service.NHN, "", service.Image, now); err != nil {
				return err
			}
			k.Network = network
			if escalate {
				k.Answer, k.Options.Length, k.Options.Difficulty, k.Escalated = "ACE234XY", 8, engine.Hard, true
			}
			return nil
		}
	}
	if _, err := s.DeliverKey(ctx, "plain", first(false)); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeliverKey(ctx, "harder", first(true))
	if err != nil || got.Answer != "ACE234XY" || !got.Escalated || got.Network != network {
		t.Fatalf("delivered %+v, %v", got, err)
	}
	// A later delivery, on the other channel, keeps all of it, and returns it.
	again, err := s.DeliverKey(ctx, "harder", deliver(service.NHN, "", service.Audio, now.Add(time.Second)))
	if err != nil || again.Answer != "ACE234XY" || again.Options.Difficulty != engine.Hard || !again.Escalated {
		t.Fatalf("delivered again %+v, %v", again, err)
	}
	asStored(t, s, "plain") // a write after them: every delivery is committed

	plain, err := s.KeyByID(ctx, "plain")
	if err != nil || plain.Network != network || plain.Escalated || plain.Answer != "ACE234" || plain.Options.Difficulty != engine.Normal {
		t.Errorf("plain key: %+v, %v", plain, err)
	}
	harder, err := s.KeyByID(ctx, "harder")
	if err != nil || harder.Network != network || !harder.Escalated || harder.Answer != "ACE234XY" ||
		harder.Options.Length != 8 || harder.Options.Difficulty != engine.Hard || harder.AudioServedAt.IsZero() {
		t.Errorf("escalated key: %+v, %v", harder, err)
	}
	if e := harder.AppEscalation; e != service.DefaultEscalation() {
		t.Errorf("the key's app's policy: %+v", e)
	}
	if n := escalated(t, s, app, base, base.Add(3*time.Hour)); n != 1 {
		t.Errorf("%d escalated keys counted, want 1", n)
	}
	if n := escalated(t, s, app, base.Add(time.Hour), base.Add(2*time.Hour)); n != 1 {
		t.Errorf("%d escalated keys counted in the hour of the first delivery, want 1", n)
	}

	// A delivery decides by the app's policy as stored, however the key was issued.
	issued := &service.Key{ID: "issued", AppID: app.ID, AppKey: app.AppKey, AppEnabled: true, AppAPI: app.API,
		Answer: "ACE234", Options: engine.DefaultOptions(), MaxAttempts: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateKey(ctx, issued); err != nil {
		t.Fatal(err)
	}
	var policy service.Escalation
	if _, err := s.DeliverKey(ctx, "issued", func(k *service.Key) error {
		policy = k.AppEscalation
		return first(false)(k)
	}); err != nil || policy != service.DefaultEscalation() {
		t.Errorf("delivered deciding by the policy %+v, %v", policy, err)
	}

	// The widest update, with attempts and served times at once, keeps them too.
	set(t, s, "plain", func(k *service.Key) { k.Attempts, k.AudioServedAt, k.ExpiresAt = 1, now, now.Add(time.Minute) })
	if k := asStored(t, s, "plain"); k.Network != network || k.Answer != "ACE234" || k.Attempts != 1 {
		t.Errorf("after a wide update: %+v", k)
	}

	// Once housekeeping deletes the keys, the escalation still counts, once.
	if deleted, _, err := s.DeleteExpiredKeys(ctx, now.Add(2*time.Hour)); err != nil || deleted != 3 {
		t.Fatalf("deleted %d, %v", deleted, err)
	}
	if n := escalated(t, s, app, base, base.Add(3*time.Hour)); n != 1 {
		t.Errorf("%d escalated keys counted after housekeeping, want 1", n)
	}
	if n := escalated(t, s, app, base.Add(time.Hour), base.Add(2*time.Hour)); n != 1 {
		t.Errorf("%d escalated keys counted in the hour of the first delivery, want 1", n)
	}
}

// An app's escalation policy is stored with its other settings.
func testAppEscalationSettingsRoundTrip(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	if got, _ := s.AppByKey(ctx, "k1"); got.Settings.Escalation != service.DefaultEscalation() {
		t.Fatalf("created with %+v", got.Settings.Escalation)
	}
	st := app.Settings
	st.Escalation = service.Escalation{Enabled: false, MinAnswers: 12, BadPercent: 90, FastSolve: 1500 * time.Millisecond}
	if err := s.UpdateApp(ctx, app.ID, app.Name, app.API, st); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AppByID(ctx, app.ID); got.Settings.Escalation != st.Escalation {
		t.Fatalf("saved %+v, read %+v", st.Escalation, got.Settings.Escalation)
	}
	if apps, _ := s.ListApps(ctx); len(apps) != 1 || apps[0].Settings.Escalation != st.Escalation {
		t.Fatalf("listed %+v", apps)
	}
	other := &service.App{Name: "other", AppKey: "k2", SecretHash: []byte{1}, Enabled: true, API: service.NHN,
		Settings: st, CreatedAt: base}
	if err := s.CreateApp(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AppByKey(ctx, "k2"); got.Settings.Escalation != st.Escalation {
		t.Fatalf("created with %+v, read %+v", st.Escalation, got.Settings.Escalation)
	}
}

func testDeleteExpiredKeysCountsUnsolved(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	now := base.Add(30 * time.Minute)
	newKey(t, s, app, "old-unsolved", now.Add(-time.Second))
	newKey(t, s, app, "old-solved", now.Add(-time.Second))
	newKey(t, s, app, "just-expired", now)
	newKey(t, s, app, "live", now.Add(time.Second))
	set(t, s, "old-solved", func(k *service.Key) { k.Consumed = true })
	deleted, unsolved, err := s.DeleteExpiredKeys(ctx, now)
	if err != nil || deleted != 3 || unsolved != 2 {
		t.Fatalf("deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
	if _, err := s.KeyByID(ctx, "live"); err != nil {
		t.Error("a live key was deleted")
	}
	for _, id := range []string{"old-unsolved", "old-solved", "just-expired"} {
		if _, err := s.KeyByID(ctx, id); !errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("expired key %s: %v", id, err)
		}
	}
	if deleted, unsolved, err := s.DeleteExpiredKeys(ctx, now); deleted != 0 || unsolved != 0 || err != nil {
		t.Errorf("again: deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
}

// More expired keys than one batch of a store holds (both delete 1,000 at a time) are all
// deleted, and counted, by one call.
func testDeleteExpiredKeysInBatches(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	now := base.Add(30 * time.Minute)
	const n = 2005
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				k := &service.Key{ID: fmt.Sprintf("k%05d", i), AppID: app.ID, Answer: "ACE234", Options: engine.DefaultOptions(),
					MaxAttempts: 1, CreatedAt: base, ExpiresAt: now.Add(-time.Millisecond)}
				if err := s.CreateKey(ctx, k); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	deleted, unsolved, err := s.DeleteExpiredKeys(ctx, now)
	if err != nil || deleted != n || unsolved != n {
		t.Fatalf("deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
	if got := hourly(stats(t, s, app.ID, base, base.Add(time.Hour))); !slices.Equal(got, []string{"0:2005/0/0/2005 0/0/0"}) {
		t.Errorf("stats after the deletion: %v", got)
	}
}

func testDeleteAppCascades(t *testing.T, s service.Store) {
	app, other := newApp(t, s, "k1"), newApp(t, s, "k2")
	newKey(t, s, app, "key1", base.Add(10*time.Minute))
	record(t, s, app, base.Add(time.Minute), service.Wrong, 0)
	record(t, s, other, base.Add(time.Minute), service.Passed, time.Second)
	if err := s.SetAppEnabled(ctx, "k1", false); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.KeyByID(ctx, "key1"); k.AppEnabled {
		t.Error("key of a disabled app reports it enabled")
	}
	if err := s.DeleteApp(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyByID(ctx, "key1"); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("the app's key survived it: %v", err)
	}
	if d := stats(t, s, app.ID, base, base.Add(time.Hour)); len(d.Hours) != 0 {
		t.Errorf("the app's statistics survived it: %v", hourly(d))
	}
	if got := hourly(stats(t, s, 0, base, base.Add(time.Hour))); !slices.Equal(got, []string{"0:1/0/0/0 1/0/0"}) {
		t.Errorf("the server's statistics after deleting an app: %v", got)
	}
	if err := s.DeleteApp(ctx, "k1"); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("second delete: %v", err)
	}
	if err := s.SetAppEnabled(ctx, "k1", true); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("enable deleted: %v", err)
	}
	if deleted, _, err := s.DeleteExpiredKeys(ctx, base.Add(24*time.Hour)); err != nil || deleted != 1 {
		t.Errorf("housekeeping after deleting an app: deleted %d, %v", deleted, err)
	}
}

// Stats aggregates by hour and outcome, for one app or for all, over exactly the window,
// whether the keys are still stored or housekeeping has deleted them.
func testStatsByHour(t *testing.T, s service.Store) {
	a, b := newApp(t, s, "a"), newApp(t, s, "b")
	record(t, s, a, base.Add(10*time.Minute), service.Passed, 2*time.Second)
	record(t, s, a, base.Add(20*time.Minute), service.Passed, 4*time.Second)
	record(t, s, a, base.Add(25*time.Minute), service.Passed, 0) // never served: no solve time
	record(t, s, a, base.Add(30*time.Minute), service.Wrong, time.Second)
	record(t, s, a, base.Add(40*time.Minute), service.Expired, time.Second)
	record(t, s, a, base.Add(50*time.Minute), service.UsedUp, time.Second)
	record(t, s, a, base.Add(70*time.Minute), service.Passed, time.Second)
	record(t, s, b, base.Add(10*time.Minute), service.Passed, 2*time.Second)
	record(t, s, b, base.Add(-10*time.Minute), service.Passed, time.Second) // before the window
	record(t, s, b, base.Add(120*time.Minute), service.Passed, time.Second) // after it
	// Two more keys issued in hour 0, served in hours 0 and 1, never used up.
	k := newKey(t, s, a, "served", base.Add(30*time.Minute))
	set(t, s, k.ID, func(k *service.Key) { k.ImageServedAt = base.Add(time.Minute) })
	set(t, s, k.ID, func(k *service.Key) { k.AudioServedAt = base.Add(61 * time.Minute) })
	newKey(t, s, a, "unsolved", base.Add(30*time.Minute))

	check := func(when string, expired int) {
		t.Helper()
		want := []string{fmt.Sprintf("0:8/1/0/%d 3/1/2", expired), "1:1/0/1/0 1/0/0"}
		if got := hourly(stats(t, s, a.ID, base, base.Add(2*time.Hour))); !slices.Equal(got, want) {
			t.Errorf("%s: app a: %v, want %v", when, got, want)
		}
		want = []string{"-1:1/0/0/0 1/0/0", fmt.Sprintf("0:9/1/0/%d 4/1/2", expired), "1:1/0/1/0 1/0/0"}
		if got := hourly(stats(t, s, 0, base.Add(-time.Hour), base.Add(2*time.Hour))); !slices.Equal(got, want) {
			t.Errorf("%s: every app: %v, want %v", when, got, want)
		}
		d := stats(t, s, a.ID, base, base.Add(2*time.Hour))
		wantTimes := []service.SolveTime{{Millis: 1000, Count: 1}, {Millis: 2000, Count: 1}, {Millis: 4000, Count: 1}}
		if !slices.Equal(d.SolveTimes, wantTimes) {
			t.Errorf("%s: solve times %v, want %v", when, d.SolveTimes, wantTimes)
		}
		if d := stats(t, s, a.ID, base.Add(5*time.Hour), base.Add(6*time.Hour)); len(d.Hours)+len(d.SolveTimes) != 0 {
			t.Errorf("%s: an empty window: %+v", when, d)
		}
	}
	check("with the keys stored", 0)
	// Housekeeping deletes the two keys that expire then, never used up: they count as
	// expired unsolved in the hour they expired.
	if deleted, unsolved, err := s.DeleteExpiredKeys(ctx, base.Add(30*time.Minute)); err != nil || deleted != 2 || unsolved != 2 {
		t.Fatalf("deleted %d, unsolved %d, %v", deleted, unsolved, err)
	}
	check("after some keys are deleted", 2)
	// All of them go.
	if _, _, err := s.DeleteExpiredKeys(ctx, base.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("after every key is deleted", 2)
}

// Concurrent issuances and first deliveries, in two hours, all count, whatever the store
// does with concurrent writes (SQLite commits them in groups).
func testStatsCountConcurrentKeys(t *testing.T, s service.Store) {
	app := newApp(t, s, "counted")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			created := base.Add(time.Duration(i%2) * time.Hour) // 20 in each hour
			k := &service.Key{ID: fmt.Sprintf("key%02d", i), AppID: app.ID, Answer: "ACE234",
				Options: engine.DefaultOptions(), MaxAttempts: 1, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
			if err := s.CreateKey(ctx, k); err != nil {
				t.Error(err)
				return
			}
			if i%4 < 2 { // 10 images in each hour; the second delivery does not count
				for range 2 {
					if _, err := s.DeliverKey(ctx, k.ID, deliver(service.NHN, "", service.Image, created.Add(time.Minute))); err != nil {
						t.Error(err)
					}
				}
			}
			if i%5 == 0 { // 4 sounds in each hour
				if _, err := s.DeliverKey(ctx, k.ID, deliver(service.NHN, "", service.Audio, created.Add(time.Minute))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	set(t, s, "key00", func(*service.Key) {}) // a write after them all: every delivery is committed
	want := []string{"0:20/10/4/0 0/0/0", "1:20/10/4/0 0/0/0"}
	if got := hourly(stats(t, s, app.ID, base, base.Add(2*time.Hour))); !slices.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	if _, _, err := s.DeleteExpiredKeys(ctx, base.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Each key expired unsolved an hour after it was issued.
	want = []string{"0:20/10/4/0 0/0/0", "1:20/10/4/20 0/0/0", "2:0/0/0/20 0/0/0"}
	if got := hourly(stats(t, s, app.ID, base, base.Add(3*time.Hour))); !slices.Equal(got, want) {
		t.Fatalf("counts after housekeeping %v, want %v", got, want)
	}
}

// Stats counts the verifications by channel and outcome over the whole window, for one app
// or for all.
func testStatsByChannel(t *testing.T, s service.Store) {
	a, b := newApp(t, s, "a"), newApp(t, s, "b")
	n := 0
	verify := func(app *service.App, at time.Time, ch service.Channel, o service.Outcome) {
		t.Helper()
		n++
		id := fmt.Sprintf("ch%03d", n)
		newKey(t, s, app, id, at.Add(time.Hour))
		if err := s.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
			k.Consumed = true
			return &service.Verification{AppID: app.ID, Outcome: o, Channel: ch, Served: ch != service.NoChannel,
				ResponseTime: time.Second, At: at}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	verify(a, base.Add(time.Minute), service.Image, service.Passed)
	verify(a, base.Add(2*time.Minute), service.Image, service.Passed)
	verify(a, base.Add(61*time.Minute), service.Image, service.Wrong) // another hour, the same sums
	verify(a, base.Add(3*time.Minute), service.Audio, service.Passed)
	verify(a, base.Add(4*time.Minute), service.Audio, service.Expired)
	verify(a, base.Add(5*time.Minute), service.NoChannel, service.UsedUp)
	verify(b, base.Add(6*time.Minute), service.Audio, service.Passed)
	verify(a, base.Add(3*time.Hour), service.Image, service.Passed) // after the window

	counts := func(appID int64) map[service.ChannelCount]bool {
		t.Helper()
		got := map[service.ChannelCount]bool{}
		for _, c := range stats(t, s, appID, base, base.Add(2*time.Hour)).Channels {
			if got[c] {
				t.Errorf("%+v twice", c)
			}
			got[c] = true
		}
		return got
	}
	want := map[service.ChannelCount]bool{
		{Channel: service.Image, Outcome: service.Passed, Count: 2}:     true,
		{Channel: service.Image, Outcome: service.Wrong, Count: 1}:      true,
		{Channel: service.Audio, Outcome: service.Passed, Count: 1}:     true,
		{Channel: service.Audio, Outcome: service.Expired, Count: 1}:    true,
		{Channel: service.NoChannel, Outcome: service.UsedUp, Count: 1}: true,
	}
	if got := counts(a.ID); !maps.Equal(got, want) {
		t.Errorf("app a by channel: %v, want %v", got, want)
	}
	delete(want, service.ChannelCount{Channel: service.Audio, Outcome: service.Passed, Count: 1})
	want[service.ChannelCount{Channel: service.Audio, Outcome: service.Passed, Count: 2}] = true
	if got := counts(0); !maps.Equal(got, want) {
		t.Errorf("every app by channel: %v, want %v", got, want)
	}
	if d := stats(t, s, a.ID, base.Add(5*time.Hour), base.Add(6*time.Hour)); len(d.Channels) != 0 {
		t.Errorf("an empty window by channel: %+v", d.Channels)
	}
}

// DeleteStatsBefore deletes the statistics of the hours before a time, for every app, and
// keeps the rest.
func testStatsRetention(t *testing.T, s service.Store) {
	a, b := newApp(t, s, "a"), newApp(t, s, "b")
	old := base.Add(-100 * 24 * time.Hour)
	record(t, s, a, old, service.Passed, time.Second)
	record(t, s, b, old, service.Passed, time.Second)
	record(t, s, a, base.Add(10*time.Minute), service.Passed, 2*time.Second)
	if _, _, err := s.DeleteExpiredKeys(ctx, base.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteStatsBefore(ctx, base.Add(-90*24*time.Hour))
	if err != nil || n < 2 {
		t.Fatalf("deleted %d rows, %v", n, err)
	}
	if d := stats(t, s, 0, old.Truncate(time.Hour), old.Truncate(time.Hour).Add(2*time.Hour)); len(d.Hours)+len(d.SolveTimes) != 0 {
		t.Errorf("statistics past retention: %v %v", hourly(d), d.SolveTimes)
	}
	if got := hourly(stats(t, s, 0, base, base.Add(2*time.Hour))); !slices.Equal(got, []string{"0:1/0/0/0 1/0/0"}) {
		t.Errorf("statistics within retention: %v", got)
	}
}

func operators(t *testing.T, s service.Store) service.OperatorStore {
	t.Helper()
	ops, ok := s.(service.OperatorStore)
	if !ok {
		t.Skip("this store keeps no operators")
	}
	return ops
}

func testOperators(t *testing.T, s service.Store) {
	ops := operators(t, s)
	if _, err := ops.OperatorByName(ctx, "alice"); !errors.Is(err, service.ErrUnknownOperator) {
		t.Fatalf("unknown operator: %v", err)
	}
	if err := ops.SetOperatorPassword(ctx, "alice", []byte("hash1"), base); err != nil {
		t.Fatal(err)
	}
	alice, err := ops.OperatorByName(ctx, "alice")
	if err != nil || alice.ID == 0 || alice.Name != "alice" || string(alice.PasswordHash) != "hash1" ||
		!alice.CreatedAt.Equal(base) || !alice.UpdatedAt.Equal(base) || alice.MustChangePassword {
		t.Fatalf("alice: %+v, %v", alice, err)
	}
	session := &service.Session{TokenHash: []byte("token1"), OperatorID: alice.ID, CSRFToken: "csrf",
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := ops.CreateSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	later := base.Add(time.Minute)
	if err := ops.SetOperatorPassword(ctx, "alice", []byte("hash2"), later); err != nil {
		t.Fatal(err)
	}
	again, err := ops.OperatorByName(ctx, "alice")
	if err != nil || again.ID != alice.ID || string(again.PasswordHash) != "hash2" || !again.CreatedAt.Equal(base) ||
		!again.UpdatedAt.Equal(later) {
		t.Fatalf("alice after a new password: %+v, %v", again, err)
	}
	if _, err := ops.SessionByTokenHash(ctx, []byte("token1"), later); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("a session outlived a new password: %v", err)
	}
}

// Of nodes starting together on an empty store, one creates the first operator.
func testFirstOperatorOnce(t *testing.T, s service.Store) {
	ops := operators(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 8 {
		wg.Go(func() {
			op := &service.Operator{Name: fmt.Sprintf("admin%d", i), PasswordHash: []byte("h"), CreatedAt: base,
				UpdatedAt: base, MustChangePassword: true}
			ok, err := ops.CreateFirstOperator(ctx, op)
			if err != nil {
				t.Error(err)
			}
			if ok {
				if op.ID == 0 {
					t.Error("CreateFirstOperator set no ID")
				}
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d first operators", created)
	}
	var first *service.Operator
	for i := range 8 {
		if op, err := ops.OperatorByName(ctx, fmt.Sprintf("admin%d", i)); err == nil {
			first = op
		}
	}
	if first == nil || !first.MustChangePassword {
		t.Fatalf("the first operator: %+v", first)
	}
	// Setting its password clears the flag.
	if err := ops.SetOperatorPassword(ctx, first.Name, []byte("chosen"), base); err != nil {
		t.Fatal(err)
	}
	if op, _ := ops.OperatorByName(ctx, first.Name); op.MustChangePassword {
		t.Error("a chosen password must still be changed")
	}
	if ok, err := ops.CreateFirstOperator(ctx, &service.Operator{Name: "late", PasswordHash: []byte("h")}); ok || err != nil {
		t.Errorf("a first operator after the first: %v, %v", ok, err)
	}
}

func testSessions(t *testing.T, s service.Store) {
	ops := operators(t, s)
	if err := ops.SetOperatorPassword(ctx, "bob", []byte("hash"), base); err != nil {
		t.Fatal(err)
	}
	bob, _ := ops.OperatorByName(ctx, "bob")
	for i, expires := range []time.Time{base.Add(time.Minute), base.Add(time.Hour)} {
		if err := ops.CreateSession(ctx, &service.Session{TokenHash: []byte{byte(i)}, OperatorID: bob.ID,
			CSRFToken: fmt.Sprint("csrf", i), CreatedAt: base, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ops.SessionByTokenHash(ctx, []byte{1}, base)
	if err != nil || got.OperatorID != bob.ID || got.OperatorName != "bob" || got.CSRFToken != "csrf1" ||
		!got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(base.Add(time.Hour)) || got.MustChangePassword {
		t.Fatalf("session: %+v, %v", got, err)
	}
	if _, err := ops.SessionByTokenHash(ctx, []byte{0}, base.Add(time.Minute)); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("an expired session: %v", err)
	}
	if _, err := ops.SessionByTokenHash(ctx, []byte{7}, base); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("an unknown session: %v", err)
	}
	if n, err := ops.DeleteExpiredSessions(ctx, base.Add(time.Minute)); n != 1 || err != nil {
		t.Errorf("deleted %d expired sessions, %v", n, err)
	}
	if err := ops.DeleteSession(ctx, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := ops.DeleteSession(ctx, []byte{1}); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
	if _, err := ops.SessionByTokenHash(ctx, []byte{1}, base); !errors.Is(err, service.ErrNoSession) {
		t.Errorf("a deleted session: %v", err)
	}
}

// A widget app's hostnames and token lifetime are stored with it, and it is found by its
// secret's hash.
func testWidgetAppFields(t *testing.T, s service.Store) {
	settings := service.DefaultAppSettings()
	settings.TokenLifetime = 120 * time.Second
	app := &service.App{Name: "widget", AppKey: "w1", SecretHash: []byte("hash-1"), Enabled: true, API: service.Widget,
		Settings: settings, CreatedAt: base, Hostnames: []string{"a.example", "b.example"}}
	if err := s.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	other := newApp(t, s, "n1")
	got, err := s.AppByKey(ctx, "w1")
	if err != nil || got.API != service.Widget || got.Settings != settings ||
		!slices.Equal(got.Hostnames, []string{"a.example", "b.example"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got, _ := s.AppByKey(ctx, "n1"); got.Hostnames != nil || got.Settings.TokenLifetime != service.DefaultTokenLifetime {
		t.Errorf("an app created without hostnames: %+v", got)
	}
	if err := s.SetAppHostnames(ctx, app.ID, []string{"c.example"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AppByID(ctx, app.ID); !slices.Equal(got.Hostnames, []string{"c.example"}) {
		t.Errorf("after SetAppHostnames: %q", got.Hostnames)
	}
	if err := s.SetAppHostnames(ctx, app.ID, nil); err != nil {
		t.Fatal(err)
	}
	if apps, _ := s.ListApps(ctx); len(apps) != 2 || apps[0].Hostnames != nil {
		t.Errorf("after clearing the hostnames: %+v", apps)
	}
	if err := s.SetAppHostnames(ctx, 1<<40, nil); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("hostnames of an unknown app: %v", err)
	}
	settings.TokenLifetime = 600 * time.Second
	if err := s.UpdateApp(ctx, app.ID, app.Name, service.Widget, settings); err != nil {
		t.Fatal(err)
	}
	bySecret, err := s.AppBySecretHash(ctx, []byte("hash-1"))
	if err != nil || bySecret.ID != app.ID || bySecret.Settings.TokenLifetime != 600*time.Second {
		t.Fatalf("by secret: %+v, %v", bySecret, err)
	}
	if got, err := s.AppBySecretHash(ctx, other.SecretHash); err != nil || got.ID != other.ID {
		t.Errorf("the other app by its secret: %+v, %v", got, err)
	}
	if _, err := s.AppBySecretHash(ctx, []byte("no such hash")); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("an unknown secret: %v", err)
	}
}

func newToken(t *testing.T, s service.Store, app *service.App, hash string, expires time.Time) *service.Token {
	t.Helper()
	tok := &service.Token{Hash: []byte(hash), AppID: app.ID, ChallengeAt: expires.Add(-5 * time.Minute),
		Hostname: "shop.example", Action: "login", CData: "데이터 1", ExpiresAt: expires}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// A token is redeemed once, by its own app, before it expires; every later call sees it as
// the redemption left it.
func testTokenRedeemedOnce(t *testing.T, s service.Store) {
	app, other := newApp(t, s, "k1"), newApp(t, s, "k2")
	exp := base.Add(5 * time.Minute)
	want := newToken(t, s, app, "token-1", exp)
	newToken(t, s, app, "token-2", exp)
	now := base.Add(time.Minute)
	if _, _, err := s.RedeemToken(ctx, []byte("token-1"), other.ID, "", now); !errors.Is(err, service.ErrTokenInvalid) {
		t.Errorf("another app's token: %v", err)
	}
	if _, _, err := s.RedeemToken(ctx, []byte("nope"), app.ID, "", now); !errors.Is(err, service.ErrTokenInvalid) {
		t.Errorf("an unknown token: %v", err)
	}
	got, redeemed, err := s.RedeemToken(ctx, []byte("token-1"), app.ID, "try-1", now)
	if err != nil || !redeemed {
		t.Fatalf("first redemption: %v, %v", redeemed, err)
	}
	if string(got.Hash) != "token-1" || got.AppID != app.ID || !got.ChallengeAt.Equal(want.ChallengeAt) ||
		got.Hostname != want.Hostname || got.Action != want.Action || got.CData != want.CData ||
		!got.ExpiresAt.Equal(exp) || !got.RedeemedAt.Equal(now) || got.IdempotencyKey != "try-1" {
		t.Fatalf("redeemed %+v, stored %+v", got, want)
	}
	again, redeemed, err := s.RedeemToken(ctx, []byte("token-1"), app.ID, "try-2", now.Add(time.Second))
	if err != nil || redeemed || !again.RedeemedAt.Equal(now) || again.IdempotencyKey != "try-1" {
		t.Fatalf("second redemption: %+v, %v, %v", again, redeemed, err)
	}
	// At its expiry a token is no longer redeemed, and stays as it was.
	late, redeemed, err := s.RedeemToken(ctx, []byte("token-2"), app.ID, "", exp)
	if err != nil || redeemed || !late.RedeemedAt.IsZero() {
		t.Fatalf("at expiry: %+v, %v, %v", late, redeemed, err)
	}
	if err := s.CreateToken(ctx, want); err == nil {
		t.Error("a token was stored twice")
	}
	// Deleting an app deletes its tokens.
	if err := s.DeleteApp(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredTokens(ctx, exp.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("tokens of a deleted app left: %d, %v", n, err)
	}
}

// Of 32 concurrent redemptions of one token exactly one redeems it: what makes a token
// single use.
func testTokenRedeemedOnceConcurrently(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	newToken(t, s, app, "token-1", base.Add(5*time.Minute))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	start := make(chan struct{})
	for i := range 32 {
		wg.Go(func() {
			<-start
			ik := fmt.Sprintf("call-%d", i)
			tok, redeemed, err := s.RedeemToken(ctx, []byte("token-1"), app.ID, ik, base.Add(time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			if redeemed {
				mu.Lock()
				winners = append(winners, ik)
				mu.Unlock()
			} else if tok.IdempotencyKey == "" {
				t.Errorf("%s lost to a redemption it cannot see", ik)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d redemptions: %v", len(winners), winners)
	}
	if tok, _, _ := s.RedeemToken(ctx, []byte("token-1"), app.ID, "", base.Add(time.Minute)); tok.IdempotencyKey != winners[0] {
		t.Errorf("stored the idempotency key %q, the winner sent %q", tok.IdempotencyKey, winners[0])
	}
}

func testDeleteExpiredTokens(t *testing.T, s service.Store) {
	app := newApp(t, s, "k1")
	now := base.Add(30 * time.Minute)
	newToken(t, s, app, "old", now.Add(-time.Second))
	newToken(t, s, app, "at-now", now)
	newToken(t, s, app, "live", now.Add(time.Second))
	n, err := s.DeleteExpiredTokens(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if _, _, err := s.RedeemToken(ctx, []byte("old"), app.ID, "", now); !errors.Is(err, service.ErrTokenInvalid) {
		t.Errorf("a deleted token: %v", err)
	}
	for _, h := range []string{"at-now", "live"} {
		if _, _, err := s.RedeemToken(ctx, []byte(h), app.ID, "", base); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	// More than a batch of either store (1,000) goes in one call.
	for i := range 1001 {
		newToken(t, s, app, fmt.Sprintf("t%04d", i), now.Add(-time.Minute))
	}
	if n, err := s.DeleteExpiredTokens(ctx, now.Add(time.Hour)); err != nil || n != 1003 {
		t.Errorf("deleted %d, %v", n, err)
	}
}
