package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/postgres"
	"captcha/engine/postgres/pgtest"
	"captcha/engine/service"
	"captcha/engine/service/servicetest"
	"captcha/engine/sqlite"
)

// fakeRenderer returns bytes that depend only on the answer and the seed, so tests can see
// what was drawn without decoding images.
type fakeRenderer struct{}

func (fakeRenderer) Image(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	h := sha256.Sum256(append([]byte("image"+answer), seed[:]...))
	return h[:], nil
}

func (fakeRenderer) Audio(answer string, seed engine.Seed, o engine.Options) ([]byte, error) {
	h := sha256.Sum256(append([]byte("audio"+answer), seed[:]...))
	return h[:], nil
}

type counts struct{ issued, escalated, expired atomic.Int64 }

func (c *counts) KeyIssued()                                   { c.issued.Add(1) }
func (c *counts) KeyEscalated()                                { c.escalated.Add(1) }
func (c *counts) KeyVerified(service.Outcome)                  {}
func (c *counts) KeysExpired(n int)                            { c.expired.Add(int64(n)) }
func (c *counts) Rendered(ch service.Channel, d time.Duration) {}

// store is what the tests need of a store: both engine/sqlite's and engine/postgres's are.
type store interface {
	service.Store
	service.OperatorStore
	Close() error
}

