package db_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

func TestJobRetrying(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))

		t.Run("RetryThenRunAgain", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-a"); err != nil {
				t.Fatal(err)
			}
			if _, err := d.UpdateJob(ctx, job.ID, db.JobUpdate{Percent: ptr(40.0)}); err != nil {
				t.Fatal(err)
			}
			retryAt := clock.Peek().Add(30 * time.Second)
			if err := d.RetryTranscode(ctx, l.ID, 1, job.ID, "", "storage is down", "log", retryAt); err != nil {
				t.Fatalf("RetryTranscode: %v", err)
			}
			j := mustJob(t, d, job.ID)
			got := []any{j.State, j.Retries, j.Percent, j.Error, j.LogTail, j.RetryAt, j.Failure, j.FinishedAt}
			want := []any{lectern.JobRetrying, 1, 0.0, "storage is down", "log", ptr(stored(retryAt)), lectern.JobFailure(""), (*time.Time)(nil)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("retrying job: state, retries, percent, error, log, retry at, failure, finished (-want +got):\n%s", diff)
			}
			if got := mustLesson(t, d, l.ID); got.Status != lectern.LessonProcessing || got.Error != "" {
				t.Errorf("lesson of a retrying job: status %q, error %q; want processing, no error yet", got.Status, got.Error)
			}
			unfinished, err := d.FindUnfinishedJobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !containsJob(unfinished, job.ID) {
				t.Error("FindUnfinishedJobs leaves out a retrying job")
			}
			// Retrying only follows a running try.
			wantCode(t, d.RetryTranscode(ctx, l.ID, 1, job.ID, "", "again", "", retryAt), lectern.ECONFLICT)

			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-b"); err != nil {
				t.Fatalf("MarkTranscoding of a retrying job: %v", err)
			}
			j = mustJob(t, d, job.ID)
			if j.State != lectern.JobRunning || j.RetryAt != nil || j.Retries != 1 || j.WorkerHost != "worker-b" {
				t.Errorf("next try: state %q, retry at %v, retries %d, host %q; want running, none, 1, worker-b",
					j.State, j.RetryAt, j.Retries, j.WorkerHost)
			}
		})
		t.Run("CancelRetrying", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"); err != nil {
				t.Fatal(err)
			}
			if err := d.RetryTranscode(ctx, l.ID, 1, job.ID, "", "ffmpeg crashed", "", clock.Peek().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, err := d.CancelJob(ctx, job.ID, "Processing was canceled by an admin")
			if err != nil {
				t.Fatalf("CancelJob of a retrying job: %v", err)
			}
			if got.State != lectern.JobCanceled || got.Failure != lectern.FailureCanceled || got.RetryAt != nil {
				t.Errorf("canceled job: state %q, failure %q, retry at %v; want canceled, canceled, none", got.State, got.Failure, got.RetryAt)
			}
			wantCode(t, d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"), lectern.ECONFLICT)
		})
		t.Run("StaleAttempt", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job1, _ := mustStart(t, d, l, "up1")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job1.ID, "w"); err != nil {
				t.Fatal(err)
			}
			mustStart(t, d, l, "up2")
			wantCode(t, d.RetryTranscode(ctx, l.ID, 1, job1.ID, "", "x", "", clock.Peek()), lectern.ECONFLICT)
			j := mustJob(t, d, job1.ID)
			if j.State != lectern.JobCanceled || j.Failure != lectern.FailureCanceled || j.Error == "" {
				t.Errorf("replaced job: state %q, failure %q, error %q; want canceled, canceled, a reason", j.State, j.Failure, j.Error)
			}
			wantCode(t, d.RetryTranscode(ctx, "nosuchlesson", 1, job1.ID, "", "x", "", clock.Peek()), lectern.ENOTFOUND)
		})
		t.Run("FailureKinds", func(t *testing.T) {
			for _, kind := range []lectern.JobFailure{lectern.FailureRefused, lectern.FailureSetup, lectern.FailureExhausted, lectern.FailureTimeout} {
				l := newLesson(t, d, course)
				_, job, _ := mustStart(t, d, l, "up")
				if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"); err != nil {
					t.Fatal(err)
				}
				if err := d.FailTranscode(ctx, l.ID, 1, job.ID, "", kind, "reason", ""); err != nil {
					t.Fatalf("FailTranscode(%s): %v", kind, err)
				}
				if j := mustJob(t, d, job.ID); j.State != lectern.JobFailed || j.Failure != kind {
					t.Errorf("failed job: state %q, failure %q; want failed, %q", j.State, j.Failure, kind)
				}
			}
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job.ID, "", "bored", "reason", ""), lectern.EINVALID)
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job.ID, "", "", "reason", ""), lectern.EINVALID)
		})
	})
}

func containsJob(jobs []*lectern.Job, id string) bool {
	for _, j := range jobs {
		if j.ID == id {
			return true
		}
	}
	return false
}

