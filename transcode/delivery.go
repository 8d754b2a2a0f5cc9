package transcode

import (
	"context"
	"errors"
	"time"
)

// Delivery is what the queue tells a handler about the try it runs (the
// jobs package fills it in from its task queue).
type Delivery struct {
	// TaskID is the task's ID; a transcode whose job now has another
	// (the reconciler replaced it) is refused. "" outside a queue (tests,
	// tools), where none is checked.
	TaskID string
	// Queue is the queue the task came from: the pieces a chunked
	// transcode plans go on it too. "" is the ordinary transcode queue.
	Queue string
	// Retried counts the queue's earlier tries of the task; MaxRetry is
	// how many retries it makes at most.
	Retried, MaxRetry int
	// InQueue is false outside a queue: the job's own count of tries
	// then decides which try is the last.
	InQueue bool
}

// ErrSkipRetry is wrapped by a handler's error when the task must not run
// again: its job failed for good, or its payload is malformed. The queue
// then archives the task instead of retrying it.
var ErrSkipRetry = errors.New("not retried")

// Enqueuer puts the tasks that handlers make on the queue: the pieces of
// a chunked transcode and automatic captions. A task already queued is
// not an error. The jobs package implements it.
type Enqueuer interface {
	// EnqueueChunk puts the task of piece p.Index of a chunked transcode,
	// at its try tries, on queue ("" is the ordinary transcode queue).
	EnqueueChunk(ctx context.Context, p ChunkPayload, tries int, queue string) error
	// EnqueueRecognize puts the automatic captions of a published attempt
	// on the captions queue.
	EnqueueRecognize(ctx context.Context, p RecognizePayload) error
}

// RetryDelayFunc says how long a task waits before retry n (counting
// from 1) after err.
type RetryDelayFunc func(n int, err error) time.Duration

// deliveryKey carries a Delivery in a handler's context, for the steps
// deep in a transcode that need it (planChunked's queue).
type deliveryKey struct{}

func withDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

func deliveryOf(ctx context.Context) Delivery {
	d, _ := ctx.Value(deliveryKey{}).(Delivery)
	return d
}
