package server

import (
	"context"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// HeartbeatBatching tunes the group commit of progress heartbeats: beats
// arriving together are recorded in one transaction, and each request is
// answered once its batch has committed. Zero fields take the defaults.
type HeartbeatBatching struct {
	// MaxWait is how long the first beat of a batch waits for others
	// before the batch commits (default 2 ms). While every commit slot is
	// busy the batch keeps filling, however long that takes.
	MaxWait time.Duration
	// MaxSize is the most beats in one transaction (default 256).
	MaxSize int
	// Commits is how many batches may commit at once (default 1 on SQLite,
	// whose writers take turns anyway, and 4 on PostgreSQL).
	Commits int
}

// Defaults for HeartbeatBatching, and how long one batch may take to
// commit before its beats fail.
const (
	defaultBeatMaxWait      = 2 * time.Millisecond
	defaultBeatMaxSize      = 256
	defaultBeatCommitsSQL   = 1
	defaultBeatCommitsPG    = 4
	beatCommitTimeout       = 30 * time.Second
	beatCommitTimeoutSingle = 10 * time.Second
)

// recordFunc records a batch of beats; db.DB.RecordHeartbeats in production.
type recordFunc func(context.Context, []db.BeatRequest) ([]db.BeatResult, error)

// beatBatcher is a group commit without a background goroutine: the
// first request to arrive when no batch is open leads the batch. It waits
// up to MaxWait (or until the batch is full) and for a commit slot, then
// commits every beat that joined meanwhile in one transaction, on behalf
// of all of them, and wakes the others with their results.
type beatBatcher struct {
	record  recordFunc
	maxWait time.Duration
	maxSize int
	slots   chan struct{} // one token per batch committing

	mu      sync.Mutex
	open    *beatBatch // the batch new beats join; nil when none
	closed  bool
	pending sync.WaitGroup // requests inside submit
}

// beatBatch is the beats committed together, and the outcome.
type beatBatch struct {
	reqs    []db.BeatRequest
	full    chan struct{} // closed when the batch reaches maxSize
	done    chan struct{} // closed when results and err are set
	results []db.BeatResult
	err     error
}

func newBeatBatcher(record recordFunc, opts HeartbeatBatching, dialect string) *beatBatcher {
	if opts.MaxWait <= 0 {
		opts.MaxWait = defaultBeatMaxWait
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = defaultBeatMaxSize
	}
	if opts.Commits <= 0 {
		opts.Commits = defaultBeatCommitsSQL
		if dialect == db.DialectPostgres {
			opts.Commits = defaultBeatCommitsPG
		}
	}
	return &beatBatcher{
		record:  record,
		maxWait: opts.MaxWait,
		maxSize: opts.MaxSize,
		slots:   make(chan struct{}, opts.Commits),
	}
}

// submit records one beat and returns the viewer's progress after it,
// once the transaction holding it has committed. A beat that was refused
// (invalid, or a lesson the viewer may not see) returns its own error
// without affecting the others. The commit does not depend on ctx (other
// beats ride on it); it is bounded by beatCommitTimeout.
func (b *beatBatcher) submit(ctx context.Context, req db.BeatRequest) (*lectern.Progress, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.recordAlone(ctx, req)
	}
	b.pending.Add(1)
	defer b.pending.Done()
	batch, leader := b.open, false
	if batch == nil {
		batch, leader = &beatBatch{full: make(chan struct{}), done: make(chan struct{})}, true
		b.open = batch
	}
	i := len(batch.reqs)
	batch.reqs = append(batch.reqs, req)
	if len(batch.reqs) == b.maxSize {
		b.open = nil
		close(batch.full)
	}
	b.mu.Unlock()

	if leader {
		b.lead(ctx, batch)
	}
	// Even when the request is gone, wait: the beat is being committed,
	// and close must not return before it is.
	<-batch.done
	if batch.err != nil {
		return nil, batch.err
	}
	return batch.results[i].Progress, batch.results[i].Err
}

// lead waits for the batch to fill or MaxWait to pass, then for a commit
// slot, closes the batch to newcomers and commits it. The commit does not
// end when the leader's request does: the other beats depend on it.
func (b *beatBatcher) lead(ctx context.Context, batch *beatBatch) {
	timer := time.NewTimer(b.maxWait)
	select {
	case <-timer.C:
	case <-batch.full:
	}
	timer.Stop()
	b.slots <- struct{}{}
	defer func() { <-b.slots }()

	b.mu.Lock()
	if b.open == batch {
		b.open = nil
	}
	reqs := batch.reqs
	b.mu.Unlock()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), beatCommitTimeout)
	defer cancel()
	batch.results, batch.err = b.record(cctx, reqs)
	close(batch.done)
}

// recordAlone records a beat in its own transaction: after close, when
// there is no batching left to join.
func (b *beatBatcher) recordAlone(ctx context.Context, req db.BeatRequest) (*lectern.Progress, error) {
	cctx, cancel := context.WithTimeout(ctx, beatCommitTimeoutSingle)
	defer cancel()
	res, err := b.record(cctx, []db.BeatRequest{req})
	if err != nil {
		return nil, err
	}
	return res[0].Progress, res[0].Err
}

// close stops batching and waits until every beat submitted so far has
// been committed (or has failed) and answered. Beats submitted later are
// recorded one by one. Calling close again does nothing more.
func (b *beatBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.pending.Wait()
}
