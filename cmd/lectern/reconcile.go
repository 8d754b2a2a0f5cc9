package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// deadWorkerReason is what a lesson and its job show when the worker
// running the transcode stopped heartbeating.
const deadWorkerReason = "Processing stopped: the worker running it stopped responding. Retry it from the admin jobs page or upload again."

// reconciler keeps the queue in line with the jobs table, the source of
// truth: every Interval it re-enqueues the unfinished jobs whose task is
// missing from Redis (flushed, restarted without persistence, an enqueue
// that failed) and fails, with a reason, the running jobs whose worker has
// not heartbeat for Deadline. Attempt fencing keeps a job that runs twice
// from publishing twice.
type reconciler struct {
	DB       *db.DB
	Queue    *Queue
	Logger   *slog.Logger
	Interval time.Duration
	Deadline time.Duration

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// start runs the loop in the background until Close.
func (r *reconciler) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.wg.Go(func() {
		t := time.NewTicker(r.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := r.once(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Warn("reconcile jobs with the queue", "error", err)
			}
		}
	})
}

// Close stops the loop and waits for a pass in progress.
func (r *reconciler) Close() {
	if r.stop != nil {
		r.stop()
		r.wg.Wait()
	}
}

// once makes one pass: dead jobs are failed first, so that they are not
// enqueued again.
func (r *reconciler) once(ctx context.Context) error {
	stalled, err := r.DB.FindStalledJobs(ctx, time.Now().Add(-r.Deadline))
	if err != nil {
		return err
	}
	for _, j := range stalled {
		err := r.DB.FailTranscode(ctx, j.LessonID, j.Attempt, j.ID, deadWorkerReason, "")
		switch lectern.ErrorCode(err) {
		case "":
			r.Logger.Warn("transcode failed: its worker stopped heartbeating", "lesson", j.LessonID,
				"job", j.ID, "worker", j.WorkerHost, "heartbeat_at", j.HeartbeatAt)
		case lectern.ECONFLICT, lectern.ENOTFOUND:
			// Finished or replaced meanwhile.
		default:
			return fmt.Errorf("fail stalled job %s: %w", j.ID, err)
		}
	}
	return requeueUnfinishedLessons(ctx, r.DB, r.Queue, r.Logger)
}
