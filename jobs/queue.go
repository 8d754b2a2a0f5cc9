// Package jobs is the life of a job on the task queue: enqueueing
// transcodes, their chunks and automatic captions on the queue their
// recording calls for, cancelling them, running them on workers,
// reconciling the queue with the jobs table (the source of truth), and
// the queue's metrics and web UI. It is the only package that knows the
// queue is asynq on Redis; the rest of Lectern uses its typed API.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern/transcode"
)

// Queue is the connection to the task queue: one Redis client shared by
// the asynq client, inspector and worker, plus the in-process Redis when
// no real one is configured.
type Queue struct {
	// Redis is the shared client; asynq never closes it, Close does.
	Redis     *redis.Client
	client    *asynq.Client
	inspector *asynq.Inspector

	embedded *miniredis.Miniredis
	closed   bool // Close has run; a second does nothing
}

// OpenQueue connects to the Redis at redisURL, or, when it is empty, starts
// an in-process Redis (miniredis) on a loopback port and connects to that.
// It pings before returning.
func OpenQueue(ctx context.Context, redisURL string) (*Queue, error) {
	q := &Queue{}
	if redisURL == "" {
		m := miniredis.NewMiniRedis()
		// Keys asynq sets with a TTL (server heartbeats, unique locks) must
		// expire as they would in Redis; miniredis only ages them when asked.
		m.ClockTTL(true)
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start in-process queue: %w", err)
		}
		// INFO as Redis answers it, for the queue UI's Redis page.
		answerInfo(m)
		q.embedded = m
		redisURL = "redis://" + m.Addr() + "/0"
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	// A caller's deadline (an upload's enqueue timeout, /readyz) bounds
	// the round trip itself, not only the wait between retries, so a
	// Redis that accepts connections but does not answer holds no request
	// past it.
	opt.ContextTimeoutEnabled = true
	q.Redis = redis.NewClient(opt)
	if err := q.Ping(ctx); err != nil {
		q.Close()
		return nil, err
	}
	q.client = asynq.NewClientFromRedisClient(q.Redis)
	q.inspector = asynq.NewInspectorFromRedisClient(q.Redis)
	return q, nil
}

// Embedded reports whether the queue lives in this process.
func (q *Queue) Embedded() bool { return q.embedded != nil }

// Ping checks that Redis answers.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close closes the Redis client and stops the in-process Redis, if any;
// closing again does nothing.
// Whatever the embedded queue held is gone: the database, not the queue, is
// the source of truth for jobs.
func (q *Queue) Close() error {
	var err error
	if q.Redis != nil && !q.closed {
		err = q.Redis.Close()
	}
	if q.embedded != nil && !q.closed {
		q.embedded.Close()
	}
	q.closed = true
	return err
}

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Concurrency int
	// ShutdownTimeout is how long Shutdown lets running tasks finish before
	// handing them back to the queue for another worker.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// RetryDelay, when set, replaces the worker's delay before the next
	// try of a failed task (tests retry at once).
	RetryDelay transcode.RetryDelayFunc
	// CheckInterval, when set, is how often the worker looks for tasks
	// that have become due (retries, scheduled tasks) and for new tasks
	// when idle; zero is the queue's default (seconds).
	CheckInterval time.Duration
}

// workerSetup is what a kind of worker serves and how it retries.
type workerSetup struct {
	// handler processes tasks; usually an *asynq.ServeMux.
	handler asynq.Handler
	// queues are the queues served, with their priorities, in strict
	// order; nil means the transcode queues (queuePriorities).
	queues map[string]int
	// retryDelay says how long a failed task waits before its next try
	// (WorkerOptions.RetryDelay overrides it); nil means asynq's
	// exponential backoff.
	retryDelay asynq.RetryDelayFunc
	// lane, when set, are queues served besides, on slots of their own
	// (laneSlots), with the same handler.
	lane      map[string]int
	laneSlots int
}

// Worker processes tasks from its queues: by default every transcode
// queue, in strict priority order (transcode_critical, then transcode,
// then transcode_long).
type Worker struct {
	srv *asynq.Server
	// lane serves workerSetup.lane beside srv, or is nil.
	lane    *asynq.Server
	handler asynq.Handler
	// running counts the handlers running: asynq's Shutdown returns as
	// soon as it has handed the tasks still running back to the queue,
	// before their handlers have stopped their ffmpeg and released their
	// lease.
	running sync.WaitGroup
}

// handlerStopWait bounds how long Shutdown waits for the handlers of
// handed-back tasks to stop (kill ffmpeg, release the lease, delete their
// partial output).
const handlerStopWait = 15 * time.Second

