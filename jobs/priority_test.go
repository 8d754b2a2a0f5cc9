package jobs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/transcode"
)

// lessonWithRecording creates a lesson whose recording has size bytes (a
// sparse file in disk storage, so that a 2 GiB recording costs nothing)
// and starts its transcode `attempts` times; it returns the last job.
func lessonWithRecording(t *testing.T, d *db.DB, dataDir string, course *lectern.Course, size int64, attempts int) *lectern.Job {
	t.Helper()
	ctx := context.Background()
	l := &lectern.Lesson{CourseID: course.ID, Title: "Lesson", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	key := lectern.SourceKey(l.ID, "upload")
	path := filepath.Join(dataDir, "objects", filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var job *lectern.Job
	for range attempts {
		if _, job, _, err = d.StartTranscode(ctx, l.ID, key); err != nil {
			t.Fatal(err)
		}
	}
	return job
}

func TestTranscodeQueueChoosesQueueByRecording(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dataDir := t.TempDir()
	d, course := newCourseDB(t, dataDir)
	st, err := disk.New(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	q := openTestQueue(t, "")
	tq := &Client{Queue: q, DB: d, Storage: st, Logger: logger}

	tests := []struct {
		name     string
		size     int64
		attempts int
		want     string
	}{
		{"SmallUpload", 50 << 20, 1, QueueCritical},
		{"OrdinaryUpload", 600 << 20, 1, QueueTranscode},
		{"LongUpload", 3 << 30, 1, QueueLong},
		{"ReUploadOrRetry", 600 << 20, 2, QueueCritical},
		{"RetryOfLongUpload", 3 << 30, 3, QueueLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := lessonWithRecording(t, d, dataDir, course, tt.size, tt.attempts)
			task, err := newTranscodeTask(transcode.TranscodePayload{LessonID: job.LessonID, JobID: job.ID, Attempt: job.Attempt})
			if err != nil {
				t.Fatal(err)
			}
			info, err := tq.enqueue(ctx, task)
			if err != nil {
				t.Fatalf("EnqueueContext: %v", err)
			}
			if info.Queue != tt.want {
				t.Errorf("%d-byte recording, attempt %d: queued on %q, want %q", tt.size, job.Attempt, info.Queue, tt.want)
			}
			// The job knows its queue, for its place in line.
			j, err := d.FindJobByID(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Queue != tt.want || j.QueuePriority != queuePriorities()[tt.want] {
				t.Errorf("job records queue %q (priority %d), want %q (%d)", j.Queue, j.QueuePriority, tt.want, queuePriorities()[tt.want])
			}
		})
	}

	t.Run("RequeueFindsTaskOnAnyQueue", func(t *testing.T) {
		// A small recording queued on the critical queue; the reconciler,
		// which cannot size it (no storage), would pick "transcode": it
		// must see the task where it is and enqueue nothing.
		job := lessonWithRecording(t, d, dataDir, course, 1<<20, 1)
		task, _ := newTranscodeTask(transcode.TranscodePayload{LessonID: job.LessonID, JobID: job.ID, Attempt: job.Attempt})
		if _, err := tq.enqueue(ctx, task); err != nil {
			t.Fatal(err)
		}
		unsized := &Client{Queue: q, DB: d, Logger: logger}
		if err := requeueUnfinishedLessons(ctx, unsized, logger); err != nil {
			t.Fatal(err)
		}
		if _, err := q.inspector.GetTaskInfo(QueueTranscode, job.TaskID); err == nil {
			t.Errorf("task %s was enqueued a second time on %q", job.TaskID, QueueTranscode)
		}
	})
}

func TestWorkerRunsCriticalBeforeEarlierLong(t *testing.T) {
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := openTestQueue(t, redisURL(t))
			// A long upload and an ordinary one wait; a short lesson's
			// task comes in last.
			for _, queue := range []string{QueueLong, QueueTranscode, QueueCritical} {
				task := asynq.NewTask("test:transcode", []byte(queue), asynq.Queue(queue))
				if _, err := q.client.Enqueue(task); err != nil {
					t.Fatalf("Enqueue on %s: %v", queue, err)
				}
			}
			ran := make(chan string, 3)
			startTestWorker(t, q, "test:transcode", func(_ context.Context, task *asynq.Task) error {
				ran <- string(task.Payload())
				return nil
			})
			var order []string
			for range 3 {
				order = append(order, receive(t, ran, "a task to run"))
			}
			want := []string{QueueCritical, QueueTranscode, QueueLong}
			if diff := cmp.Diff(want, order); diff != "" {
				t.Errorf("order a one-at-a-time worker ran the queues in (-want +got):\n%s", diff)
			}
		})
	}
}
