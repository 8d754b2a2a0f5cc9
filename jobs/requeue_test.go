package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// startedLesson is a lesson with an upload whose transcode job is queued.
func startedLesson(t *testing.T, d *db.DB, course *lectern.Course) *lectern.Job {
	t.Helper()
	ctx := context.Background()
	l := &lectern.Lesson{CourseID: course.ID, Title: "Lesson", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	_, job, _, err := d.StartTranscode(ctx, l.ID, lectern.SourceKey(l.ID, "upload"))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// pendingTasks lists the IDs of the tasks waiting in queue of q.
func pendingTasks(t *testing.T, q *Queue, queue string) []string {
	t.Helper()
	tasks, err := q.inspector.ListPendingTasks(queue)
	if err != nil {
		t.Fatalf("ListPendingTasks: %v", err)
	}
	ids := []string{}
	for _, task := range tasks {
		ids = append(ids, task.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestRequeueUnfinishedLessons(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			// a was queued in a queue that is gone; b's task is still
			// there; c's ended archived although its job never heard.
			a, b, c := startedLesson(t, d, course), startedLesson(t, d, course), startedLesson(t, d, course)
			for _, j := range []*lectern.Job{b, c} {
				task, _ := newTranscodeTask(transcode.TranscodePayload{LessonID: j.LessonID, JobID: j.ID, Attempt: j.Attempt})
				if _, err := q.client.Enqueue(task); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.inspector.ArchiveTask(QueueTranscode, c.TaskID); err != nil {
				t.Fatal(err)
			}

			if err := requeueUnfinishedLessons(ctx, &Client{Queue: q, DB: d, Logger: logger}, logger); err != nil {
				t.Fatalf("requeueUnfinishedLessons: %v", err)
			}
			want := []string{a.TaskID, b.TaskID, c.TaskID}
			slices.Sort(want)
			if diff := cmp.Diff(want, pendingTasks(t, q, QueueTranscode)); diff != "" {
				t.Errorf("pending transcodes (-want +got):\n%s", diff)
			}
			info, err := q.inspector.GetTaskInfo(QueueTranscode, a.TaskID)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := parseTranscodePayload(asynq.NewTask(info.Type, info.Payload)); err != nil || p.JobID != a.ID || p.Attempt != a.Attempt {
				t.Errorf("requeued payload = %+v, %v; want job %s attempt %d", p, err, a.ID, a.Attempt)
			}

			t.Run("AgainChangesNothing", func(t *testing.T) {
				if err := requeueUnfinishedLessons(ctx, &Client{Queue: q, DB: d, Logger: logger}, logger); err != nil {
					t.Fatalf("second requeueUnfinishedLessons: %v", err)
				}
				if diff := cmp.Diff(want, pendingTasks(t, q, QueueTranscode)); diff != "" {
					t.Errorf("pending transcodes (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// newCourseDB opens a migrated SQLite database in dir with one teacher's
// course in it, closed when the test ends.
func newCourseDB(t *testing.T, dir string) (*db.DB, *lectern.Course) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "lectern.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner := &lectern.User{Email: "t@example.org", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	course := &lectern.Course{Title: "C", OwnerID: owner.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		t.Fatal(err)
	}
	return d, course
}

// retryingLesson is a lesson whose transcode's first try failed: its job
// is retrying, the next try due at retryAt.
func retryingLesson(t *testing.T, d *db.DB, course *lectern.Course, retryAt time.Time) *lectern.Job {
	t.Helper()
	ctx := context.Background()
	job := startedLesson(t, d, course)
	if err := d.MarkTranscoding(ctx, job.LessonID, job.Attempt, job.ID, "w"); err != nil {
		t.Fatal(err)
	}
	if err := d.RetryTranscode(ctx, job.LessonID, job.Attempt, job.ID, "", "storage is down", "", retryAt); err != nil {
		t.Fatal(err)
	}
	return job
}

// A retrying job's task waits in the queue's retry set (or is scheduled):
// the reconciler must see it there and not enqueue it again; when it is
// really gone, it is enqueued again for when its next try was due.
func TestRequeueRetryingJobs(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			tq := &Client{Queue: q, DB: d, Logger: logger}
			later := time.Now().Add(time.Hour)

			// inRetry's task failed on a worker and waits in the retry set.
			inRetry := retryingLesson(t, d, course, later)
			enqueueJob(t, tq, inRetry)
			failed := make(chan struct{}, 1)
			w := q.newWorker(WorkerOptions{
				Concurrency: 1, ShutdownTimeout: 5 * time.Second, Logger: logger,
				RetryDelay: func(int, error) time.Duration { return time.Hour },
			}, workerSetup{handler: asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
				failed <- struct{}{}
				return errors.New("storage is down")
			})})
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			receive(t, failed, "the task's first try")
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if info := findTask(t, q.inspector, inRetry.TaskID); info != nil && info.State == asynq.TaskStateRetry {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the failed task never reached the retry set: %+v", findTask(t, q.inspector, inRetry.TaskID))
				}
			}
			w.Shutdown()

			// scheduled's task is due later.
			scheduled := retryingLesson(t, d, course, later)
			enqueueJob(t, tq, scheduled, asynq.ProcessAt(later))
			// gone's task vanished (Redis flushed); so did overdue's, whose
			// next try was due a minute ago.
			gone := retryingLesson(t, d, course, later)
			overdue := retryingLesson(t, d, course, time.Now().Add(-time.Minute))

			if err := requeueUnfinishedLessons(ctx, tq, logger); err != nil {
				t.Fatalf("requeueUnfinishedLessons: %v", err)
			}
			for _, tt := range []struct {
				name  string
				job   *lectern.Job
				state asynq.TaskState
			}{
				{"InRetrySetLeftAlone", inRetry, asynq.TaskStateRetry},
				{"ScheduledLeftAlone", scheduled, asynq.TaskStateScheduled},
				{"GoneEnqueuedForItsRetryTime", gone, asynq.TaskStateScheduled},
				{"OverdueEnqueuedNow", overdue, asynq.TaskStatePending},
			} {
				info := findTask(t, q.inspector, tt.job.TaskID)
				if info == nil || info.State != tt.state {
					t.Errorf("%s: task %+v, want one in state %v", tt.name, info, tt.state)
					continue
				}
				if tt.state == asynq.TaskStateScheduled && info.NextProcessAt.Sub(later).Abs() > time.Second {
					t.Errorf("%s: next try at %v, want %v", tt.name, info.NextProcessAt, later)
				}
			}
			if got := pendingTasks(t, q, QueueTranscode); !slices.Equal(got, []string{overdue.TaskID}) {
				t.Errorf("pending transcodes %v, want only the overdue one", got)
			}
		})
	}
}

// enqueueJob enqueues job's transcode task through tq.
func enqueueJob(t *testing.T, tq *Client, job *lectern.Job, opts ...asynq.Option) {
	t.Helper()
	task, err := newTranscodeTask(transcode.TranscodePayload{LessonID: job.LessonID, JobID: job.ID, Attempt: job.Attempt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tq.enqueue(context.Background(), task, opts...); err != nil {
		t.Fatal(err)
	}
}

// findTask returns the task with the given ID from whichever transcode
// queue holds it; nil when none does.
func findTask(t *testing.T, insp *asynq.Inspector, taskID string) *asynq.TaskInfo {
	t.Helper()
	for _, q := range Queues() {
		info, err := insp.GetTaskInfo(q, taskID)
		switch {
		case err == nil:
			return info
		case !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
			t.Fatalf("find task %s in queue %s: %v", taskID, q, err)
		}
	}
	return nil
}
