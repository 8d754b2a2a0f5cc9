package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

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
	l := &lectern.Lesson{CourseID: course.ID, Title: "Lesson"}
	if err := d.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	_, job, _, err := d.StartTranscode(ctx, l.ID, lectern.SourceKey(l.ID, "upload"))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// pendingTranscodes lists the IDs of the transcode tasks waiting in q.
func pendingTranscodes(t *testing.T, q *Queue) []string {
	t.Helper()
	tasks, err := q.Inspector.ListPendingTasks(queueTranscode)
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
				task, _ := transcode.NewTranscodeTask(transcode.TranscodePayload{LessonID: j.LessonID, JobID: j.ID, Attempt: j.Attempt})
				if _, err := q.Client.Enqueue(task); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Inspector.ArchiveTask(queueTranscode, c.TaskID); err != nil {
				t.Fatal(err)
			}

			if err := requeueUnfinishedLessons(ctx, &transcodeQueue{Queue: q, DB: d, Logger: logger}, logger); err != nil {
				t.Fatalf("requeueUnfinishedLessons: %v", err)
			}
			want := []string{a.TaskID, b.TaskID, c.TaskID}
			slices.Sort(want)
			if diff := cmp.Diff(want, pendingTranscodes(t, q)); diff != "" {
				t.Errorf("pending transcodes (-want +got):\n%s", diff)
			}
			info, err := q.Inspector.GetTaskInfo(queueTranscode, a.TaskID)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := transcode.ParseTranscodePayload(asynq.NewTask(info.Type, info.Payload)); err != nil || p.JobID != a.ID || p.Attempt != a.Attempt {
				t.Errorf("requeued payload = %+v, %v; want job %s attempt %d", p, err, a.ID, a.Attempt)
			}

			t.Run("AgainChangesNothing", func(t *testing.T) {
				if err := requeueUnfinishedLessons(ctx, &transcodeQueue{Queue: q, DB: d, Logger: logger}, logger); err != nil {
					t.Fatalf("second requeueUnfinishedLessons: %v", err)
				}
				if diff := cmp.Diff(want, pendingTranscodes(t, q)); diff != "" {
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
