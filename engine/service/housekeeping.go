package service

import (
	"context"
	"time"
)

// How often housekeeping runs. Expired keys go within about half a minute of expiring;
// statistics past retention are trimmed hourly, as retention counts in days.
const (
	expiredKeysEvery = 30 * time.Second
	retentionEvery   = time.Hour
)

// Housekeep deletes expired keys and response tokens and statistics past retention, in the
// background, until ctx is done. Every process sharing the database may run it: the
// deletions are idempotent.
func (s *Service) Housekeep(ctx context.Context) {
	keys := time.NewTicker(expiredKeysEvery)
	defer keys.Stop()
	s.trimStats(ctx)
	lastTrim := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
		}
		s.DeleteExpiredKeys(ctx)
		s.DeleteExpiredTokens(ctx)
		if time.Since(lastTrim) >= retentionEvery {
			s.trimStats(ctx)
			lastTrim = time.Now()
		}
	}
}

// DeleteExpiredKeys deletes the keys that have expired by now, counting the unsolved ones.
func (s *Service) DeleteExpiredKeys(ctx context.Context) {
	deleted, unsolved, err := s.store.DeleteExpiredKeys(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("deleting expired keys", "err", err)
		}
		return
	}
	s.observer.KeysExpired(unsolved)
	if deleted > 0 {
		s.log.Debug("deleted expired keys", "deleted", deleted, "unsolved", unsolved)
	}
}

func (s *Service) trimStats(ctx context.Context) {
	n, err := s.store.DeleteStatsBefore(ctx, s.now().Add(-s.retention))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("deleting statistics past retention", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("deleted statistics past retention", "rows", n, "retention", s.retention)
	}
}
