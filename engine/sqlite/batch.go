package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit. Every operation on the request path (issuing a key, reading it, marking it
// served, verifying it) is handed to one goroutine that owns the writer connection. It runs
// the operations that are waiting when it is free together in one transaction, commits once,
// and only then answers their callers. A commit costs the same work (locks, WAL writes)
// whether it carries one write or fifty, so under load each write pays a fraction of one;
// with no load an operation waits for nobody. Nothing is answered before its transaction is
// committed.
//
// An operation returns a plain error for an outcome it decided before writing anything (no
// such key, say), which leaves the rest of the batch alone; a database error goes through
// dbErr, which abandons the whole batch, since SQLite may already have rolled it back.
//
// Reads go through here too: this connection's page cache stays valid because it made the
// latest changes itself, whereas every read on another connection of a WAL database starts
// by throwing its cache away if anything was written since, and then reads its pages again.

// maxBatch bounds one transaction, so that a long queue does not hold the write lock long.
const maxBatch = 128

// errClosed answers writes submitted after Close.
var errClosed = errors.New("sqlite: database is closed")

type writeOp struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

type batcher struct {
	db   *sql.DB
	ops  chan *writeOp // unbuffered: a send succeeds only when the loop takes the op
	quit chan struct{}
	done chan struct{}
	stop sync.Once

	opsDone, batches atomic.Int64 // for BatchStats
}

func newBatcher(db *sql.DB) *batcher {
	b := &batcher{db: db, ops: make(chan *writeOp), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// write runs fn in a write transaction and returns once that transaction has committed. fn
// must do all of its work through tx, and may run in a transaction with other writes.
func (b *batcher) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	select {
	case b.ops <- op:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the write is waited for even if ctx ends: it may already be committed.
	return <-op.done
}

// BatchStats says how many operations have gone through group commit and in how many
// transactions, to see how well it batches under a given load.
func (db *DB) BatchStats() (ops, transactions int64) {
	return db.batch.opsDone.Load(), db.batch.batches.Load()
}

// close stops the loop after the batch in progress; later writes get errClosed.
func (b *batcher) close() {
	b.stop.Do(func() { close(b.quit) })
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-b.ops:
			batch = append(batch[:0], op)
		case <-b.quit:
			return
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case op := <-b.ops:
				batch = append(batch, op)
			default:
				break collect
			}
		}
		b.opsDone.Add(int64(len(batch)))
		b.batches.Add(1)
		b.run(batch)
	}
}

// run commits batch in one transaction and answers each write.
func (b *batcher) run(batch []*writeOp) {
	errs := make([]error, len(batch))
	// The transaction outlives any one request, so it does not use their contexts.
	tx, err := b.db.BeginTx(context.Background(), nil)
	if err == nil {
		for i, op := range batch {
			errs[i] = callSafely(tx, op.fn)
			var failed *txFailure
			if errors.As(errs[i], &failed) {
				err = failed.err
				break
			}
		}
	}
	if err == nil {
		err = tx.Commit()
	} else if tx != nil {
		tx.Rollback()
	}
	for i, op := range batch {
		if err != nil {
			errs[i] = err
		}
		op.done <- errs[i]
	}
}

// txFailure is a database error inside a write. SQLite may have rolled the whole
// transaction back on such an error, and the write may have been half done, so the batch is
// abandoned and every write in it fails; none of them has been answered yet.
type txFailure struct{ err error }

func (f *txFailure) Error() string { return f.err.Error() }
func (f *txFailure) Unwrap() error { return f.err }

// dbErr marks err, if any, as a failure of the transaction.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	return &txFailure{err}
}

// callSafely turns a panic in fn (which includes the service's decision code) into a failure
// of the batch instead of the end of the process.
func callSafely(tx *sql.Tx, fn func(*sql.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &txFailure{fmt.Errorf("sqlite: write panicked: %v", r)}
		}
	}()
	return fn(tx)
}
