package db

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// How TokenUses paces its writes.
const (
	// tokenUseEvery is the least time between two recorded uses of one
	// token: last_used_at is "about when", not an audit log.
	tokenUseEvery = time.Minute
	// tokenUseSettle is how long the writer waits after a first use for
	// others to join its transaction.
	tokenUseSettle = 2 * time.Second
	// tokenUseRetry is how long the writer waits after a failed write
	// (the database busy or away) before trying again.
	tokenUseRetry = 15 * time.Second
	// tokenUseTimeout bounds one write.
	tokenUseTimeout = 10 * time.Second
	// tokenUseTries is how many writes in a row may fail before the uses
	// pending are dropped (after about two minutes): the writer must not
	// outlive a database that is gone for good.
	tokenUseTries = 8
)

// TokenUses records when API tokens were used, off the request path. Note
// remembers a use in memory, at most one per token a minute (by the
// database's clock), and a writer goroutine stores the uses noted in one
// transaction. The writer runs only while there is something to write, and
// Close writes what is left and stops it. A busy or unreachable database
// only delays the writes (they are retried); uses noted but not yet written
// when the process dies are lost, so last_used_at may then lag by a minute
// or so. That is the trade: authenticating a token never waits for a write.
type TokenUses struct {
	db      *DB
	onError func(error)

	mu      sync.Mutex
	noted   map[string]time.Time // token hash → the last use taken for writing
	pending map[string]time.Time // uses not yet written
	done    chan struct{}        // closed when the running writer exits; nil when none
	stop    chan struct{}        // closed by Close
	closed  bool
}

// NewTokenUses returns a recorder of API token uses in db. onError, when
// not nil, is told of each failed write (the uses are kept and retried).
func NewTokenUses(db *DB, onError func(error)) *TokenUses {
	if onError == nil {
		onError = func(error) {}
	}
	return &TokenUses{
		db:      db,
		onError: onError,
		noted:   map[string]time.Time{},
		pending: map[string]time.Time{},
		stop:    make(chan struct{}),
	}
}

// Note records that the API token whose hash is tokenHash was just used,
// unless a use of it less than a minute ago was already taken. It never
// blocks on the database. After Close it does nothing.
func (u *TokenUses) Note(tokenHash string) {
	now := u.db.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	if last, ok := u.noted[tokenHash]; ok && now.Sub(last) < tokenUseEvery && !now.Before(last) {
		return
	}
	u.noted[tokenHash] = now
	u.pending[tokenHash] = now
	if u.done == nil {
		u.done = make(chan struct{})
		go u.write(u.done)
	}
}

// Close writes the uses still pending, waiting at most until ctx ends, and
// stops the writer. Later uses are not recorded.
func (u *TokenUses) Close(ctx context.Context) error {
	u.mu.Lock()
	if !u.closed {
		u.closed = true
		close(u.stop)
	}
	done := u.done
	u.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write is the writer: it waits a moment for more uses, writes all that
// are pending in one transaction, and goes on until nothing is left.
func (u *TokenUses) write(done chan struct{}) {
	defer close(done)
	wait, failures := tokenUseSettle, 0
	for {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-u.stop:
		}
		timer.Stop()

		u.mu.Lock()
		batch := u.pending
		u.pending = map[string]time.Time{}
		closing := u.closed
		u.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), tokenUseTimeout)
		err := u.db.recordTokenUses(ctx, batch)
		cancel()
		if err != nil {
			u.onError(err)
		}

		u.mu.Lock()
		wait = tokenUseSettle
		switch {
		case err == nil:
			failures = 0
		case !closing && failures+1 < tokenUseTries:
			// Kept for the next write, unless a newer use took their place.
			failures++
			for h, at := range batch {
				if _, newer := u.pending[h]; !newer {
					u.pending[h] = at
				}
			}
			wait = tokenUseRetry
		default:
			failures = 0 // dropped
		}
		u.forgetOld()
		if closing || len(u.pending) == 0 {
			u.done = nil
			u.mu.Unlock()
			return
		}
		u.mu.Unlock()
	}
}

// forgetOld drops the noted uses that no longer hold back a new one, so
// that the map holds only the tokens used in the last minute. u.mu is held.
func (u *TokenUses) forgetOld() {
	now := u.db.now()
	for h, at := range u.noted {
		if now.Sub(at) >= tokenUseEvery {
			delete(u.noted, h)
		}
	}
}

// recordTokenUses sets last_used_at of the tokens in uses (by hash) in one
// transaction, never moving it backwards. Revoked tokens are skipped.
func (db *DB) recordTokenUses(ctx context.Context, uses map[string]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	// One order for every process, so that two writers cannot deadlock.
	hashes := slices.Sorted(maps.Keys(uses))
	err := db.write(ctx, func(t tx) error {
		for _, h := range hashes {
			at := uses[h]
			if sh, ok := splitUseKey(h); ok {
				if err := recordSessionUse(ctx, t, sh, at); err != nil {
					return err
				}
				continue
			}
			if _, err := t.exec(ctx, `UPDATE api_tokens SET last_used_at = ?
				WHERE token_hash = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, h, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record api token uses: %w", err)
	}
	return nil
}
