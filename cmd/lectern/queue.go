package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern/transcode"
)

// Queue names. Transcodes get their own queue so that a backlog of them
// never starves small tasks, and the worker weighs them above "default".
const (
	queueTranscode = transcode.QueueTranscode
	queueDefault   = "default"
)

// Queue is the connection to the task queue: one Redis client shared by
// the asynq client, inspector and worker, plus the in-process Redis when
// no real one is configured.
type Queue struct {
	// Redis is the shared client; asynq never closes it, Close does.
	Redis     *redis.Client
	Client    *asynq.Client
	Inspector *asynq.Inspector

	embedded *miniredis.Miniredis
	desc     string
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
		q.embedded = m
		q.desc = "in-process"
		redisURL = "redis://" + m.Addr() + "/0"
	} else {
		q.desc = redactURL(redisURL)
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	q.Redis = redis.NewClient(opt)
	if err := q.Ping(ctx); err != nil {
		q.Close()
		return nil, err
	}
	q.Client = asynq.NewClientFromRedisClient(q.Redis)
	q.Inspector = asynq.NewInspectorFromRedisClient(q.Redis)
	return q, nil
}

// Embedded reports whether the queue lives in this process.
func (q *Queue) Embedded() bool { return q.embedded != nil }

// String describes the queue for logs, without any password.
func (q *Queue) String() string { return q.desc }

// Ping checks that Redis answers.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close closes the Redis client and stops the in-process Redis, if any.
// Whatever the embedded queue held is gone: the database, not the queue, is
// the source of truth for jobs.
func (q *Queue) Close() error {
	var err error
	if q.Redis != nil {
		err = q.Redis.Close()
	}
	if q.embedded != nil {
		q.embedded.Close()
	}
	return err
}

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Concurrency int
	// ShutdownTimeout is how long Shutdown lets running tasks finish before
	// handing them back to the queue for another worker.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// RetryDelay says how long a failed task waits before its next try;
	// nil means asynq's exponential backoff.
	RetryDelay asynq.RetryDelayFunc
	// Handler processes tasks; usually an *asynq.ServeMux.
	Handler asynq.Handler
}

// Worker processes tasks from the "transcode" and "default" queues.
type Worker struct {
	srv     *asynq.Server
	handler asynq.Handler
}

// NewWorker returns a worker on q's Redis; Start starts it.
func (q *Queue) NewWorker(opts WorkerOptions) *Worker {
	logger := opts.Logger.With("component", "worker")
	srv := asynq.NewServerFromRedisClient(q.Redis, asynq.Config{
		Concurrency:     opts.Concurrency,
		Queues:          map[string]int{queueTranscode: 2, queueDefault: 1},
		ShutdownTimeout: opts.ShutdownTimeout,
		RetryDelayFunc:  opts.RetryDelay,
		Logger:          asynqLogger{logger},
		LogLevel:        asynq.InfoLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			id, _ := asynq.GetTaskID(ctx)
			logger.Warn("task failed", "type", t.Type(), "task_id", id, "retried", retried, "error", err)
		}),
	})
	return &Worker{srv: srv, handler: opts.Handler}
}

// Start starts processing tasks in the background.
func (w *Worker) Start() error {
	if w.handler == nil {
		return errors.New("start worker: no handler")
	}
	if err := w.srv.Start(w.handler); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// Shutdown stops taking tasks, waits up to the shutdown timeout for the
// running ones, and hands those still running back to the queue.
func (w *Worker) Shutdown() { w.srv.Shutdown() }
