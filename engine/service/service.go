// Package service is the CAPTCHA domain: applications, challenge keys and their verification.
// It knows nothing of HTTP or SQL. Storage sits behind the Store interface defined here
// (implemented by engine/sqlite), drawing behind Renderer (implemented by engine), and each
// API dialect in web/ translates this package's errors into its own codes in one place.
//
// The rules both dialects share live here: keys are 128 random bits, single-use, expire after
// the app's lifetime and allow the app's number of attempts; answers are trimmed and compared
// case-insensitively in constant time; a key's drawing is seeded by an HMAC of the key under a
// server secret kept in the database, so every process sharing the database draws a key
// identically and a reloaded challenge is the same challenge. A client network whose recent
// answers look like a bot's gets harder challenges, decided at each key's first delivery
// and kept by the key (escalate.go).
package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"captcha/engine"
)

// Renderer draws challenges; *engine.Renderer is the real one.
type Renderer interface {
	Image(answer string, seed engine.Seed, o engine.Options) ([]byte, error)
	Audio(answer string, seed engine.Seed, o engine.Options) ([]byte, error)
}

// Observer is told what the service does, for metrics. Its methods must be cheap and safe
// for concurrent use.
type Observer interface {
	KeyIssued()
	// KeyEscalated is told once per key whose first delivery escalated it (escalate.go).
	KeyEscalated()
	KeyVerified(Outcome)
	KeysExpired(n int)
	Rendered(ch Channel, d time.Duration)
}

// Options are the service's dependencies and policies; zero values get sensible defaults.
type Options struct {
	Now      func() time.Time // the clock; time.Now when nil
	Observer Observer         // nil: nothing is observed
	Logger   *slog.Logger     // nil: nothing is logged
	// Retention is how long verification rows are kept for statistics.
	Retention time.Duration
}

// DefaultRetention keeps verification rows for 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// Service carries out every operation the APIs and the command line offer.
type Service struct {
	store     Store
	renderer  Renderer
	now       func() time.Time
	observer  Observer
	log       *slog.Logger
	retention time.Duration
	secret    []byte // the seed secret, loaded once: it never changes
	netKey    []byte // the key of NetworkID's hash, derived from secret
	// watch holds each client network's recent answers, for escalation.
	watch *answerWatch
	// drawing holds one token per challenge being drawn; see serve.
	drawing chan struct{}
}

// New loads the server secret (creating it on the first start) and returns the service.
func New(ctx context.Context, store Store, r Renderer, o Options) (*Service, error) {
	secret, err := store.ServerSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the server secret: %w", err)
	}
	s := &Service{store: newCachingStore(store), renderer: r, now: o.Now, observer: o.Observer, log: o.Logger,
		retention: o.Retention, secret: secret, netKey: networkKey(secret), watch: newAnswerWatch(),
		drawing: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if s.now == nil {
		s.now = time.Now
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	return s, nil
}

// Renderer returns what the service draws with (nil for a service that never draws), so
// that previews elsewhere draw as the service does.
func (s *Service) Renderer() Renderer { return s.renderer }

// Ping checks that the database answers, for health checks.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// seed derives the drawing seed of a key. An HMAC rather than a stored random seed: nothing
// more to store per key, and the secret never leaves the database.
func (s *Service) seed(keyID string) engine.Seed {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(keyID))
	var seed engine.Seed
	copy(seed[:], m.Sum(nil))
	return seed
}

type nopObserver struct{}

func (nopObserver) KeyIssued()                      {}
func (nopObserver) KeyEscalated()                   {}
func (nopObserver) KeyVerified(Outcome)             {}
func (nopObserver) KeysExpired(int)                 {}
func (nopObserver) Rendered(Channel, time.Duration) {}