// newWorker returns a worker on q's Redis; Start starts it.
func (q *Queue) newWorker(opts WorkerOptions, ws workerSetup) *Worker {
	logger := opts.Logger.With("component", "worker")
	queues := ws.queues
	if queues == nil {
		queues = queuePriorities()
	}
	if opts.RetryDelay != nil {
		ws.retryDelay = func(n int, err error, _ *asynq.Task) time.Duration { return opts.RetryDelay(n, err) }
	}
	w := &Worker{srv: q.newServer(opts, ws, opts.Concurrency, queues, logger), handler: ws.handler}
	if ws.lane != nil {
		w.lane = q.newServer(opts, ws, ws.laneSlots, ws.lane, logger)
	}
	return w
}

// newServer returns an asynq server of queues with concurrency slots.
func (q *Queue) newServer(opts WorkerOptions, ws workerSetup, concurrency int, queues map[string]int, logger *slog.Logger) *asynq.Server {
	return asynq.NewServerFromRedisClient(q.Redis, asynq.Config{
		Concurrency: concurrency,
		Queues:      queues,
		// Strict: a critical task is always taken before a waiting long
		// one. Weights alone pick queues at random in proportion, so a
		// short lesson could still wait hours behind a long upload.
		StrictPriority:  true,
		ShutdownTimeout: opts.ShutdownTimeout,
		RetryDelayFunc:  ws.retryDelay,
		// Zero leaves asynq's defaults.
		DelayedTaskCheckInterval: opts.CheckInterval,
		TaskCheckInterval:        opts.CheckInterval,
		Logger:                   asynqLogger{logger},
		LogLevel:                 asynq.InfoLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			id, _ := asynq.GetTaskID(ctx)
			logger.Warn("task failed", "type", t.Type(), "task_id", id, "retried", retried, "error", err)
		}),
	})
}

// TranscodeHandler runs transcodes and the pieces of chunked ones;
// *transcode.Handler is one.
type TranscodeHandler interface {
	ProcessTranscode(ctx context.Context, p transcode.TranscodePayload, d transcode.Delivery) error
	ProcessChunk(ctx context.Context, p transcode.ChunkPayload, d transcode.Delivery) error
}

// NewTranscodeWorker returns a worker of the transcode queues, in strict
// priority order, that runs transcodes and their chunks with h, retrying
// failed ones after transcodeRetryDelay, and the audio pieces of chunked
// transcodes (QueueAudio) on audioSlots of their own beside them. Start
// starts it.
func (q *Queue) NewTranscodeWorker(opts WorkerOptions, h TranscodeHandler) *Worker {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeTranscode, handle(parseTranscodePayload, h.ProcessTranscode))
	mux.HandleFunc(TypeChunk, handle(parseChunkPayload, h.ProcessChunk))
	return q.newWorker(opts, workerSetup{handler: mux, retryDelay: transcodeRetryDelay,
		lane: audioLane(), laneSlots: audioSlots})
}

// NewCaptionsWorker returns a worker of the captions queue
// (QueueCaptions) that runs automatic captions with h,
// retrying failed ones after recognizeRetryDelay. Start starts
// it.
func (q *Queue) NewCaptionsWorker(opts WorkerOptions, h *transcode.RecognizeHandler) *Worker {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeRecognize, handle(parseRecognizePayload, h.ProcessRecognize))
	return q.newWorker(opts, workerSetup{handler: mux, retryDelay: recognizeRetryDelay, queues: map[string]int{QueueCaptions: 1}})
}

// process runs the worker's handler, counted in running.
func (w *Worker) process(ctx context.Context, t *asynq.Task) error {
	w.running.Add(1)
	defer w.running.Done()
	return w.handler.ProcessTask(ctx, t)
}

// Start starts processing tasks in the background.
func (w *Worker) Start() error {
	if w.handler == nil {
		return errors.New("start worker: no handler")
	}
	if err := w.srv.Start(asynq.HandlerFunc(w.process)); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if w.lane != nil {
		if err := w.lane.Start(asynq.HandlerFunc(w.process)); err != nil {
			w.srv.Shutdown()
			return fmt.Errorf("start worker: %w", err)
		}
	}
	return nil
}

// Shutdown stops taking tasks, waits up to the shutdown timeout for the
// running ones, and hands those still running back to the queue, where
// another worker takes them at once; it then waits (at most
// handlerStopWait) for their handlers to stop, so that each releases its
// job's lease before the process exits.
func (w *Worker) Shutdown() {
	var both sync.WaitGroup
	for _, srv := range []*asynq.Server{w.srv, w.lane} {
		if srv != nil {
			both.Go(srv.Shutdown)
		}
	}
	both.Wait()
	done := make(chan struct{})
	go func() { w.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(handlerStopWait):
	}
}
