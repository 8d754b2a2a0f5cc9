package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern/transcode"
)

// handle adapts a typed handler to asynq: it decodes the task's payload
// with parse (a malformed one is archived at once, never retried), tells
// the handler which try it runs, and turns transcode.ErrSkipRetry into
// asynq's SkipRetry.
func handle[P any](parse func(*asynq.Task) (P, error), run func(context.Context, P, transcode.Delivery) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		p, err := parse(t)
		if err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		err = run(ctx, p, delivery(ctx))
		if errors.Is(err, transcode.ErrSkipRetry) {
			return fmt.Errorf("%w: %w", asynq.SkipRetry, err)
		}
		return err
	}
}

// delivery reads from a handler's context what the queue says of the try.
func delivery(ctx context.Context) transcode.Delivery {
	var d transcode.Delivery
	d.TaskID, _ = asynq.GetTaskID(ctx)
	d.Queue, _ = asynq.GetQueueName(ctx)
	d.Retried, d.InQueue = asynq.GetRetryCount(ctx)
	d.MaxRetry, _ = asynq.GetMaxRetry(ctx)
	return d
}

// enqueueFunc puts a task on the queue: an *asynq.Client's
// EnqueueContext, or a Client's enqueue, which puts transcodes on the
// queue their recordings call for.
type enqueueFunc func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)

// Tasks is how the transcode handlers enqueue the tasks they make (it is
// their transcode.Enqueuer): the pieces of chunked transcodes and
// automatic captions.
type Tasks struct{ Queue *Queue }

// EnqueueChunk implements transcode.Enqueuer.
func (ts Tasks) EnqueueChunk(ctx context.Context, p transcode.ChunkPayload, tries int, queue string) error {
	task, err := newChunkTask(p, tries, queue)
	if err != nil {
		return err
	}
	return ignoreConflict(ts.Queue.client.EnqueueContext(ctx, task))
}

// EnqueueRecognize implements transcode.Enqueuer.
func (ts Tasks) EnqueueRecognize(ctx context.Context, p transcode.RecognizePayload) error {
	task, err := newRecognizeTask(p)
	if err != nil {
		return err
	}
	return ignoreConflict(ts.Queue.client.EnqueueContext(ctx, task))
}

// ignoreConflict drops the error of a task already on the queue: the
// queue refuses the same task ID twice, which is the point.
func ignoreConflict(_ *asynq.TaskInfo, err error) error {
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
