package transcode_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// newQueue starts an in-process Redis and returns asynq options for it.
func newQueue(t *testing.T) asynq.RedisClientOpt {
	t.Helper()
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return asynq.RedisClientOpt{Addr: m.Addr()}
}

func TestNewTranscodeTask(t *testing.T) {
	t.Parallel()
	q := newQueue(t)
	client := asynq.NewClient(q)
	t.Cleanup(func() { client.Close() })
	p := transcode.TranscodePayload{LessonID: "lesson1", JobID: "job1", Attempt: 3}
	task, err := transcode.NewTranscodeTask(p)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Options", func(t *testing.T) {
		info, err := client.Enqueue(task)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{info.Type, info.Queue, info.ID, info.MaxRetry, info.Retention > 0, info.Timeout > transcode.Timeout(6*3600_000)}
		want := []any{transcode.TypeTranscode, transcode.QueueTranscode, db.TranscodeTaskID("lesson1", 3), transcode.MaxRetry, true, true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("[type queue id max-retry retained timeout-fits-6h] (-want +got):\n%s", diff)
		}
		back, err := transcode.ParseTranscodePayload(asynq.NewTask(info.Type, info.Payload))
		if err != nil || back != p {
			t.Errorf("payload round trip = %+v, %v; want %+v", back, err, p)
		}
	})
	t.Run("SameAttemptRefused", func(t *testing.T) {
		again, _ := transcode.NewTranscodeTask(p)
		if _, err := client.Enqueue(again); !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Errorf("enqueueing the same attempt again: %v, want ErrTaskIDConflict", err)
		}
		next, _ := transcode.NewTranscodeTask(transcode.TranscodePayload{LessonID: "lesson1", JobID: "job2", Attempt: 4})
		if _, err := client.Enqueue(next); err != nil {
			t.Errorf("enqueueing the next attempt: %v", err)
		}
	})
	t.Run("InvalidPayload", func(t *testing.T) {
		for _, bad := range []transcode.TranscodePayload{{JobID: "j", Attempt: 1}, {LessonID: "l", Attempt: 1}, {LessonID: "l", JobID: "j"}} {
			if _, err := transcode.NewTranscodeTask(bad); lectern.ErrorCode(err) != lectern.EINVALID {
				t.Errorf("NewTranscodeTask(%+v) = %v, want EINVALID", bad, err)
			}
		}
	})
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{5, 8 * time.Minute},
		{7, 30 * time.Minute},
		{50, 30 * time.Minute},
	}
	for _, tt := range tests {
		if got := transcode.RetryDelay(tt.n, errors.New("x"), nil); got != tt.want {
			t.Errorf("RetryDelay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A dead worker is no failure of the task: retried almost at once.
	if got := transcode.RetryDelay(4, asynq.ErrLeaseExpired, nil); got > 5*time.Second {
		t.Errorf("RetryDelay after an expired lease = %v, want a few seconds", got)
	}
}

func TestHandlerMalformedPayloadIsNotRetried(t *testing.T) {
	t.Parallel()
	h := &transcode.Handler{}
	for _, payload := range []string{"{", `{"lesson_id":"l"}`} {
		err := h.ProcessTask(context.Background(), asynq.NewTask(transcode.TypeTranscode, []byte(payload)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %q: ProcessTask = %v, want an error wrapping asynq.SkipRetry", payload, err)
		}
	}
}

// A failure that may pass (here, an ffmpeg that crashes) is retried by
// the queue, the job retrying meanwhile with the reason, and fails the
// lesson as exhausted, with a readable reason, after the queue's last
// retry.
func TestHandlerTransientFailureRetriedThenFailed(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	e := newHandlerEnv(t, "sqlite:"+t.TempDir()+"/lectern.db")
	e.Handler.Pipeline.FFmpeg = crashingFFmpeg(t)
	q := newQueue(t)
	l := e.newLesson(t)
	job := e.upload(t, l, c.good)

	noDelay := func(int, error, *asynq.Task) time.Duration { return 0 }
	e.Handler.RetryDelay = noDelay
	srv := asynq.NewServer(q, asynq.Config{
		Concurrency:              1,
		Queues:                   map[string]int{transcode.QueueTranscode: 1},
		RetryDelayFunc:           noDelay,
		DelayedTaskCheckInterval: 100 * time.Millisecond,
		TaskCheckInterval:        100 * time.Millisecond,
		Logger:                   quietLogger{},
	})
	if err := srv.Start(e.Handler); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClient(q)
	t.Cleanup(func() { client.Close() })
	task, err := transcode.NewTranscodeTask(transcode.TranscodePayload{LessonID: l.ID, JobID: job.ID, Attempt: job.Attempt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(task, asynq.MaxRetry(1)); err != nil {
		t.Fatal(err)
	}

	var j *lectern.Job
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if j = e.job(t, job.ID); j.State == lectern.JobFailed || time.Now().After(deadline) {
			break
		}
	}
	if j.State != lectern.JobFailed || j.Failure != lectern.FailureExhausted || j.Retries != 1 ||
		!strings.HasPrefix(j.Error, "Processing failed after 2 tries: encode") {
		t.Errorf("job: state %q, failure %q, retries %d, error %q; want failed (exhausted) after 1 retry, saying so",
			j.State, j.Failure, j.Retries, j.Error)
	}
	if got := e.lesson(t, l.ID); got.Status != lectern.LessonFailed || got.Error != j.Error {
		t.Errorf("lesson: status %q, error %q; want failed with the job's reason", got.Status, got.Error)
	}
	e.checkWorkDirEmpty(t)
}

// quietLogger discards asynq's log.
type quietLogger struct{}

func (quietLogger) Debug(...any) {}
func (quietLogger) Info(...any)  {}
func (quietLogger) Warn(...any)  {}
func (quietLogger) Error(...any) {}
func (quietLogger) Fatal(...any) {}

func TestQueueFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		attempt int
		bytes   int64
		want    string
	}{
		{"FirstUploadSmall", 1, 50 * mib, transcode.QueueCritical},
		{"FirstUploadEmpty", 1, 0, transcode.QueueCritical},
		{"FirstUploadJustUnderSmall", 1, transcode.SmallSourceBytes - 1, transcode.QueueCritical},
		{"FirstUploadOrdinary", 1, transcode.SmallSourceBytes, transcode.QueueTranscode},
		{"FirstUploadJustUnderLong", 1, transcode.LongSourceBytes - 1, transcode.QueueTranscode},
		{"FirstUploadLong", 1, transcode.LongSourceBytes, transcode.QueueLong},
		{"FirstUploadUnsized", 1, -1, transcode.QueueTranscode},
		{"RetryOrdinary", 2, 600 * mib, transcode.QueueCritical},
		{"RetryUnsized", 4, -1, transcode.QueueCritical},
		{"RetryLong", 3, 3 << 30, transcode.QueueLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transcode.QueueFor(tt.attempt, tt.bytes); got != tt.want {
				t.Errorf("QueueFor(%d, %d) = %q, want %q", tt.attempt, tt.bytes, got, tt.want)
			}
		})
	}
	for _, q := range transcode.Queues() {
		if transcode.QueuePriorities()[q] == 0 {
			t.Errorf("queue %q has no priority: no worker would take its tasks", q)
		}
	}
}
