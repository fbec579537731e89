package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Checkpoints run in the background. By default SQLite checkpoints inside the commit that
// takes the WAL past 1000 pages: that commit copies pages into the database file and waits
// for two fsyncs, and every write queued behind it waits too, which under load put a stall
// into about one request in a hundred. Here the writer never checkpoints
// (wal_autocheckpoint 0); a goroutine with a connection of its own runs a PASSIVE
// checkpoint, which writes beside the writer instead of blocking it, several times a second.
// If readers kept a passive checkpoint from ever finishing and the WAL grew past
// maxWALFrames, a TRUNCATE checkpoint, which waits for them, bounds it.
const (
	checkpointEvery = 250 * time.Millisecond
	maxWALFrames    = 16384 // 64 MB of 4 KB pages
)

type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	done chan struct{}
	stop sync.Once
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-tick.C:
		}
		// Errors (SQLITE_BUSY while another process checkpoints, say) are left to the next
		// tick: a missed checkpoint only lets the WAL grow a little.
		var busy, frames, copied int
		err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		if err == nil && frames > maxWALFrames {
			c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
		}
	}
}

// close stops the checkpoints; closing twice is harmless.
func (c *checkpointer) close() {
	c.stop.Do(func() {
		close(c.quit)
		<-c.done
		c.db.Close()
	})
}
