package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// deadWorkerReason is what a lesson and its job show when the workers
// running the transcode kept dying (or hanging) until it had no tries left.
const deadWorkerReason = "Processing stopped: the workers running it stopped responding on every try. Retry it from the admin jobs page or upload again."

// sweepBatch is how many dead output prefixes one pass deletes at most.
const sweepBatch = 100

// Reconciler keeps the queue in line with the jobs table, the source of
// truth. Every Interval it takes back the lease of each running job whose
// delivery has not renewed it for Deadline (its worker killed, hung or
// cut off) and enqueues the job again under a new task ID, so that
// another worker finishes it (a job out of tries fails instead); it
// re-enqueues the unfinished jobs whose task is missing from Redis
// (flushed, restarted without persistence, an enqueue that failed); and
// it deletes the output prefixes of dead deliveries that no lesson
// publishes. Lease fencing keeps a job that runs twice from publishing
// twice, or from publishing at all from a delivery that lost its lease.
type Reconciler struct {
	Transcodes *Client
	// Captions, when set, makes the reconciler also re-enqueue lost
	// automatic captions tasks (a worker with a speech recognizer).
	Captions bool
	Logger   *slog.Logger
	Interval time.Duration
	Deadline time.Duration

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Start runs the loop in the background until Close.
func (r *Reconciler) Start() {
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
func (r *Reconciler) Close() {
	if r.stop != nil {
		r.stop()
		r.wg.Wait()
	}
}

// once makes one pass: expired leases are taken back first, so that their
// jobs are enqueued again in the same pass.
func (r *Reconciler) once(ctx context.Context) error {
	if err := r.reclaimExpired(ctx); err != nil {
		return err
	}
	if err := requeueUnfinishedLessons(ctx, r.Transcodes, r.Logger); err != nil {
		return err
	}
	if r.Captions {
		if err := requeueUnfinishedCaptions(ctx, r.Transcodes.Queue, r.Transcodes.DB, r.Logger); err != nil {
			return err
		}
	}
	return r.sweepOutputs(ctx)
}

// reclaimExpired takes back the leases not renewed within Deadline: the
// job gets a new task ID (a late delivery of the old task is refused) and
// is enqueued under it by requeueUnfinishedLessons; a job whose tries are
// spent fails.
func (r *Reconciler) reclaimExpired(ctx context.Context) error {
	d := r.Transcodes.DB
	before := time.Now().Add(-r.Deadline)
	stalled, err := d.FindStalledJobs(ctx, before)
	if err != nil {
		return err
	}
	for _, j := range stalled {
		log := r.Logger.With("lesson", j.LessonID, "job", j.ID, "worker", j.WorkerHost, "heartbeat_at", j.HeartbeatAt)
		if j.Retries+1 >= j.MaxTries {
			err := d.FailTranscode(ctx, j.LessonID, j.Attempt, j.ID, j.LeaseToken, lectern.FailureExhausted, deadWorkerReason, "")
			switch lectern.ErrorCode(err) {
			case "":
				log.Warn("transcode failed: its worker stopped renewing the lease, and no tries are left")
			case lectern.ECONFLICT, lectern.ENOTFOUND:
				// Renewed, finished or replaced meanwhile.
			default:
				return fmt.Errorf("fail stalled job %s: %w", j.ID, err)
			}
			continue
		}
		taskID := db.TranscodeTaskID(j.LessonID, j.Attempt) + ":" + strconv.Itoa(j.Retries+1)
		ok, err := d.ReclaimLease(ctx, j, before, taskID)
		if err != nil {
			return fmt.Errorf("reclaim lease of job %s: %w", j.ID, err)
		}
		if ok {
			log.Warn("transcode lease expired: its worker stopped renewing it; enqueued again for another worker", "task_id", taskID)
		}
	}
	return nil
}

// sweepOutputs deletes the output prefixes of dead deliveries (their lease
// gone) that no lesson publishes: a killed worker's partial upload, the
// output a newer publication replaced when its delete failed.
func (r *Reconciler) sweepOutputs(ctx context.Context) error {
	tq := r.Transcodes
	if tq.Storage == nil {
		return nil
	}
	dead, err := tq.DB.DeadOutputs(ctx, sweepBatch)
	if err != nil {
		return err
	}
	for _, prefix := range dead {
		if err := tq.Storage.DeletePrefix(ctx, prefix); err != nil {
			return fmt.Errorf("delete dead output %s: %w", prefix, err)
		}
		if err := tq.DB.ForgetOutput(ctx, prefix); err != nil {
			return err
		}
		r.Logger.Info("deleted the unpublished output of a dead transcode delivery", "prefix", prefix)
	}
	return nil
}

// requeueUnfinishedLessons makes the database the source of truth for
// jobs, at start-up and on every reconciler pass: it enqueues the
// transcode of every lesson whose current attempt's job is queued,
// running or retrying (a running one only once its heartbeat is older
// than three heartbeat intervals: the delivery that beats finishes it), so that a restart (which empties the in-process
// queue), a lost Redis or an upload whose enqueue failed loses nothing. A
// task still on any transcode queue (pending, scheduled, waiting in the
// retry set, or running on another worker) is left alone; a retrying job
// whose task is gone gets a new one, due when its next try was. One the queue has finished with although the job is
// unfinished (archived or completed while the database could not be
// told) is replaced, so the transcode runs again. It logs only when it
// enqueued something.
func requeueUnfinishedLessons(ctx context.Context, tq *Client, logger *slog.Logger) error {
	jobs, err := tq.DB.FindUnfinishedJobs(ctx)
	if err != nil {
		return fmt.Errorf("requeue unfinished transcodes: %w", err)
	}
	for _, j := range jobs {
		if j.State == lectern.JobRunning && j.HeartbeatAt != nil && time.Since(*j.HeartbeatAt) < tq.liveFor() {
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
	return requeueChunks(ctx, tq, logger)
}

// requeueChunks does for the pieces of chunked transcodes what
// requeueUnfinishedLessons does for jobs: every piece waiting for a worker,
// or whose worker stopped renewing its lease, gets a task unless the
// queue holds one (a piece due later, after a failed try, at that time);
// a plan whose pieces are all done but that nobody publishes (its
// finishing worker died) gets its publishing task; a piece whose worker
// died on its last try fails the lesson.
func requeueChunks(ctx context.Context, tq *Client, logger *slog.Logger) error {
	work, err := tq.DB.FindChunkWork(ctx, time.Now().Add(-tq.chunkDeadline()))
	if err != nil {
		return fmt.Errorf("requeue transcode chunks: %w", err)
	}
	for _, w := range work {
		log := logger.With("lesson", w.LessonID, "job", w.JobID, "chunk", w.Index)
		if w.Stale && w.Index >= 0 && w.Tries >= w.MaxTries {
			err := tq.DB.FailChunk(ctx, w.JobID, w.Index, "", lectern.FailureExhausted, deadWorkerReason, "")
			switch lectern.ErrorCode(err) {
			case "":
				log.Warn("transcode failed: the workers of one of its chunks kept dying, and no tries are left")
			case lectern.ECONFLICT, lectern.ENOTFOUND:
			default:
				return err
			}
			continue
		}
		p := transcode.ChunkPayload{LessonID: w.LessonID, JobID: w.JobID, Attempt: w.Attempt, Index: w.Index,
			Audio: w.Kind == db.ChunkAudio}
		task, err := newChunkTask(p, w.Tries, w.Queue)
		if err != nil {
			return err
		}
		var opts []asynq.Option
		if w.RetryAt != nil && w.RetryAt.After(time.Now()) {
			opts = append(opts, asynq.ProcessAt(*w.RetryAt))
		}
		info, err := requeueTask(ctx, tq.Queue.inspector, tq.Queue.client.EnqueueContext, Queues(),
			chunkTaskID(w.JobID, w.Index, w.Tries), task, opts...)
		if err != nil {
			return fmt.Errorf("requeue chunk %d of lesson %s: %w", w.Index, w.LessonID, err)
		}
		if info != nil {
			log.Info("enqueued a transcode chunk missing from the queue", "state", w.State, "stale", w.Stale)
		}
	}
	return nil
}

// requeue enqueues the task of p, with opts, unless a transcode queue
// still holds taskID unfinished (in any state but archived or completed).
// It returns the new task, or nil when it enqueued nothing. A task on one
// queue is found even when the recording would now be sized for another.
func (tq *Client) requeue(ctx context.Context, p transcode.TranscodePayload, taskID string, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	task, err := newTranscodeTask(p)
	if err != nil {
		return nil, err
	}
	// The job's own task ID: a reclaimed job's differs from the attempt's.
	return requeueTask(ctx, tq.Queue.inspector, tq.enqueue, Queues(), taskID, task, append(opts, asynq.TaskID(taskID))...)
}

// requeueTask enqueues task through enq, with opts, unless one of queues
// still holds taskID unfinished; a finished task of that ID (archived or
// completed while the database could not be told) is deleted first, so
// the work runs again. It returns the new task, or nil when it enqueued
// nothing.
func requeueTask(ctx context.Context, ins *asynq.Inspector, enq enqueueFunc, queues []string, taskID string,
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
	info, err := enq(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil, nil // enqueued meanwhile by the API or another worker
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
		task, err := newRecognizeTask(transcode.RecognizePayload{LessonID: j.LessonID, Attempt: j.Attempt})
		if err != nil {
			return err
		}
		info, err := requeueTask(ctx, q.inspector, q.client.EnqueueContext, []string{QueueCaptions}, j.TaskID, task)
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
