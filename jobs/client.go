package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// Client is how the API and the reconciler enqueue and cancel transcodes:
// it puts each transcode task on the queue its recording calls for
// (queueOf), from the task's attempt and the size of the
// lesson's recording. The server's Jobs is a Client, so uploads,
// resumable uploads and admin retries all go through it.
type Client struct {
	Queue *Queue
	DB    *db.DB
	// Storage sizes recordings; nil leaves them unsized.
	Storage lectern.Storage
	Logger  *slog.Logger
	// HeartbeatEvery is how often running transcodes renew their lease
	// (LECTERN_HEARTBEAT_INTERVAL); 0 is transcode.DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// MaxRetry, when positive, is how many times EnqueueTranscode's
	// tasks are retried after a failure, instead of MaxRetry.
	MaxRetry int
	// JobDeadline is how long a chunk's lease may go unrenewed before
	// another worker may take the chunk (LECTERN_JOB_DEADLINE); 0 is
	// liveFor.
	JobDeadline time.Duration
}

// chunkDeadline is how long a chunk's lease may go unrenewed before the
// chunk is given to another worker.
func (tq *Client) chunkDeadline() time.Duration {
	if tq.JobDeadline > 0 {
		return tq.JobDeadline
	}
	return tq.liveFor()
}

// liveFor is how recently a running job must have renewed its lease for
// its delivery to count as alive: three beats.
func (tq *Client) liveFor() time.Duration {
	if tq.HeartbeatEvery > 0 {
		return 3 * tq.HeartbeatEvery
	}
	return 3 * transcode.DefaultHeartbeatEvery
}

// enqueue enqueues task; a transcode task goes to the queue its
// recording calls for, and that queue is recorded on its job (its place
// in line depends on it), other tasks where their options say.
func (tq *Client) enqueue(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	p, err := parseTranscodePayload(task)
	if task.Type() != TypeTranscode || err != nil {
		return tq.Queue.client.EnqueueContext(ctx, task, opts...)
	}
	info, err := tq.Queue.client.EnqueueContext(ctx, task, append(opts, asynq.Queue(tq.queueFor(ctx, p)))...)
	if err != nil {
		return nil, err
	}
	if err := tq.DB.SetJobQueue(ctx, p.JobID, info.Queue, queuePriorities()[info.Queue]); err != nil {
		// The transcode runs all the same; only its place in line is unknown.
		tq.Logger.WarnContext(ctx, "record the queue of a transcode", "job", p.JobID, "queue", info.Queue, "error", err)
	}
	return info, nil
}

// queueFor sizes the lesson's recording and picks the queue of attempt
// p.Attempt. A recording that cannot be sized leaves the choice to the
// attempt alone.
func (tq *Client) queueFor(ctx context.Context, p transcode.TranscodePayload) string {
	size := int64(-1)
	if tq.Storage != nil {
		l, err := tq.DB.FindLessonByID(ctx, p.LessonID)
		if err == nil && l.SourceKey != "" {
			var info lectern.ObjectInfo
			if info, err = tq.Storage.Stat(ctx, l.SourceKey); err == nil {
				size = info.Size
			}
		}
		if err != nil {
			tq.Logger.WarnContext(ctx, "size the recording to pick its transcode queue", "lesson", p.LessonID, "error", err)
		}
	}
	return queueOf(p.Attempt, size)
}

// asynqLogger routes asynq's logging into slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal logs at error level. asynq calls it nowhere; exiting from a
// library callback would skip the graceful shutdown, so it does not exit.
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "fatal", true) }

// EnqueueTranscode puts the transcode of job's attempt on the queue its
// recording calls for. A task already queued for the attempt is not an
// error: the queue refuses the same attempt twice.
func (tq *Client) EnqueueTranscode(ctx context.Context, job *lectern.Job) error {
	task, err := newTranscodeTask(transcode.TranscodePayload{LessonID: job.LessonID, JobID: job.ID, Attempt: job.Attempt})
	if err != nil {
		return err
	}
	var opts []asynq.Option
	if tq.MaxRetry > 0 {
		opts = append(opts, asynq.MaxRetry(tq.MaxRetry))
	}
	return ignoreConflict(tq.enqueue(ctx, task, opts...))
}

// CancelTranscode takes job's task off the queue, whichever transcode
// queue holds it: a waiting, scheduled or retrying task is deleted; a
// running one has its handler's context canceled, which kills its
// ffmpeg. A task the queue no longer holds is not an error.
func (tq *Client) CancelTranscode(_ context.Context, job *lectern.Job) error {
	ins, taskID := tq.Queue.inspector, job.TaskID
	for _, q := range Queues() {
		info, err := ins.GetTaskInfo(q, taskID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			continue
		case err != nil:
			return fmt.Errorf("cancel task %s: %w", taskID, err)
		case info.State == asynq.TaskStateActive:
			if err := ins.CancelProcessing(taskID); err != nil {
				return fmt.Errorf("cancel running task %s: %w", taskID, err)
			}
			return nil
		case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
			return nil
		}
		err = ins.DeleteTask(q, taskID)
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("delete task %s: %w", taskID, err)
		}
		return nil
	}
	return nil
}

// RequeueUnfinished enqueues every unfinished transcode and chunk the
// queue lost (see requeueUnfinishedLessons): at start-up, and on every
// reconciler pass.
func (tq *Client) RequeueUnfinished(ctx context.Context) error {
	return requeueUnfinishedLessons(ctx, tq, tq.Logger)
}

// RequeueCaptions enqueues every unfinished automatic captions job the
// queue lost (see requeueUnfinishedCaptions).
func (tq *Client) RequeueCaptions(ctx context.Context) error {
	return requeueUnfinishedCaptions(ctx, tq.Queue, tq.DB, tq.Logger)
}