func TestQueuePosition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		other := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		// Jobs in creation order, each on a queue (priority 6 > 3 > 1).
		type queued struct {
			name, queue string
			priority    int
			course      *lectern.Course
		}
		lessons := map[string]*lectern.Lesson{}
		jobs := map[string]*lectern.Job{}
		for _, q := range []queued{
			{"long1", "transcode_long", 1, course},
			{"mid1", "transcode", 3, course},
			{"running", "transcode_critical", 6, course},
			{"crit1", "transcode_critical", 6, other},
			{"mid2", "transcode", 3, course},
			{"crit2", "transcode_critical", 6, course},
			{"unqueued", "", 0, course},
		} {
			l := newLesson(t, d, q.course)
			_, job, _ := mustStart(t, d, l, "up")
			if q.queue != "" {
				if err := d.SetJobQueue(ctx, job.ID, q.queue, q.priority); err != nil {
					t.Fatal(err)
				}
			}
			lessons[q.name], jobs[q.name] = l, job
		}
		if err := d.MarkTranscoding(ctx, lessons["running"].ID, 1, jobs["running"].ID, "w"); err != nil {
			t.Fatal(err)
		}
		want := map[string]*int{
			// Critical first, oldest first, whichever course.
			"crit1": ptr(1), "crit2": ptr(2),
			"mid1": ptr(3), "mid2": ptr(4),
			"long1": ptr(5),
			// Not yet on a queue: behind every queued job.
			"unqueued": ptr(6),
			"running":  nil,
		}

		current, err := d.FindCurrentJobs(ctx, course.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*int{}
		for name, l := range lessons {
			if j, ok := current[l.ID]; ok {
				got[name] = j.QueuePosition
			}
		}
		wantCourse := map[string]*int{}
		for name, pos := range want {
			if name != "crit1" {
				wantCourse[name] = pos
			}
		}
		if diff := cmp.Diff(wantCourse, got); diff != "" {
			t.Errorf("FindCurrentJobs positions (-want +got):\n%s", diff)
		}

		for name, l := range lessons {
			j, err := d.FindCurrentJob(ctx, l.ID)
			if err != nil {
				t.Fatalf("FindCurrentJob(%s): %v", name, err)
			}
			if diff := cmp.Diff(want[name], j.QueuePosition); diff != "" || j.ID != jobs[name].ID {
				t.Errorf("FindCurrentJob(%s): job %s, position (-want +got):\n%s", name, j.ID, diff)
			}
		}

		details, err := d.FindJobDetails(ctx, db.JobFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, dj := range details {
			for name, j := range jobs {
				if dj.ID == j.ID {
					if diff := cmp.Diff(want[name], dj.QueuePosition); diff != "" {
						t.Errorf("FindJobDetails position of %s (-want +got):\n%s", name, diff)
					}
					if (dj.Queue == "") != (name == "unqueued") {
						t.Errorf("job %s is on queue %q", name, dj.Queue)
					}
				}
			}
		}

		t.Run("ReuploadReplacesTheCurrentJob", func(t *testing.T) {
			l := lessons["mid1"]
			_, job2, _ := mustStart(t, d, l, "up2")
			j, err := d.FindCurrentJob(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.ID != job2.ID || j.Attempt != 2 {
				t.Errorf("current job after a re-upload: %s (attempt %d), want %s", j.ID, j.Attempt, job2.ID)
			}
			// The replaced job left the line: mid2 moves up.
			if j, _ := d.FindCurrentJob(ctx, lessons["mid2"].ID); j == nil || j.QueuePosition == nil || *j.QueuePosition != 3 {
				t.Errorf("mid2 after mid1 was replaced: %+v, want position 3", j)
			}
		})
		t.Run("NoUploadYet", func(t *testing.T) {
			_, err := d.FindCurrentJob(ctx, newLesson(t, d, course).ID)
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("SetQueueMissingJob", func(t *testing.T) {
			wantCode(t, d.SetJobQueue(ctx, "nosuchjob", "transcode", 3), lectern.ENOTFOUND)
		})
	})
}

// TestMigrationKeepsJobMeaning stores jobs as the release before
// 00005_job_states did, migrates, and checks what they then say.
func TestMigrationKeepsJobMeaning(t *testing.T) {
	t.Parallel()
	urls := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "lectern.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, urls[name](t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if err := d.MigrateTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			l := oldLesson(t, d, course, "Old", "", 0)
			old := map[string][2]string{ // job id: state, error
				"ok":       {"succeeded", ""},
				"refused":  {"failed", "The file is damaged or incomplete: it ends too early"},
				"tries":    {"failed", "Processing failed after 6 tries: encode: exit status 1"},
				"dead":     {"failed", "Processing stopped: the worker running it stopped responding."},
				"canceled": {"canceled", "Processing was canceled by an admin"},
				"waiting":  {"queued", ""},
			}
			attempt := 0
			for id, v := range old {
				attempt++
				if err := d.Exec(ctx, `INSERT INTO jobs (id, lesson_id, attempt, task_id, state, error, created_at)
					VALUES (?, ?, ?, '', ?, ?, ?)`, id, l.ID, attempt, v[0], v[1], time.Now().UTC()); err != nil {
					t.Fatalf("store a job as before: %v", err)
				}
			}
			if err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			want := map[string]lectern.JobFailure{"ok": "", "refused": lectern.FailureRefused, "tries": lectern.FailureExhausted,
				"dead": lectern.FailureExhausted, "canceled": lectern.FailureCanceled, "waiting": ""}
			got := map[string]lectern.JobFailure{}
			for id := range old {
				j := mustJob(t, d, id)
				got[id] = j.Failure
				if j.MaxTries != lectern.MaxTranscodeTries || j.Error != old[id][1] {
					t.Errorf("job %s after migrating: max tries %d, error %q; want %d, unchanged", id, j.MaxTries, j.Error, lectern.MaxTranscodeTries)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("failure of jobs stored before the migration (-want +got):\n%s", diff)
			}
			retrying := lectern.JobRetrying
			if _, err := d.UpdateJob(ctx, "waiting", db.JobUpdate{State: &retrying}); err != nil {
				t.Errorf("a migrated database refuses the retrying state: %v", err)
			}
		})
	}
}
