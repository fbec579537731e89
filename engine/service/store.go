package service

import (
	"context"
	"time"
)

// Store keeps apps, keys and verification records. It is owned by this package so that the
// domain never depends on a database; engine/sqlite implements it. Lookups that find nothing
// return ErrUnknownApp or ErrKeyNotFound, never a nil value with a nil error.
type Store interface {
	Ping(ctx context.Context) error

	// ServerSecret returns the secret key seeds are derived from, creating it on first use.
	// Every caller, in every process sharing the store, gets the same secret.
	ServerSecret(ctx context.Context) ([]byte, error)

	CreateApp(ctx context.Context, app *App) error // sets app.ID
	AppByKey(ctx context.Context, appKey string) (*App, error)
	ListApps(ctx context.Context) ([]*App, error)
	SetAppEnabled(ctx context.Context, appKey string, enabled bool) error
	SetAppAPI(ctx context.Context, appKey string, api API) error
	DeleteApp(ctx context.Context, appKey string) error
	// For operators (manage.go): look an app up by ID, change its name, dialect and
	// settings, or replace its secret's hash.
	AppByID(ctx context.Context, id int64) (*App, error)
	UpdateApp(ctx context.Context, id int64, name string, api API, settings AppSettings) error
	SetAppSecret(ctx context.Context, id int64, secretHash []byte) error
	// SetAppHostnames replaces the hosts that may embed a widget app (hostnames.go).
	SetAppHostnames(ctx context.Context, id int64, hostnames []string) error
	// AppBySecretHash returns the app, enabled or not, whose secret has this SHA-256: the
	// widget dialect's /siteverify names no appkey.
	AppBySecretHash(ctx context.Context, secretHash []byte) (*App, error)

	// CreateKey stores a new key, seen at once by every later call of this store. Like
	// DeliverKey it may return before the key is durable: a crash that forgets it fails
	// closed (an unknown key passes nothing) and costs its user a fresh challenge.
	CreateKey(ctx context.Context, k *Key) error
	KeyByID(ctx context.Context, id string) (*Key, error)
	// UpdateKey loads the key and calls update with it, then saves what update changed, so
	// that no other update of the key can interleave: as if in one write transaction.
	// If update returns an error, nothing is written and UpdateKey returns it; otherwise
	// what update changed of the key's Attempts, Consumed, ExpiresAt, served times, Answer,
	// difficulty, Network and Escalated is saved and the returned verification, if any, is
	// recorded. It returns only once all of that is durable. A store may call update more
	// than once (engine/postgres does when another update of the key came first), each time
	// on the key as it is stored then: only the last call's changes and verification are
	// saved, so update must decide from the key alone.
	UpdateKey(ctx context.Context, id string, update func(*Key) (*Verification, error)) error
	// DeliverKey is UpdateKey for a delivery of the key's challenge: deliver records it
	// (Key.Deliver) and, at the first delivery, may remember the client's network and
	// escalate the key, all in the same step, so that a verification racing the delivery
	// never sees the challenge as unserved and concurrent fetches agree on what they draw.
	// It returns the key as deliver left it, or deliver's error with nothing written. The
	// change is seen at once by every later UpdateKey and DeliverKey of this store, but
	// DeliverKey returns before it is durable, which it becomes with the store's next
	// commit, within milliseconds: a crash in between forgets the delivery, which costs its
	// user no more than a fresh challenge, whereas waiting would put a commit of its own on
	// the way of almost every image served.
	DeliverKey(ctx context.Context, id string, deliver func(*Key) error) (*Key, error)

	// DeleteExpiredKeys deletes keys that expired before now and says how many of them
	// were never used up (they expired unsolved).
	DeleteExpiredKeys(ctx context.Context, now time.Time) (deleted, unsolved int, err error)
	// DeleteStatsBefore deletes the statistics older than t (verification records, hourly
	// counts) and says how many rows went.
	DeleteStatsBefore(ctx context.Context, t time.Time) (int64, error)

	// CreateToken stores a response token (token.go), durably before it returns.
	CreateToken(ctx context.Context, t *Token) error
	// RedeemToken redeems the token with this hash of app appID at now, atomically: if it
	// is unredeemed and now is before its expiry, it records now and idempotencyKey as its
	// redemption and returns it with redeemed true; of any number of concurrent calls, in
	// any number of processes sharing the store, exactly one does. Otherwise it returns the
	// token as stored with redeemed false, and changes nothing. A token of another app is
	// ErrTokenInvalid, as is a hash no token has.
	RedeemToken(ctx context.Context, hash []byte, appID int64, idempotencyKey string, now time.Time) (t *Token, redeemed bool, err error)
	// DeleteExpiredTokens deletes the tokens that expired before t and says how many.
	DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error)

	// Stats aggregates by hour what happened in the window (stats.go).
	Stats(ctx context.Context, w StatsWindow) (*StatsData, error)
}
