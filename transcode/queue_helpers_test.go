package transcode_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lectern/lectern/jobs"
)

// startQueue runs an in-process queue with one worker slot in front of h,
// whose failed tasks are retried at once (e's handler is told so), and
// returns the client that enqueues e's transcodes on it, each retried
// maxRetry times (0: jobs.MaxRetry). Both stop when the test ends.
func startQueue(t *testing.T, e *handlerEnv, h jobs.TranscodeHandler, maxRetry int) (*jobs.Queue, *jobs.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := jobs.OpenQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	noDelay := func(int, error) time.Duration { return 0 }
	e.Handler.RetryDelay = noDelay
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := q.NewTranscodeWorker(jobs.WorkerOptions{Concurrency: 1, ShutdownTimeout: 5 * time.Second, Logger: logger,
		RetryDelay: noDelay, CheckInterval: 100 * time.Millisecond}, h)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	return q, &jobs.Client{Queue: q, DB: e.DB, Logger: logger, MaxRetry: maxRetry}
}
