package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/lectern/lectern/internal/testenv"
)

// queueBackends are the two ways lectern runs its queue: the in-process
// Redis of "lectern serve" and a real Redis server.
func queueBackends() map[string]func(testing.TB) string {
	return map[string]func(testing.TB) string{
		"Embedded": func(testing.TB) string { return "" },
		"Redis":    testenv.RedisURL,
	}
}

func openTestQueue(t *testing.T, redisURL string) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := OpenQueue(ctx, redisURL)
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// startTestWorker runs a worker with handler h and stops it when the test ends.
func startTestWorker(t *testing.T, q *Queue, taskType string, h asynq.HandlerFunc) {
	t.Helper()
	mux := asynq.NewServeMux()
	mux.Handle(taskType, h)
	w := q.newWorker(WorkerOptions{
		Concurrency:     1,
		ShutdownTimeout: 5 * time.Second,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		RetryDelay:      func(int, error) time.Duration { return 0 },
	}, workerSetup{handler: mux})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
}

// receive waits for the next value on ch; the deadline only guards
// against a hang.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		var zero T
		return zero
	}
}

func TestQueueRunsTasks(t *testing.T) {
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := openTestQueue(t, redisURL(t))
			task := asynq.NewTask("test:echo", []byte("hello"), asynq.Queue(QueueTranscode), asynq.TaskID("lesson-1-attempt-1"))
			if _, err := q.client.Enqueue(task); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			// A TaskID is refused while its task exists: this is what keeps
			// a lesson's attempt from being queued twice.
			if _, err := q.client.Enqueue(task); !errors.Is(err, asynq.ErrTaskIDConflict) {
				t.Fatalf("second Enqueue with the same TaskID: got %v, want ErrTaskIDConflict", err)
			}
			got := make(chan string, 2)
			startTestWorker(t, q, "test:echo", func(ctx context.Context, task *asynq.Task) error {
				got <- string(task.Payload())
				return nil
			})
			if diff := cmp.Diff("hello", receive(t, got, "the task to run")); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueRetriesFailedTasks(t *testing.T) {
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits for asynq's 5 s scan of retries
			q := openTestQueue(t, redisURL(t))
			tries := make(chan int, 2)
			startTestWorker(t, q, "test:flaky", func(ctx context.Context, task *asynq.Task) error {
				n, _ := asynq.GetRetryCount(ctx)
				tries <- n
				if n == 0 {
					return errors.New("first try fails")
				}
				return nil
			})
			if _, err := q.client.Enqueue(asynq.NewTask("test:flaky", nil), asynq.Queue(QueueTranscode), asynq.MaxRetry(3)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			first := receive(t, tries, "the first try")
			second := receive(t, tries, "the retry")
			if diff := cmp.Diff([]int{0, 1}, []int{first, second}); diff != "" {
				t.Errorf("retry counts seen by the handler (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueWorkerRegisters(t *testing.T) {
	q := openTestQueue(t, "")
	startTestWorker(t, q, "test:none", func(context.Context, *asynq.Task) error { return nil })
	// The worker announces itself with its first heartbeat, shortly after
	// starting; the deadline only guards against a hang.
	var servers []*asynq.ServerInfo
	for deadline := time.Now().Add(30 * time.Second); len(servers) == 0; {
		var err error
		if servers, err = q.inspector.Servers(); err != nil {
			t.Fatalf("Servers: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker never registered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := map[string]int{QueueCritical: 6, QueueTranscode: 3, QueueLong: 1}
	if diff := cmp.Diff(want, servers[0].Queues); diff != "" {
		t.Errorf("queues the worker takes tasks from (-want +got):\n%s", diff)
	}
}

func TestQueueShutdownHandsRunningTasksBack(t *testing.T) {
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := openTestQueue(t, redisURL(t))
			started := make(chan int, 2)
			handler := func(ctx context.Context, task *asynq.Task) error {
				n, _ := asynq.GetRetryCount(ctx)
				started <- n
				<-ctx.Done() // a long transcode, stopped only by shutdown
				return ctx.Err()
			}
			mux := asynq.NewServeMux()
			mux.HandleFunc("test:long", handler)
			w := q.newWorker(WorkerOptions{
				Concurrency:     1,
				ShutdownTimeout: 100 * time.Millisecond,
				Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, workerSetup{handler: mux})
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := q.client.Enqueue(asynq.NewTask("test:long", nil), asynq.Queue(QueueTranscode)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			receive(t, started, "the task to start")
			w.Shutdown()

			info, err := q.inspector.GetQueueInfo(QueueTranscode)
			if err != nil {
				t.Fatalf("GetQueueInfo: %v", err)
			}
			if info.Pending != 1 || info.Active != 0 {
				t.Fatalf("after shutdown: %d pending, %d active; want the task back as pending", info.Pending, info.Active)
			}
			// Another worker takes it over, and it does not count as a failure.
			startTestWorker(t, q, "test:long", func(ctx context.Context, task *asynq.Task) error {
				n, _ := asynq.GetRetryCount(ctx)
				started <- n
				return nil
			})
			if n := receive(t, started, "the task to run again"); n != 0 {
				t.Errorf("the handed-back task ran with retry count %d, want 0", n)
			}
		})
	}
}