// TestMain stops the PostgreSQL server that tests start under CAPTCHA_TEST_STORE=postgres.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openStore opens an empty store for t: SQLite in a temporary directory, or with
// CAPTCHA_TEST_STORE=postgres (as .ci/run runs this package a second time) a fresh database
// on a throwaway PostgreSQL server, so that the service's every rule is checked on both.
func openStore(t *testing.T) store {
	t.Helper()
	ctx := context.Background()
	var db store
	var err error
	switch os.Getenv("CAPTCHA_TEST_STORE") {
	case "", "sqlite":
		db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	case "postgres":
		db, err = postgres.Open(ctx, pgtest.Shared(t).NewDatabase(t), postgres.Options{})
	default:
		t.Fatalf("CAPTCHA_TEST_STORE=%q: sqlite or postgres", os.Getenv("CAPTCHA_TEST_STORE"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type fixture struct {
	svc   *service.Service
	db    store
	clock *servicetest.Clock
	obs   *counts
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := openStore(t)
	var err error
	f := &fixture{db: db, clock: servicetest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), obs: &counts{}}
	f.svc, err = service.New(ctx, db, fakeRenderer{}, service.Options{Now: f.clock.Now, Observer: f.obs})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) app(t *testing.T, attempts int) *service.App {
	t.Helper()
	s := service.DefaultAppSettings()
	s.MaxAttempts = attempts
	app, _, err := f.svc.CreateApp(context.Background(), "shop", service.NHN, s)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func (f *fixture) key(t *testing.T, app *service.App) *service.Key {
	t.Helper()
	k, err := f.svc.IssueKey(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerify(t *testing.T) {
	type step struct {
		answer string // "=" is the right answer
		want   error
	}
	cases := []struct {
		name     string
		attempts int
		prepare  func(f *fixture, app *service.App, k *service.Key)
		steps    []step
	}{
		{name: "right answer passes once", attempts: 1,
			steps: []step{{"=", nil}, {"=", service.ErrKeyUsedUp}}},
		{name: "wrong answer uses up the only attempt", attempts: 1,
			steps: []step{{"XXXXXX", service.ErrWrongAnswer}, {"=", service.ErrKeyUsedUp}}},
		{name: "three attempts allow two mistakes", attempts: 3,
			steps: []step{{"XXXXXX", service.ErrWrongAnswer}, {"YYYYYY", service.ErrWrongAnswer}, {"=", nil}}},
		{name: "two mistakes exhaust two attempts", attempts: 2,
			steps: []step{{"XXXXXX", service.ErrWrongAnswer}, {"XXXXXX", service.ErrWrongAnswer}, {"=", service.ErrKeyUsedUp}}},
		{name: "empty and overlong answers use no attempt", attempts: 1,
			steps: []step{{"", service.ErrEmptyAnswer}, {"  \t ", service.ErrEmptyAnswer},
				{string(make([]byte, 65)) + "A", service.ErrAnswerTooLong}, {"=", nil}}},
		{name: "invalid answers use no attempt", attempts: 1,
			steps: []step{{"\x00", service.ErrInvalidAnswer}, {"\xff\xfe", service.ErrInvalidAnswer},
				{"ACE\u200B234", service.ErrInvalidAnswer}, {"=", nil}}},
		{name: "expired key", attempts: 1,
			prepare: func(f *fixture, _ *service.App, _ *service.Key) { f.clock.Advance(service.DefaultKeyLifetime) },
			steps:   []step{{"=", service.ErrKeyExpired}}},
		{name: "one millisecond before expiry", attempts: 1,
			prepare: func(f *fixture, _ *service.App, _ *service.Key) {
				f.clock.Advance(service.DefaultKeyLifetime - time.Millisecond)
			},
			steps: []step{{"=", nil}}},
		{name: "expired by request", attempts: 1,
			prepare: func(f *fixture, app *service.App, k *service.Key) {
				if err := f.svc.ExpireKey(context.Background(), app, k.ID); err != nil {
					panic(err)
				}
			},
			steps: []step{{"=", service.ErrKeyUsedUp}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			app := f.app(t, tc.attempts)
			k := f.key(t, app)
			if tc.prepare != nil {
				tc.prepare(f, app, k)
			}
			for i, s := range tc.steps {
				answer := s.answer
				if answer == "=" {
					answer = k.Answer
				}
				if _, err := f.svc.Verify(context.Background(), app, k.ID, answer, service.NoChannel); !errors.Is(err, s.want) {
					t.Fatalf("step %d (%q): got %v, want %v", i, s.answer, err, s.want)
				}
			}
		})
	}
}

func TestVerifyNormalizesTheAnswer(t *testing.T) {
	f := newFixture(t)
	app := f.app(t, 1)
	k := f.key(t, app)
	lower := []rune(k.Answer)
	for i, r := range lower {
		if r >= 'A' && r <= 'Z' {
			lower[i] = r + 'a' - 'A'
		}
	}
	if _, err := f.svc.Verify(context.Background(), app, k.ID, "  "+string(lower)+"\n", service.NoChannel); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRejectsOtherAppsKeysAndJunk(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mine, theirs := f.app(t, 1), f.app(t, 1)
	k := f.key(t, theirs)
	for _, id := range []string{k.ID, "", "short", k.ID + "x", "////////////////////////"} {
		if _, err := f.svc.Verify(ctx, mine, id, "ACE234", service.NoChannel); !errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("key %q: %v", id, err)
		}
		if err := f.svc.ExpireKey(ctx, mine, id); !errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("expire %q: %v", id, err)
		}
	}
	// The other app's key is untouched.
	if _, err := f.svc.Verify(ctx, theirs, k.ID, k.Answer, service.NoChannel); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRequiresTheChannelServed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	k := f.key(t, app)
	if _, err := f.svc.Verify(ctx, app, k.ID, k.Answer, service.Image); !errors.Is(err, service.ErrNotServed) {
		t.Fatalf("before the image: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.svc.KeyAudio(ctx, service.NHN, k.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, app, k.ID, k.Answer, service.Image); !errors.Is(err, service.ErrNotServed) {
		t.Fatalf("with only the sound served: %v", err)
	}
	f.clock.Advance(2 * time.Second)
	if _, err := f.svc.KeyImage(ctx, service.NHN, k.ID, app.AppKey, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(1234 * time.Millisecond)
	res, err := f.svc.Verify(ctx, app, k.ID, k.Answer, service.Image)
	if err != nil || !res.Served || res.ResponseTime != 1234*time.Millisecond {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestServeChecksTheKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app, other := f.app(t, 1), f.app(t, 1)
	k := f.key(t, app)
	first, err := f.svc.KeyImage(ctx, service.NHN, k.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := f.svc.KeyImage(ctx, service.NHN, k.ID, app.AppKey, "")
	if string(first.Data) != string(again.Data) || !first.First || again.First {
		t.Errorf("the same key drew two different images, or the deliveries were not first then later: %v, %v", first.First, again.First)
	}
	if _, err := f.svc.KeyImage(ctx, service.NHN, k.ID, other.AppKey, ""); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("fetched with another app: %v", err)
	}
	if _, err := f.svc.KeyImage(ctx, service.NHN, "AAAAAAAAAAAAAAAAAAAAAA", "", ""); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	f.svc.SetAppEnabled(ctx, app.AppKey, false)
	if _, err := f.svc.KeyImage(ctx, service.NHN, k.ID, "", ""); !errors.Is(err, service.ErrAppDisabled) {
		t.Errorf("disabled app: %v", err)
	}
	f.svc.SetAppEnabled(ctx, app.AppKey, true)
	f.svc.Verify(ctx, app, k.ID, k.Answer, service.NoChannel)
	if _, err := f.svc.KeyImage(ctx, service.NHN, k.ID, "", ""); !errors.Is(err, service.ErrKeyUsedUp) {
		t.Errorf("used key: %v", err)
	}
	k2 := f.key(t, app)
	f.clock.Advance(service.DefaultKeyLifetime)
	if _, err := f.svc.KeyAudio(ctx, service.NHN, k2.ID, "", ""); !errors.Is(err, service.ErrKeyExpired) {
		t.Errorf("expired key: %v", err)
	}
}

// Two services sharing one database (two processes, in production) draw a key identically.
func TestServicesSharingADatabaseDrawAlike(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := service.New(ctx, f.db, fakeRenderer{}, service.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	app := f.app(t, 1)
	k := f.key(t, app)
	a, _ := f.svc.KeyImage(ctx, service.NHN, k.ID, "", "")
	b, _ := other.KeyImage(ctx, service.NHN, k.ID, "", "")
	if string(a.Data) != string(b.Data) {
		t.Fatal("two services drew the same key differently")
	}
}

// Of 64 concurrent right answers for one key, exactly one passes.
func TestVerifyIsAtomic(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, service.MaxAttemptsLimit)
	k := f.key(t, app)
	var passed, usedUp atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			_, err := f.svc.Verify(ctx, app, k.ID, k.Answer, service.NoChannel)
			switch {
			case err == nil:
				passed.Add(1)
			case errors.Is(err, service.ErrKeyUsedUp):
				usedUp.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 1 || usedUp.Load() != 63 {
		t.Fatalf("%d passed, %d used up", passed.Load(), usedUp.Load())
	}
}

func TestAuthenticateApp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app, secret, err := f.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	if len(app.AppKey) != 32 || len(secret) < 43 {
		t.Errorf("appkey %q, secret %q", app.AppKey, secret)
	}
	if got, err := f.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, secret); err != nil || got.ID != app.ID {
		t.Fatalf("right secret: %v", err)
	}
	for name, tc := range map[string]struct {
		appKey, secret string
		want           error
	}{
		"wrong secret":     {app.AppKey, secret + "x", service.ErrBadSecret},
		"empty secret":     {app.AppKey, "", service.ErrBadSecret},
		"unknown appkey":   {"00000000000000000000000000000000", secret, service.ErrUnknownApp},
		"malformed appkey": {"'; DROP TABLE apps; --", secret, service.ErrUnknownApp},
	} {
		if _, err := f.svc.AuthenticateApp(ctx, service.Naver, tc.appKey, tc.secret); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	f.svc.SetAppEnabled(ctx, app.AppKey, false)
	if _, err := f.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, secret); !errors.Is(err, service.ErrAppDisabled) {
		t.Errorf("disabled: %v", err)
	}
}

func TestCreateAppValidates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, mutate := range map[string]func(*service.AppSettings){
		"lifetime":   func(s *service.AppSettings) { s.KeyLifetime = 7201 * time.Second },
		"attempts":   func(s *service.AppSettings) { s.MaxAttempts = 6 },
		"difficulty": func(s *service.AppSettings) { s.Difficulty = "extreme" },
	} {
		s := service.DefaultAppSettings()
		mutate(&s)
		var fe *engine.FieldError
		if _, _, err := f.svc.CreateApp(ctx, "x", service.NHN, s); !errors.As(err, &fe) || fe.Field != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := f.svc.CreateApp(ctx, "  ", service.NHN, service.DefaultAppSettings()); !errors.Is(err, service.ErrAppNameInvalid) {
		t.Errorf("blank name: %v", err)
	}
	var fe *engine.FieldError
	if _, _, err := f.svc.CreateApp(ctx, "x", "recaptcha", service.DefaultAppSettings()); !errors.As(err, &fe) ||
		fe.Field != "api" || !strings.Contains(err.Error(), "nhn, naver, widget") {
		t.Errorf("unknown api: %v", err)
	}
	if apps, _ := f.svc.Apps(ctx); len(apps) != 0 {
		t.Errorf("refused apps were created: %d", len(apps))
	}
}

// An app keeps the dialect it was created with until it is switched, which applies at once.
func TestSetAppAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app, _, err := f.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.AppByID(ctx, app.ID); got.API != service.Naver {
		t.Fatalf("created as %q", got.API)
	}
	if err := f.svc.SetAppAPI(ctx, app.AppKey, service.NHN); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.AppByID(ctx, app.ID); got.API != service.NHN {
		t.Fatalf("switched to %q", got.API)
	}
	var fe *engine.FieldError
	if err := f.svc.SetAppAPI(ctx, app.AppKey, "recaptcha"); !errors.As(err, &fe) || fe.Field != "api" {
		t.Errorf("unknown api: %v", err)
	}
	if err := f.svc.SetAppAPI(ctx, "00000000000000000000000000000000", service.NHN); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("unknown appkey: %v", err)
	}
}

func TestDeleteExpiredKeysCountsUnsolved(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	solved, unsolved := f.key(t, app), f.key(t, app)
	_ = unsolved
	f.svc.Verify(ctx, app, solved.ID, solved.Answer, service.NoChannel)
	f.clock.Advance(service.DefaultKeyLifetime - time.Second)
	f.svc.DeleteExpiredKeys(ctx)
	if f.obs.expired.Load() != 0 {
		t.Fatal("live keys counted as expired")
	}
	f.clock.Advance(time.Second)
	f.svc.DeleteExpiredKeys(ctx)
	if f.obs.expired.Load() != 1 || f.obs.issued.Load() != 2 {
		t.Fatalf("expired %d, issued %d", f.obs.expired.Load(), f.obs.issued.Load())
	}
	if _, err := f.svc.Verify(ctx, app, solved.ID, solved.Answer, service.NoChannel); !errors.Is(err, service.ErrKeyNotFound) {
		t.Errorf("deleted key: %v", err)
	}
}

// Apps are cached briefly. A change made through the service applies at once; one made by
// another process sharing the database (here, straight through the store) within a second.
func TestAppChangesApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	app, secret, err := f.svc.CreateApp(ctx, "shop", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateApp(ctx, service.Naver, app.AppKey, secret); err != nil {
		t.Fatal(err)
	}
	f.svc.SetAppEnabled(ctx, app.AppKey, false)
	if _, err := f.svc.App(ctx, service.Naver, app.AppKey); !errors.Is(err, service.ErrAppDisabled) {
		t.Fatalf("after disabling through the service: %v", err)
	}
	f.svc.SetAppEnabled(ctx, app.AppKey, true)
	if _, err := f.svc.App(ctx, service.Naver, app.AppKey); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetAppEnabled(ctx, app.AppKey, false); err != nil { // "another process"
		t.Fatal(err)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		_, err := f.svc.App(ctx, service.Naver, app.AppKey)
		if errors.Is(err, service.ErrAppDisabled) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a change from another process has not applied after 1.5 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keyEncoding is the service's: base64 with the alphabet in ASCII order.
var keyEncoding = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").
	WithPadding(base64.NoPadding)

// Keys begin with their issue time, so that they sort in issue order (the database keeps
// recent keys together), and end with 128 random bits.
func TestKeysSortInIssueOrder(t *testing.T) {
	f := newFixture(t)
	app := f.app(t, 1)
	var ids []string
	seen := map[string]bool{}
	for i := range 50 {
		if i%5 == 0 { // 70 ms in all, which runs the last character through all 64 values
			f.clock.Advance(7 * time.Millisecond)
		}
		k := f.key(t, app)
		raw, err := keyEncoding.DecodeString(k.ID)
		if err != nil || len(raw) != 22 {
			t.Fatalf("key %q: %d bytes, %v", k.ID, len(raw), err)
		}
		var ms int64
		for _, b := range raw[:6] {
			ms = ms<<8 | int64(b)
		}
		if ms != f.clock.Now().UnixMilli() {
			t.Fatalf("key %q carries %d, issued at %d", k.ID, ms, f.clock.Now().UnixMilli())
		}
		if random := string(raw[6:]); seen[random] {
			t.Fatalf("random part of %q repeated", k.ID)
		} else {
			seen[random] = true
		}
		ids = append(ids, k.ID)
	}
	// Keys of different milliseconds sort by time, as strings, as SQLite compares them.
	for i := range ids {
		for j := i + 5 - i%5; j < len(ids); j++ {
			if ids[i] >= ids[j] {
				t.Fatalf("%q (issued earlier) sorts after %q", ids[i], ids[j])
			}
		}
	}
}

// A key in the format of earlier versions (128 random bits alone), issued before an
// upgrade, still works after it.
func TestLegacyKeysStillVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	legacy := &service.Key{ID: "u0XpY8yzv89pqrpXkt0aMg", AppID: app.ID, Answer: "ACE234", Options: app.Settings.Options,
		MaxAttempts: 1, CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(time.Minute)}
	if err := f.db.CreateKey(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.KeyImage(ctx, service.NHN, legacy.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(ctx, app, legacy.ID, "ace234", service.Image); err != nil {
		t.Fatal(err)
	}
}

// The stored answer is folded like the given one: an answer stored in another form than the
// charsets draw (lower case, full width, decomposed) is still compared as it would be typed.
func TestVerifyFoldsTheStoredAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app(t, 1)
	for i, tc := range []struct{ stored, typed string }{
		{"ace234", "ACE234"},
		{"ＡＣＥ２３４", "ace234"},
		{"\u1112\u1169\u11ab", "혼"}, // 혼 as decomposed jamo
	} {
		k := &service.Key{ID: fmt.Sprintf("u0XpY8yzv89pqrpXkt0aM%d", i), AppID: app.ID, Answer: tc.stored,
			Options: app.Settings.Options, MaxAttempts: 1, CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(time.Minute)}
		if err := f.db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Verify(ctx, app, k.ID, tc.typed, service.NoChannel); err != nil {
			t.Errorf("stored %q, typed %q: %v", tc.stored, tc.typed, err)
		}
	}
}

// An app answers in its own dialect only: to every other one it is an unknown app, enabled
// or not, with or without its secret, and its keys are no keys. Switching applies at once.
func TestAppAnswersInItsDialectOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nhn, nhnSecret, err := f.svc.CreateApp(ctx, "nhn", service.NHN, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	naver, _, err := f.svc.CreateApp(ctx, "naver", service.Naver, service.DefaultAppSettings())
	if err != nil {
		t.Fatal(err)
	}
	nhnKey, naverKey := f.key(t, nhn), f.key(t, naver)
	if _, err := f.svc.App(ctx, service.Naver, nhn.AppKey); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("an NHN app through Naver: %v", err)
	}
	if _, err := f.svc.AuthenticateApp(ctx, service.Naver, nhn.AppKey, nhnSecret); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("an NHN app through Naver, with its secret: %v", err)
	}
	if _, err := f.svc.App(ctx, service.NHN, naver.AppKey); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("a Naver app through NHN: %v", err)
	}
	for _, fetch := range []struct {
		name   string
		api    service.API
		key    string
		appKey string
	}{
		{"a Naver key by NHN's key-only URL", service.NHN, naverKey.ID, ""},
		{"a Naver key through NHN with its appkey", service.NHN, naverKey.ID, naver.AppKey},
		{"an NHN key through Naver with its appkey", service.Naver, nhnKey.ID, nhn.AppKey},
	} {
		if _, err := f.svc.KeyImage(ctx, fetch.api, fetch.key, fetch.appKey, ""); !errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("image of %s: %v", fetch.name, err)
		}
		if _, err := f.svc.KeyAudio(ctx, fetch.api, fetch.key, fetch.appKey, ""); !errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("sound of %s: %v", fetch.name, err)
		}
	}
	f.svc.SetAppEnabled(ctx, naver.AppKey, false)
	if _, err := f.svc.App(ctx, service.NHN, naver.AppKey); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("a disabled Naver app through NHN: %v", err)
	}
	f.svc.SetAppEnabled(ctx, naver.AppKey, true)

	if err := f.svc.SetAppAPI(ctx, naver.AppKey, service.NHN); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.App(ctx, service.NHN, naver.AppKey); err != nil {
		t.Errorf("after switching to NHN: %v", err)
	}
	if _, err := f.svc.KeyImage(ctx, service.NHN, naverKey.ID, "", ""); err != nil {
		t.Errorf("its key after switching to NHN: %v", err)
	}
	if _, err := f.svc.App(ctx, service.Naver, naver.AppKey); !errors.Is(err, service.ErrUnknownApp) {
		t.Errorf("through Naver after switching to NHN: %v", err)
	}
}
