// Package postgres implements service.Store and service.OperatorStore on PostgreSQL, through
// pgx's connection pool, for running several nodes on one shared database. It mirrors
// engine/sqlite file by file (store.go, manage.go, operators.go, housekeeping.go, stats.go,
// migrate.go), so that a change to the one is easy to carry to the other. A new column of
// keys or apps, say, is a migration in each of migrations/ and migrations/postgres/, then
// the column lists and the app reader the two stores share (engine/sqlrows), then the same
// few places in each store: its key reader (scanKey) and the statements that write the
// column; here also saveKeyIfUnchanged,
// whose condition names every column an update may change, the locked update's statement
// (updateKeyLocked), keyChanged, CreateKey's copy for the key cache, and, for a counted
// event, stats.go and housekeeping.go (migrations/postgres/0002_escalation.sql added the
// escalation's columns so).
//
// Where SQLite serializes every write through one connection and commits them in groups,
// PostgreSQL has row locks and commits concurrent transactions together by itself. A
// flow takes three round trips when one node serves it (a sticky load balancer), each one
// statement: the issuance's INSERT, then the delivery's and the verification's conditional
// saves, each of which writes only if the key is as the node last saw it (kept in
// keycache.go when this node wrote it last, else read first, a round trip more), so that of
// any number of concurrent deliveries or verifications of a key, on any number of nodes,
// one at a time decides; a key under a burst of them is locked (SELECT … FOR UPDATE)
// instead. A delivery so saves whatever the service's delivery function changed (the first
// delivery's time, the client network, an escalated answer and difficulty) in one step.
// Nothing on the request path updates a row that other keys share (see key_counts in
// migrations/postgres/0001_init.sql), so keys never queue for each other.
//
// Every call is bounded by Options.Timeout, whatever its caller's context says, so that a
// node whose database has gone away answers with an error instead of hanging; the pool
// replaces broken connections by itself when the database is back.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"captcha/migrations"
)

// Options tune the store; zero values get the defaults.
type Options struct {
	// Timeout bounds each call of the store, from taking a connection to its answer.
	Timeout time.Duration
}

// DefaultTimeout is far longer than any call takes on a working database (milliseconds) and
// well inside what a client waits for an answer.
const DefaultTimeout = 5 * time.Second

// defaultConnectTimeout bounds one attempt to connect, unless the URL says otherwise
// (connect_timeout).
const defaultConnectTimeout = 3 * time.Second

// DB is the store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	// async is a second, smaller pool whose connections commit without waiting for the
	// disk flush (synchronous_commit off), for the writes whose durability the Store
	// contract does not ask for at once: a key's issuance and its deliveries, whose loss
	// in a crash of the database server costs a user a fresh challenge and passes nothing.
	// A transaction that set it itself would cost three more statements each.
	async   *pgxpool.Pool
	keys    *keyCache
	timeout time.Duration
	where   string // the URL without its password, for logs
}

// IsURL says whether s names a PostgreSQL database (postgres:// or postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns the URL with its password replaced, for logs and messages.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Open connects to the database at rawURL (postgres://user:password@host:port/db?…, with
// any of libpq's and pgxpool's parameters, such as sslmode or pool_max_conns), brings its
// schema up to date and refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, rawURL string, o Options) (*DB, error) {
	if !IsURL(rawURL) {
		return nil, fmt.Errorf("database URL %s: must begin with postgres:// or postgresql://", Redact(rawURL))
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL, password and all: say only what it is.
		return nil, fmt.Errorf("database URL %s cannot be read", Redact(rawURL))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 { // no connect_timeout in the URL
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if !strings.Contains(rawURL, "pool_max_conns") {
		// Enough for the requests a node's cores can have in flight while each waits on a
		// round trip; every node takes as many of the server's max_connections (100 by
		// default).
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	// A connection left idle a while is pinged before use (pgxpool's default, after a
	// second idle): after the database restarts, the pool finds its dead connections
	// that way instead of failing a request on each. The ping is bounded like a call.
	cfg.PingTimeout = time.Second
	cfg.HealthCheckPeriod = 5 * time.Second
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "captcha" // for pg_stat_activity
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	asyncCfg := cfg.Copy()
	asyncCfg.MaxConns = max(2, cfg.MaxConns/2)
	asyncCfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(rawURL), err)
	}
	async, err := pgxpool.NewWithConfig(ctx, asyncCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", Redact(rawURL), err)
	}
	db := &DB{pool: pool, async: async, keys: newKeyCache(), timeout: timeout, where: Redact(rawURL)}
	mctx, cancel := context.WithTimeout(ctx, max(timeout, time.Minute)) // a migration may take a while
	defer cancel()
	if err := migrate(mctx, pool, migrations.Postgres()); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", db.where, err)
	}
	return db, nil
}

// Path names the database for logs: its URL without the password.
func (db *DB) Path() string { return db.where }

// Close closes the pool's connections.
func (db *DB) Close() error {
	db.pool.Close()
	db.async.Close()
	return nil
}

// Ping checks that a query reaches the database and its schema.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var one int
	return db.pool.QueryRow(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
}

// bound gives ctx the store's deadline, unless it has an earlier one.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// retry runs fn, and once more if it failed before anything reached the database (a
// connection found broken as it was used): fn must do all its work in one statement or
// transaction, so that a retry cannot repeat half of it.
func retry(ctx context.Context, fn func() error) error {
	err := fn()
	if err != nil && pgconn.SafeToRetry(err) && ctx.Err() == nil {
		err = fn()
	}
	return err
}

// isUniqueViolation says whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// noRows turns pgx's "no rows" into notFound.
func noRows(err error, notFound error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound
	}
	return err
}

// Exec runs one statement outside the request path (tests, bulk loads).
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := db.pool.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}
