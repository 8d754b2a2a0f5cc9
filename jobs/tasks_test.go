package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

func TestNewTranscodeTask(t *testing.T) {
	t.Parallel()
	client := openTestQueue(t, "").client
	p := transcode.TranscodePayload{LessonID: "lesson1", JobID: "job1", Attempt: 3}
	task, err := newTranscodeTask(p)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Options", func(t *testing.T) {
		info, err := client.Enqueue(task)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{info.Type, info.Queue, info.ID, info.MaxRetry, info.Retention > 0, info.Timeout > transcode.Timeout(6*3600_000)}
		want := []any{TypeTranscode, QueueTranscode, db.TranscodeTaskID("lesson1", 3), MaxRetry, true, true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("[type queue id max-retry retained timeout-fits-6h] (-want +got):\n%s", diff)
		}
		back, err := parseTranscodePayload(asynq.NewTask(info.Type, info.Payload))
		if err != nil || back != p {
			t.Errorf("payload round trip = %+v, %v; want %+v", back, err, p)
		}
	})
	t.Run("SameAttemptRefused", func(t *testing.T) {
		again, _ := newTranscodeTask(p)
		if _, err := client.Enqueue(again); !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Errorf("enqueueing the same attempt again: %v, want ErrTaskIDConflict", err)
		}
		next, _ := newTranscodeTask(transcode.TranscodePayload{LessonID: "lesson1", JobID: "job2", Attempt: 4})
		if _, err := client.Enqueue(next); err != nil {
			t.Errorf("enqueueing the next attempt: %v", err)
		}
	})
	t.Run("InvalidPayload", func(t *testing.T) {
		for _, bad := range []transcode.TranscodePayload{{JobID: "j", Attempt: 1}, {LessonID: "l", Attempt: 1}, {LessonID: "l", JobID: "j"}} {
			if _, err := newTranscodeTask(bad); lectern.ErrorCode(err) != lectern.EINVALID {
				t.Errorf("newTranscodeTask(%+v) = %v, want EINVALID", bad, err)
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
		if got := transcodeRetryDelay(tt.n, errors.New("x"), nil); got != tt.want {
			t.Errorf("transcodeRetryDelay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A dead worker is no failure of the task: retried almost at once.
	if got := transcodeRetryDelay(4, asynq.ErrLeaseExpired, nil); got > 5*time.Second {
		t.Errorf("transcodeRetryDelay after an expired lease = %v, want a few seconds", got)
	}
}

func TestHandlerMalformedPayloadIsNotRetried(t *testing.T) {
	t.Parallel()
	h := &transcode.Handler{}
	for _, payload := range []string{"{", `{"lesson_id":"l"}`} {
		err := handle(parseTranscodePayload, h.ProcessTranscode)(context.Background(), asynq.NewTask(TypeTranscode, []byte(payload)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %q: ProcessTask = %v, want an error wrapping asynq.SkipRetry", payload, err)
		}
	}
}

func TestQueueFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		attempt int
		bytes   int64
		want    string
	}{
		{"FirstUploadSmall", 1, 50 * mib, QueueCritical},
		{"FirstUploadEmpty", 1, 0, QueueCritical},
		{"FirstUploadJustUnderSmall", 1, SmallSourceBytes - 1, QueueCritical},
		{"FirstUploadOrdinary", 1, SmallSourceBytes, QueueTranscode},
		{"FirstUploadJustUnderLong", 1, LongSourceBytes - 1, QueueTranscode},
		{"FirstUploadLong", 1, LongSourceBytes, QueueLong},
		{"FirstUploadUnsized", 1, -1, QueueTranscode},
		{"RetryOrdinary", 2, 600 * mib, QueueCritical},
		{"RetryUnsized", 4, -1, QueueCritical},
		{"RetryLong", 3, 3 << 30, QueueLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queueOf(tt.attempt, tt.bytes); got != tt.want {
				t.Errorf("queueOf(%d, %d) = %q, want %q", tt.attempt, tt.bytes, got, tt.want)
			}
		})
	}
	for _, q := range Queues() {
		if queuePriorities()[q] == 0 && audioLane()[q] == 0 {
			t.Errorf("queue %q has no priority: no worker would take its tasks", q)
		}
	}
}
