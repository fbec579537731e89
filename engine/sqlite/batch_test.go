package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
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

// Group commit adds up key_counts for the whole batch: concurrent issuances and first
// deliveries, in two hours, all count, however the batches fell.
func TestBatchCountsIssuedAndDelivered(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	app := testApp(t, db, "counted")
	hour := time.UnixMilli(1_700_002_800_000) // on the hour
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			created := hour.Add(time.Duration(i%2) * time.Hour) // 20 in each hour
			k := &service.Key{ID: fmt.Sprintf("key%02d", i), AppID: app.ID, Answer: "ACE234",
				Options: engine.DefaultOptions(), MaxAttempts: 1, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
			if err := db.CreateKey(ctx, k); err != nil {
				t.Error(err)
				return
			}
			if i%4 < 2 { // 10 images in each hour; the second delivery does not count
				for range 2 {
					if _, err := db.DeliverKey(ctx, k.ID, deliver(service.NHN, "", service.Image, created.Add(time.Minute))); err != nil {
						t.Error(err)
					}
				}
			}
			if i%5 == 0 { // 4 sounds in each hour
				if _, err := db.DeliverKey(ctx, k.ID, deliver(service.NHN, "", service.Audio, created.Add(time.Minute))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	keyAsTheWriterSeesIt(t, db, "key00") // a write after them all: every delivery is committed
	rows, err := db.reader.Query(`SELECT hour, issued, images, sounds FROM key_counts WHERE app_id = ? ORDER BY hour`, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var h, issued, images, sounds int64
		if err := rows.Scan(&h, &issued, &images, &sounds); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d/%d/%d", h-hour.UnixMilli()/3_600_000, issued, images, sounds))
	}
	if want := []string{"0:20/10/4", "1:20/10/4"}; !slices.Equal(got, want) {
		t.Fatalf("key_counts %v, want %v", got, want)
	}
}
