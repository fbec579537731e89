package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"captcha/engine"
)

// Key is one challenge: the answer, how it is drawn, and what has happened to it so far.
type Key struct {
	ID     string
	AppID  int64
	AppKey string // of the owning app, loaded with the key so a fetch costs one query
	// AppEnabled, AppAPI and AppEscalation are the owning app's state, dialect and
	// escalation policy when the key was loaded.
	AppEnabled    bool
	AppAPI        API
	AppEscalation Escalation
	// Answer and Options are fixed at issuance, but for an escalation at the first delivery.
	Answer        string
	Options       engine.Options
	MaxAttempts   int
	Attempts      int
	Consumed      bool // verified successfully, out of attempts, or expired by request
	CreatedAt     time.Time
	ExpiresAt     time.Time
	ImageServedAt time.Time // zero until the image is first served
	AudioServedAt time.Time // zero until the sound is first served
	// Network is the client network of the first delivery, when the app escalates; its
	// verification is attributed to it (escalate.go).
	Network   NetworkID
	Escalated bool // the first delivery made the challenge harder
}

// Channel is how a challenge reaches the user.
type Channel string

const (
	NoChannel Channel = "none"
	Image     Channel = "image"
	Audio     Channel = "audio"
)

// ServedAt is when the key was first served on ch; for NoChannel, on either.
func (k *Key) ServedAt(ch Channel) time.Time {
	switch ch {
	case Image:
		return k.ImageServedAt
	case Audio:
		return k.AudioServedAt
	}
	switch {
	case k.ImageServedAt.IsZero():
		return k.AudioServedAt
	case k.AudioServedAt.IsZero() || k.ImageServedAt.Before(k.AudioServedAt):
		return k.ImageServedAt
	}
	return k.AudioServedAt
}

// usedChannel is what the user was given: the sound if it was ever fetched (a person asks
// for it when the image is unreadable), else the image, else nothing.
func (k *Key) usedChannel() Channel {
	switch {
	case !k.AudioServedAt.IsZero():
		return Audio
	case !k.ImageServedAt.IsZero():
		return Image
	}
	return NoChannel
}

// Outcome is what a verification decided, as recorded for statistics.
type Outcome string

const (
	Passed  Outcome = "passed"
	Wrong   Outcome = "wrong"
	Expired Outcome = "expired"
	UsedUp  Outcome = "used_up"
)

// Verification is the record of one verification decision.
type Verification struct {
	AppID        int64
	Outcome      Outcome
	Channel      Channel
	ResponseTime time.Duration // since the first delivery; meaningless when Served is false
	Served       bool
	At           time.Time
}

// A key is a timestamp and 128 bits of crypto/rand (more than the 122 of a random UUID),
// written in the 64 characters of base64url, which are URL-, path- and header-safe.
//
// The timestamp (Unix milliseconds, 6 bytes, big-endian) comes first so that keys sort in
// the order they were issued; for that, the characters stand for 0 to 63 in ASCII order
// (keyEncoding), where base64url's own order puts digits after letters. The database stores
// keys in key order: a key is issued, served and verified within seconds, so with this
// prefix the rows those writes touch sit together in a few pages, and a group commit writes
// those few, instead of one page in a random place per key. The prefix tells the holder
// nothing it did not know: when it was given the key.
const (
	keyTimeBytes = 6
	keyRandBytes = 16
)

var keyEncoding = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").
	WithPadding(base64.NoPadding)

var keyLen = keyEncoding.EncodedLen(keyTimeBytes + keyRandBytes)

// legacyKeyLen is the length of the keys of earlier versions, 128 random bits alone, still
// accepted so that challenges in flight across an upgrade stay valid until they expire.
var legacyKeyLen = base64.RawURLEncoding.EncodedLen(keyRandBytes)

// newKeyID returns a fresh key issued at now.
func newKeyID(now time.Time) string {
	var id [keyTimeBytes + keyRandBytes]byte
	ms := uint64(now.UnixMilli())
	for i := range keyTimeBytes {
		id[i] = byte(ms >> (8 * (keyTimeBytes - 1 - i)))
	}
	rand.Read(id[keyTimeBytes:])
	return keyEncoding.EncodeToString(id[:])
}

// IssueKey creates a key for app with a fresh answer, drawn as the app's settings say now.
func (s *Service) IssueKey(ctx context.Context, app *App) (*Key, error) {
	answer, err := engine.NewAnswer(app.Settings.Charset, app.Settings.Length)
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Millisecond)
	k := &Key{
		ID:         newKeyID(now),
		AppID:      app.ID,
		AppKey:     app.AppKey,
		AppEnabled: app.Enabled,
		AppAPI:     app.API,
		// As the store loads it, for a store that remembers the keys it wrote (engine/postgres).
		AppEscalation: app.Settings.Escalation,
		Answer:        answer,
		Options:       app.Settings.Options,
		MaxAttempts:   app.Settings.MaxAttempts,
		CreatedAt:     now,
		ExpiresAt:     now.Add(app.Settings.KeyLifetime),
	}
	if app.API == Widget {
		// The widget offers a fresh challenge after a wrong answer: a key allows one, so
		// that a bot cannot try several answers on one image.
		k.MaxAttempts = 1
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return nil, err
	}
	s.observer.KeyIssued()
	return k, nil
}

