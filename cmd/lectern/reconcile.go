package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
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
	Transcodes *transcodeQueue
	// Captions, when set, makes the reconciler also re-enqueue lost
	// automatic captions tasks (a worker with a speech recognizer).
	Captions bool
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
	d := r.Transcodes.DB
	stalled, err := d.FindStalledJobs(ctx, time.Now().Add(-r.Deadline))
	if err != nil {
		return err
	}
	for _, j := range stalled {
		err := d.FailTranscode(ctx, j.LessonID, j.Attempt, j.ID, lectern.FailureExhausted, deadWorkerReason, "")
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
	if err := requeueUnfinishedLessons(ctx, r.Transcodes, r.Logger); err != nil {
		return err
	}
	if r.Captions {
		return requeueUnfinishedCaptions(ctx, r.Transcodes.Queue, d, r.Logger)
	}
	return nil
}

// liveHeartbeat is how recently a running job must have heartbeat for its
// delivery to count as alive: three beats.
const liveHeartbeat = 3 * transcode.DefaultHeartbeatEvery

// requeueUnfinishedLessons makes the database the source of truth for
// jobs, at start-up and on every reconciler pass: it enqueues the
// transcode of every lesson whose current attempt's job is queued,
// running or retrying (a running one only once its heartbeat is older
// than liveHeartbeat: the delivery that beats finishes it), so that a restart (which empties the in-process
// queue), a lost Redis or an upload whose enqueue failed loses nothing. A
// task still on any transcode queue (pending, scheduled, waiting in the
// retry set, or running on another worker) is left alone; a retrying job
// whose task is gone gets a new one, due when its next try was. One the queue has finished with although the job is
// unfinished (archived or completed while the database could not be
// told) is replaced, so the transcode runs again. It logs only when it
// enqueued something.
func requeueUnfinishedLessons(ctx context.Context, tq *transcodeQueue, logger *slog.Logger) error {
	jobs, err := tq.DB.FindUnfinishedJobs(ctx)
	if err != nil {
		return fmt.Errorf("requeue unfinished transcodes: %w", err)
	}
	for _, j := range jobs {
		if j.State == lectern.JobRunning && j.HeartbeatAt != nil && time.Since(*j.HeartbeatAt) < liveHeartbeat {
			// Its delivery is alive: it finishes the job whether or not
			// its task is still in Redis (a flush loses a running task
			// too). A second delivery would only run it twice.
			continue
		}
		p := transcode.TranscodePayload{LessonID: j.LessonID, JobID: j.ID, Attempt: j.Attempt}
		var opts []asynq.Option
		if j.State == lectern.JobRetrying && j.RetryAt != nil && j.RetryAt.After(time.Now()) {
			// Its next try was due later: keep it at that time.
			opts = append(opts, asynq.ProcessAt(*j.RetryAt))
		}
		info, err := tq.requeue(ctx, p, j.TaskID, opts...)
		if err != nil {
			return fmt.Errorf("requeue transcode of lesson %s: %w", j.LessonID, err)
		}
		if info != nil {
			logger.Info("re-enqueued a transcode missing from the queue", "lesson", j.LessonID,
				"job", j.ID, "attempt", j.Attempt, "state", j.State, "queue", info.Queue, "process_at", info.NextProcessAt)
		}
	}
	return nil
}

// requeue enqueues the task of p, with opts, unless a transcode queue
// still holds taskID unfinished (in any state but archived or completed).
// It returns the new task, or nil when it enqueued nothing. A task on one
// queue is found even when the recording would now be sized for another.
func (tq *transcodeQueue) requeue(ctx context.Context, p transcode.TranscodePayload, taskID string, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	task, err := transcode.NewTranscodeTask(p)
	if err != nil {
		return nil, err
	}
	return requeueTask(ctx, tq.Queue.Inspector, tq, transcode.Queues(), taskID, task, opts...)
}

// requeueTask enqueues task through enq, with opts, unless one of queues
// still holds taskID unfinished; a finished task of that ID (archived or
// completed while the database could not be told) is deleted first, so
// the work runs again. It returns the new task, or nil when it enqueued
// nothing.
func requeueTask(ctx context.Context, ins *asynq.Inspector, enq transcode.Enqueuer, queues []string, taskID string,
	task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	for _, name := range queues {
		info, err := ins.GetTaskInfo(name, taskID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("inspect task %s: %w", taskID, err)
		case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
			return nil, nil
		}
		if err := ins.DeleteTask(name, taskID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return nil, fmt.Errorf("delete finished task %s: %w", taskID, err)
		}
	}
	info, err := enq.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil, nil // enqueued meanwhile by another worker
	}
	return info, err
}

// requeueUnfinishedCaptions does for automatic captions what
// requeueUnfinishedLessons does for transcodes: every lesson whose
// captions job is queued or running gets its task back on QueueCaptions
// when the queue lost it (a restart of the embedded queue, a flushed
// Redis, a worker that died between publishing and enqueuing).
func requeueUnfinishedCaptions(ctx context.Context, q *Queue, d *db.DB, logger *slog.Logger) error {
	jobs, err := d.FindUnfinishedASRJobs(ctx)
	if err != nil {
		return fmt.Errorf("requeue unfinished automatic captions: %w", err)
	}
	for _, j := range jobs {
		task, err := transcode.NewRecognizeTask(transcode.RecognizePayload{LessonID: j.LessonID, Attempt: j.Attempt})
		if err != nil {
			return err
		}
		info, err := requeueTask(ctx, q.Inspector, q.Client, []string{transcode.QueueCaptions}, j.TaskID, task)
		if err != nil {
			return fmt.Errorf("requeue automatic captions of lesson %s: %w", j.LessonID, err)
		}
		if info != nil {
			logger.Info("re-enqueued automatic captions missing from the queue", "lesson", j.LessonID,
				"attempt", j.Attempt, "state", j.State)
		}
	}
	return nil
}
