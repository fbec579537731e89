package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. Every operation on the request path (issuing a key, reading it, marking it
// served, verifying it) is handed to one goroutine, which takes the writer connection for
// each batch (the rest of the package writes on it between batches). It runs the
// operations that are waiting when it is free together in one transaction, commits once,
// and only then answers their callers. A commit costs the same work (locks, WAL writes)
// whether it carries one write or fifty, so under load each write pays a fraction of one;
// with no load an operation waits for nobody. Before it commits, the loop yields the
// processor to goroutines that are ready to run, a few times: under load those include
// handlers about to write, which then join the batch; when nothing else is ready the
// yield returns at once.
//
// An operation returns a plain error for an outcome it decided before writing anything (no
// such key, say), which leaves the rest of the batch alone; a database error goes through
// dbErr, which abandons the whole batch, since SQLite may already have rolled it back.
//
// Reads go through here too: this connection's page cache stays valid because it made the
// latest changes itself, whereas every read on another connection of a WAL database starts
// by throwing its cache away if anything was written since, and then reads its pages again.
//
// Early operations (writeEarly) are answered as soon as they have run, before the commit:
// only the first delivery of a challenge, whose record may be lost to a crash at little
// cost (see service.Store.DeliverKey). A batch holding nothing but early operations waits up to
// earlyLinger for another operation to share its commit, which under load comes within a
// fraction of that, so that every image served does not cost a commit of its own; nobody is
// kept waiting by it, since its callers already have their answers.

// maxBatch bounds one transaction, so that a long queue does not hold the write lock long.
const maxBatch = 128

// earlyLinger is how long a batch of early operations alone waits for company. It holds the
// write lock meanwhile, so another process sharing the database may wait that long to write.
const earlyLinger = 2 * time.Millisecond

// errClosed answers writes submitted after Close.
var errClosed = errors.New("sqlite: database is closed")

type writeOp struct {
	fn    func(tx *batchTx) error
	done  chan error
	early bool // answered once fn has run, not once it is committed
}

type batcher struct {
	db     *sql.DB        // the writer pool, of one connection, shared between batches
	hot    *hotStatements // prepared on that connection; used and replaced by the loop alone
	ops    chan *writeOp  // unbuffered: a send succeeds only when the loop takes the op
	quit   chan struct{}
	done   chan struct{}
	stop   sync.Once
	linger *time.Timer

	opsDone, batches atomic.Int64 // for BatchStats
}

func newBatcher(db *sql.DB) *batcher {
	b := &batcher{db: db, ops: make(chan *writeOp), quit: make(chan struct{}), done: make(chan struct{}),
		linger: time.NewTimer(time.Hour)}
	b.linger.Stop()
	go b.loop()
	return b
}

// write runs fn in a write transaction and returns once that transaction has committed. fn
// must do all of its work through tx, and may run in a transaction with other writes.
func (b *batcher) write(ctx context.Context, fn func(tx *batchTx) error) error {
	return b.submit(ctx, &writeOp{fn: fn, done: make(chan error, 1)})
}

// writeEarly runs fn like write, but returns as soon as fn has run, with fn's own outcome:
// what fn wrote is seen at once by every later write of this process and becomes durable
// with the commit of its batch, which may yet fail (and is then logged, with slog's default
// logger).
func (b *batcher) writeEarly(ctx context.Context, fn func(tx *batchTx) error) error {
	return b.submit(ctx, &writeOp{fn: fn, done: make(chan error, 1), early: true})
}

func (b *batcher) submit(ctx context.Context, op *writeOp) error {
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

// close stops the loop after the batch in progress and finalizes its statements; later
// writes get errClosed. It must run before the writer pool is closed.
func (b *batcher) close() {
	b.stop.Do(func() {
		close(b.quit)
		<-b.done
		if b.hot == nil {
			return
		}
		if conn, err := b.db.Conn(context.Background()); err == nil {
			conn.Raw(func(dc any) error {
				if dc == b.hot.conn {
					b.hot.close()
				}
				return nil
			})
			conn.Close()
		}
	})
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		select {
		case op := <-b.ops:
			b.run(op)
		case <-b.quit:
			return
		}
	}
}

// next returns an operation waiting to join the batch, or nil. With linger, if none is
// waiting, it waits up to earlyLinger for one, and says that it did.
func (b *batcher) next(linger bool) (op *writeOp, lingered bool) {
	select {
	case op := <-b.ops:
		return op, false
	default:
	}
	if !linger {
		// Let the goroutines that are ready to run go first. Under load some of them are
		// handlers about to write, which then share this commit instead of each paying for
		// one of their own; with nothing else ready to run, this returns at once.
		for range 8 {
			runtime.Gosched()
			select {
			case op := <-b.ops:
				return op, false
			default:
			}
		}
		return nil, false
	}
	b.linger.Reset(earlyLinger)
	defer b.linger.Stop()
	select {
	case op = <-b.ops:
	case <-b.linger.C:
	case <-b.quit:
	}
	return op, true
}

// run runs ops, and the operations that join them while they run (up to maxBatch in all),
// in one transaction, commits it and answers each operation.
func (b *batcher) run(ops ...*writeOp) {
	// The transaction outlives any one request, so it does not use their contexts.
	conn, err := b.db.Conn(context.Background())
	if err == nil {
		err = conn.Raw(func(dc any) error { return b.runOn(dc.(driver.Conn), ops) })
		conn.Close()
	}
	if err != nil { // the batch never began: no operation has run
		for _, op := range ops {
			op.done <- err
		}
	}
}

// runOn is run on the writer's driver connection. It returns an error only if it could not
// begin, before running any operation.
func (b *batcher) runOn(conn driver.Conn, ops []*writeOp) error {
	if b.hot == nil || b.hot.conn != conn {
		// The first batch, or database/sql replaced a broken connection.
		if b.hot != nil {
			b.hot.close()
		}
		hot, err := prepareHot(conn)
		if err != nil {
			b.hot = nil
			return err
		}
		b.hot = hot
	}
	dtx, err := conn.(driver.ConnBeginTx).BeginTx(context.Background(), driver.TxOptions{})
	if err != nil {
		return err
	}
	tx := &batchTx{conn: conn, hot: b.hot}
	batch := make([]*writeOp, 0, max(len(ops), 8))
	errs := make([]error, 0, cap(batch))
	onlyEarly, lingered := true, false
	for failed := false; !failed; {
		var op *writeOp
		switch {
		case len(ops) > 0:
			op, ops = ops[0], ops[1:]
		case len(batch) < maxBatch:
			var waited bool
			op, waited = b.next(onlyEarly && !lingered)
			lingered = lingered || waited
		}
		if op == nil {
			break
		}
		opErr := callSafely(tx, op.fn)
		batch, errs = append(batch, op), append(errs, opErr)
		var failure *txFailure
		if errors.As(opErr, &failure) {
			err, failed = failure.err, true
		} else if op.early {
			op.done <- opErr
		}
		onlyEarly = onlyEarly && op.early
	}
	if err == nil {
		err = tx.flushCounts()
	}
	if err == nil {
		err = dtx.Commit()
	} else {
		dtx.Rollback()
	}
	b.opsDone.Add(int64(len(batch) + len(ops)))
	b.batches.Add(1)
	lost := 0
	for i, op := range batch {
		var failure *txFailure
		switch {
		case op.early && !errors.As(errs[i], &failure):
			if err != nil && errs[i] == nil {
				lost++
			}
		case err != nil:
			op.done <- err
		default:
			op.done <- errs[i]
		}
	}
	for _, op := range ops { // not run: the batch failed first
		op.done <- err
	}
	if lost > 0 {
		slog.Default().Error("sqlite: a commit failed after its first deliveries of challenges were answered",
			"deliveries", lost, "err", err)
	}
	return nil
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
func callSafely(tx *batchTx, fn func(*batchTx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &txFailure{fmt.Errorf("sqlite: write panicked: %v", r)}
		}
	}()
	return fn(tx)
}