// validKeyID rejects what cannot be one of our keys before it reaches the database.
func validKeyID(id string) bool {
	if len(id) != keyLen && len(id) != legacyKeyLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// Challenge is a key's image or sound as delivered.
type Challenge struct {
	Data []byte
	// First says that this was the key's first delivery on its channel. Web's quota of
	// sounds counts these: replaying a sound already delivered costs nothing.
	First bool
}

// KeyImage returns the JPEG of a live key of an app of api, the same bytes every time.
// appKey, when not empty, must be the key's app (the Naver dialect names it; NHN browsers
// fetch with the key alone). network is the client's network, an IPv4 address or an IPv6
// /64, which the key's first delivery remembers and may escalate for (escalate.go); "" when
// there is no client to speak of.
func (s *Service) KeyImage(ctx context.Context, api API, keyID, appKey, network string) (Challenge, error) {
	return s.serve(ctx, api, keyID, appKey, network, Image)
}

// KeyAudio returns the WAV of a live key, speaking the same answer as its image.
func (s *Service) KeyAudio(ctx context.Context, api API, keyID, appKey, network string) (Challenge, error) {
	return s.serve(ctx, api, keyID, appKey, network, Audio)
}

func (s *Service) serve(ctx context.Context, api API, keyID, appKey, network string, ch Channel) (Challenge, error) {
	if !validKeyID(keyID) {
		return Challenge{}, ErrKeyNotFound
	}
	if s.renderer == nil {
		return Challenge{}, errors.New("this service was opened without a renderer")
	}
	now := s.now().Truncate(time.Millisecond)
	client := s.networkID(network)
	var first, unserved bool
	// The first delivery is recorded in the same step that checks the key, before drawing:
	// one write instead of a read and a write. An escalation is decided in that step too, so
	// that concurrent fetches agree on it.
	k, err := s.store.DeliverKey(ctx, keyID, func(k *Key) error {
		unserved = k.ServedAt(NoChannel).IsZero()
		var err error
		if first, err = k.Deliver(api, appKey, ch, now); err != nil {
			return err
		}
		if e := k.AppEscalation; unserved && e.Enabled && !client.IsZero() {
			k.Network = client
			if s.watch.suspect(client, now, e) {
				return k.escalate()
			}
		}
		return nil
	})
	if err != nil {
		return Challenge{}, err
	}
	// Told once the store has saved the delivery, not where escalate is called: the store
	// may call deliver more than once and saves only the last call's changes. A last call
	// that found the key unserved made its first delivery, which of concurrent fetches only
	// one does, so each escalated key is told once.
	if unserved && k.Escalated {
		s.observer.KeyEscalated()
	}
	// No more challenges are drawn at once than there are cores: drawing is pure CPU work, so
	// more at a time would finish none sooner, and each one drawing holds a canvas and its
	// encoder's buffers in memory and in the processor's caches.
	select {
	case s.drawing <- struct{}{}:
	case <-ctx.Done():
		return Challenge{}, ctx.Err()
	}
	defer func() { <-s.drawing }()
	start := time.Now() // the wall clock, not s.now: this measures work, not policy
	var data []byte
	if ch == Audio {
		data, err = s.renderer.Audio(k.Answer, s.seed(k.ID), k.Options)
	} else {
		data, err = s.renderer.Image(k.Answer, s.seed(k.ID), k.Options)
	}
	if err != nil {
		return Challenge{}, fmt.Errorf("drawing the %s of a key: %w", ch, err)
	}
	s.observer.Rendered(ch, time.Since(start))
	return Challenge{Data: data, First: first}, nil
}

// Deliverable says whether the key's challenge may be delivered at now to a client of
// dialect api that names appKey (or none, for the NHN dialect, whose browsers fetch with the
// key alone): nil, or ErrKeyNotFound for another app's key (or another dialect's: no
// dialect serves what another one issued), ErrAppDisabled, ErrKeyUsedUp or ErrKeyExpired.
func (k *Key) Deliverable(api API, appKey string, now time.Time) error {
	switch {
	case k.AppAPI != api, appKey != "" && k.AppKey != appKey:
		return ErrKeyNotFound
	case !k.AppEnabled:
		return ErrAppDisabled
	case k.Consumed:
		return ErrKeyUsedUp
	case !now.Before(k.ExpiresAt):
		return ErrKeyExpired
	}
	return nil
}

// Deliver records a delivery of the key's challenge on ch at now, if Deliverable allows it
// (its error otherwise), and says whether it was the first on ch: only the first is recorded.
func (k *Key) Deliver(api API, appKey string, ch Channel, now time.Time) (first bool, err error) {
	if err := k.Deliverable(api, appKey, now); err != nil {
		return false, err
	}
	var served *time.Time
	switch ch {
	case Image:
		served = &k.ImageServedAt
	case Audio:
		served = &k.AudioServedAt
	default:
		return false, fmt.Errorf("no delivery on channel %q", ch)
	}
	if !served.IsZero() {
		return false, nil
	}
	*served = now
	return true, nil
}

// VerifyResult is what a verification tells beyond success or failure.
type VerifyResult struct {
	// ResponseTime runs from the first delivery on the channel asked for (either, for
	// NoChannel) to the verification; Served is false when there was none.
	ResponseTime time.Duration
	Served       bool
}

// Verify checks an answer for one of app's keys, atomically: of any number of concurrent
// verifications of a key, at most one passes. A wrong answer uses up one attempt; one refused
// before comparing (ErrBadAnswer: empty, overlong, invalid) uses none. Answers are compared
// as normalizeAnswer says. require names the channel that must have been served first
// (the Naver dialect compares only after its image or sound was delivered).
//
// The error is nil when the answer passed, ErrWrongAnswer (with a filled result) when it did
// not, and another error when the key could not be verified at all.
func (s *Service) Verify(ctx context.Context, app *App, keyID, answer string, require Channel) (VerifyResult, error) {
	var res VerifyResult
	given, err := normalizeAnswer(answer)
	if err != nil {
		return res, err
	}
	if !validKeyID(keyID) {
		return res, ErrKeyNotFound
	}
	now := s.now().Truncate(time.Millisecond)
	var outcome Outcome
	var client NetworkID
	var solveTime time.Duration
	err = s.store.UpdateKey(ctx, keyID, func(k *Key) (*Verification, error) {
		if k.AppID != app.ID {
			return nil, ErrKeyNotFound // another app's key is no key of this one
		}
		client = k.Network
		if served := k.ServedAt(require); !served.IsZero() {
			res = VerifyResult{ResponseTime: now.Sub(served), Served: true}
		}
		v := &Verification{AppID: app.ID, Channel: k.usedChannel(), At: now}
		if first := k.ServedAt(NoChannel); !first.IsZero() {
			v.ResponseTime, v.Served = now.Sub(first), true
		}
		switch {
		case k.Consumed:
			v.Outcome = UsedUp
		case !now.Before(k.ExpiresAt):
			v.Outcome = Expired
		case require != NoChannel && !res.Served:
			return nil, ErrNotServed
		default:
			k.Attempts++
			// Constant time: how much of a guess matched must not show in the timing. The
			// stored answer is folded like the given one, so that an answer stored in any form
			// (an older version's, a future charset's) is compared as it is typed.
			if subtle.ConstantTimeCompare([]byte(given), []byte(foldAnswer(k.Answer))) == 1 {
				v.Outcome, k.Consumed = Passed, true
			} else {
				v.Outcome, k.Consumed = Wrong, k.Attempts >= k.MaxAttempts
			}
		}
		outcome, solveTime = v.Outcome, v.ResponseTime
		return v, nil
	})
	if err != nil {
		return res, err
	}
	s.observer.KeyVerified(outcome)
	// The answer counts for the network the challenge was delivered to. Answers to keys
	// already expired or used up say nothing of how it reads challenges.
	if e := app.Settings.Escalation; e.Enabled && !client.IsZero() && (outcome == Passed || outcome == Wrong) {
		s.watch.record(client, now, outcome == Wrong || solveTime < e.FastSolve)
	}
	switch outcome {
	case Passed:
		return res, nil
	case Wrong:
		return res, ErrWrongAnswer
	case Expired:
		return res, ErrKeyExpired
	default:
		return res, ErrKeyUsedUp
	}
}

// ExpireKey ends one of app's keys at once: later fetches and verifications find it expired.
// Expiring a key that has already ended is not an error.
func (s *Service) ExpireKey(ctx context.Context, app *App, keyID string) error {
	if !validKeyID(keyID) {
		return ErrKeyNotFound
	}
	now := s.now().Truncate(time.Millisecond)
	return s.store.UpdateKey(ctx, keyID, func(k *Key) (*Verification, error) {
		if k.AppID != app.ID {
			return nil, ErrKeyNotFound
		}
		k.Consumed = true
		if k.ExpiresAt.After(now) {
			k.ExpiresAt = now
		}
		return nil, nil
	})
}
