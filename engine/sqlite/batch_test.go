package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func op(fn func(*batchTx) error) *writeOp { return &writeOp{fn: fn, done: make(chan error, 1)} }

func insertApp(name string) func(*batchTx) error {
	return func(tx *batchTx) error {
		return dbErr(tx.execSQL(`INSERT INTO apps (name, app_key, secret_hash, charset, length, difficulty, width,
			height, lang, key_lifetime_s, max_attempts, created_at)
			VALUES (?, ?, x'00', 'alnum', 6, 'normal', 240, 80, 'en', 600, 1, 0)`, name, name))
	}
}

// In one batch, an operation that declines (a plain error) leaves the others committed.
func TestBatchKeepsOthersWhenOneDeclines(t *testing.T) {
	db := openTestDB(t)
	declined := errors.New("declined")
	ops := []*writeOp{op(insertApp("a")), op(func(*batchTx) error { return declined }), op(insertApp("b"))}
	db.batch.run(ops...)
	if err := <-ops[0].done; err != nil {
		t.Fatal(err)
	}
	if err := <-ops[1].done; err != declined {
		t.Fatalf("declined op: %v", err)
	}
	if err := <-ops[2].done; err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "apps"); n != 2 {
		t.Fatalf("%d apps", n)
	}
}

// A database error abandons the whole batch, and every operation in it hears so.
func TestBatchAbandonedOnDatabaseError(t *testing.T) {
	db := openTestDB(t)
	ops := []*writeOp{op(insertApp("a")), op(insertApp("a")), op(insertApp("b"))} // a twice: UNIQUE fails
	db.batch.run(ops...)
	for i, o := range ops {
		if err := <-o.done; err == nil {
			t.Errorf("op %d succeeded in an abandoned batch", i)
		}
	}
	if n := countRows(t, db, "apps"); n != 0 {
		t.Fatalf("%d apps written by an abandoned batch", n)
	}
	// The connection is usable afterwards.
	if err := db.batch.write(context.Background(), insertApp("c")); err != nil {
		t.Fatal(err)
	}
}

func TestBatchTurnsPanicsIntoErrors(t *testing.T) {
	db := openTestDB(t)
	err := db.batch.write(context.Background(), func(*batchTx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
	if err := db.batch.write(context.Background(), insertApp("a")); err != nil {
		t.Fatal(err)
	}
}

func TestBatchAfterClose(t *testing.T) {
	db := openTestDB(t)
	db.Close()
	done := make(chan error)
	go func() { done <- db.batch.write(context.Background(), insertApp("a")) }()
	select {
	case err := <-done:
		if !errors.Is(err, errClosed) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write after Close hung")
	}
	db.Close() // twice is fine
}

// The writer never checkpoints; the checkpointer copies the WAL into the database file in
// the background.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	var autocheckpoint int
	if err := db.writer.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&autocheckpoint); err != nil || autocheckpoint != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d, %v", autocheckpoint, err)
	}
	for i := range 50 {
		if err := db.batch.write(ctx, insertApp(fmt.Sprint("app", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var busy, frames, copied int
		if err := db.writer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(NOOP)").Scan(&busy, &frames, &copied); err != nil {
			t.Fatal(err)
		}
		if frames > 0 && copied == frames {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d of %d WAL frames are checkpointed", copied, frames)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
