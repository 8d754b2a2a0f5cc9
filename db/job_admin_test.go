package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestJobAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		teacher := newUser(t, d, lectern.RoleTeacher)
		course := newCourse(t, d, teacher)
		t.Run("DetailsJoinLessonCourseTeacher", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "u1")
			failed := lectern.JobFailed
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"); err != nil {
				t.Fatal(err)
			}
			if err := d.FailTranscode(ctx, l.ID, 1, job.ID, "", lectern.FailureRefused, "broken file", "ffmpeg said no"); err != nil {
				t.Fatal(err)
			}
			got, err := d.FindJobDetails(ctx, db.JobFilter{State: &failed, LessonID: &l.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d jobs, want 1", len(got))
			}
			want := db.JobDetail{LessonTitle: l.Title, CourseID: course.ID, CourseTitle: course.Title, TeacherName: teacher.Name}
			g := *got[0]
			if g.ID != job.ID || g.Error != "broken file" || g.LogTail != "ffmpeg said no" || g.WorkerHost != "w" {
				t.Errorf("job = %+v, want job %s failed with its reason, log and host", g.Job, job.ID)
			}
			g.Job = lectern.Job{}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("joined fields (-want +got):\n%s", diff)
			}
			running := lectern.JobRunning
			none, err := d.FindJobDetails(ctx, db.JobFilter{State: &running, LessonID: &l.ID})
			if err != nil || len(none) != 0 {
				t.Errorf("running jobs = %v, %v; want none", none, err)
			}
		})
		t.Run("Cancel", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "u1")
			got, err := d.CancelJob(ctx, job.ID, "Canceled by an admin")
			if err != nil {
				t.Fatal(err)
			}
			if got.State != lectern.JobCanceled || got.FinishedAt == nil || got.Error != "Canceled by an admin" {
				t.Errorf("canceled job = %+v", got)
			}
			if l := mustLesson(t, d, l.ID); l.Status != lectern.LessonFailed || l.Error != "Canceled by an admin" {
				t.Errorf("lesson status %q error %q, want failed with the reason", l.Status, l.Error)
			}
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"); lectern.ErrorCode(err) != lectern.ECONFLICT {
				t.Errorf("MarkTranscoding after cancel = %v, want conflict", err)
			}
			_, err = d.CancelJob(ctx, job.ID, "again")
			wantCode(t, err, lectern.ECONFLICT)
			_, err = d.CancelJob(ctx, "nope", "x")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("Stalled", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "u1")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"); err != nil {
				t.Fatal(err)
			}
			stalled := func() []string {
				t.Helper()
				jobs, err := d.FindStalledJobs(ctx, clock.Peek().Add(-time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, j := range jobs {
					if j.LessonID == l.ID {
						ids = append(ids, j.ID)
					}
				}
				return ids
			}
			if got := stalled(); len(got) != 0 {
				t.Errorf("fresh heartbeat: stalled = %v, want none", got)
			}
			clock.Advance(2 * time.Minute)
			if diff := cmp.Diff([]string{job.ID}, stalled()); diff != "" {
				t.Errorf("old heartbeat: stalled (-want +got):\n%s", diff)
			}
			now := clock.Peek()
			if _, err := d.UpdateJob(ctx, job.ID, db.JobUpdate{HeartbeatAt: &now}); err != nil {
				t.Fatal(err)
			}
			if got := stalled(); len(got) != 0 {
				t.Errorf("after a heartbeat: stalled = %v, want none", got)
			}
		})
	})
}
