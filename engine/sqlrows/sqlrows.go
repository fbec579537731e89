// Package sqlrows holds what the two SQL stores (engine/sqlite, engine/postgres) share of
// their row layout: the columns an app and a key are read from, in order, and how an app's
// row maps onto the domain. Their schemas are kept column for column alike
// (see the migrations package), so one reader serves both and they cannot drift.
package sqlrows

import (
	"strings"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

// AppColumns are the columns of apps that ScanApp reads, in its order.
const AppColumns = `id, name, app_key, secret_hash, enabled, api, charset, length, difficulty, width,
	height, lang, key_lifetime_s, max_attempts, created_at, escalate, escalate_min_answers, escalate_bad_percent,
	fast_solve_ms, hostnames, token_lifetime_s`

// KeyColumns are the columns a key is read from, joined with its app (keys k, apps a), in
// the order each store's key reader takes them.
const KeyColumns = `k.id, k.app_id, a.app_key, a.enabled, k.answer, k.charset, k.difficulty, k.width,
	k.height, k.lang, k.max_attempts, k.attempts, k.consumed, k.created_at, k.expires_at,
	k.image_served_at, k.audio_served_at, a.api, k.client_net, k.escalated, a.escalate, a.escalate_min_answers,
	a.escalate_bad_percent, a.fast_solve_ms`

// Scanner is a row of either driver: database/sql's *sql.Row and *sql.Rows, pgx's Row.
type Scanner interface{ Scan(dest ...any) error }

// ScanApp reads one row of AppColumns.
func ScanApp(row Scanner) (*service.App, error) {
	var a service.App
	var api, charset, difficulty, lang, hostnames string
	var lifetime, created, fastMS, tokenLifetime int64
	e := &a.Settings.Escalation
	err := row.Scan(&a.ID, &a.Name, &a.AppKey, &a.SecretHash, &a.Enabled, &api, &charset, &a.Settings.Length,
		&difficulty, &a.Settings.Width, &a.Settings.Height, &lang, &lifetime, &a.Settings.MaxAttempts, &created,
		&e.Enabled, &e.MinAnswers, &e.BadPercent, &fastMS, &hostnames, &tokenLifetime)
	if err != nil {
		return nil, err
	}
	a.Hostnames = SplitHostnames(hostnames)
	a.Settings.TokenLifetime = time.Duration(tokenLifetime) * time.Second
	e.FastSolve = time.Duration(fastMS) * time.Millisecond
	a.API = service.API(api)
	a.Settings.Charset, a.Settings.Difficulty, a.Settings.Lang = engine.Charset(charset), engine.Difficulty(difficulty), engine.Lang(lang)
	a.Settings.KeyLifetime = time.Duration(lifetime) * time.Second
	a.CreatedAt = time.UnixMilli(created)
	return &a, nil
}

// JoinHostnames is how both stores keep an app's hostnames: one column, comma-separated
// (a canonical host name has no comma), "" for none.
func JoinHostnames(hosts []string) string { return strings.Join(hosts, ",") }

// SplitHostnames reads the column JoinHostnames writes.
func SplitHostnames(column string) []string {
	if column == "" {
		return nil
	}
	return strings.Split(column, ",")
}

// TokenColumns are the columns of tokens that ScanToken reads, in its order.
const TokenColumns = `hash, app_id, challenge_at, hostname, action, cdata, expires_at, redeemed_at, idempotency_key`

// ScanToken reads one row of TokenColumns.
func ScanToken(row Scanner) (*service.Token, error) {
	var t service.Token
	var challenge, expires int64
	var redeemed *int64
	err := row.Scan(&t.Hash, &t.AppID, &challenge, &t.Hostname, &t.Action, &t.CData, &expires, &redeemed, &t.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	t.ChallengeAt, t.ExpiresAt = time.UnixMilli(challenge), time.UnixMilli(expires)
	if redeemed != nil {
		t.RedeemedAt = time.UnixMilli(*redeemed)
	}
	return &t, nil
}
