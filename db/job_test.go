package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func jobIDs(jobs []*lectern.Job) []string {
	ids := []string{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		newJob := func(t *testing.T, l *lectern.Lesson, attempt int) *lectern.Job {
			t.Helper()
			j := &lectern.Job{LessonID: l.ID, Attempt: attempt, TaskID: fmt.Sprintf("lesson:transcode:%s:%d", l.ID, attempt)}
			if err := d.CreateJob(ctx, j); err != nil {
				t.Fatalf("CreateJob: %v", err)
			}
			return j
		}
		t.Run("Create", func(t *testing.T) {
			l := newLesson(t, d, course)
			now := clock.Peek()
			j := &lectern.Job{LessonID: l.ID, Attempt: 1, TaskID: "transcode:" + l.ID + ":1"}
			if err := d.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			want := &lectern.Job{ID: j.ID, LessonID: l.ID, Attempt: 1, TaskID: "transcode:" + l.ID + ":1",
				State: lectern.JobQueued, MaxTries: lectern.MaxTranscodeTries, CreatedAt: stored(now)}
			if diff := cmp.Diff(want, j); diff != "" {
				t.Errorf("CreateJob filled (-want +got):\n%s", diff)
			}
			got, err := d.FindJobByID(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindJobByID (-want +got):\n%s", diff)
			}
		})
		t.Run("DuplicateAttempt", func(t *testing.T) {
			l, other := newLesson(t, d, course), newLesson(t, d, course)
			newJob(t, l, 1)
			err := d.CreateJob(ctx, &lectern.Job{LessonID: l.ID, Attempt: 1})
			wantCode(t, err, lectern.ECONFLICT)
			newJob(t, l, 2)
			newJob(t, other, 1)
		})
		t.Run("CreateInvalid", func(t *testing.T) {
			l := newLesson(t, d, course)
			wantCode(t, d.CreateJob(ctx, &lectern.Job{LessonID: "nosuchlesson", Attempt: 1}), lectern.ENOTFOUND)
			wantCode(t, d.CreateJob(ctx, &lectern.Job{LessonID: l.ID, Attempt: 1, State: "paused"}), lectern.EINVALID)
			wantCode(t, d.CreateJob(ctx, &lectern.Job{LessonID: l.ID, Attempt: 1, Percent: 101}), lectern.EINVALID)
		})
		t.Run("FindByIDMissing", func(t *testing.T) {
			_, err := d.FindJobByID(ctx, "nosuchjob")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("FindJobsNewestFirstFiltered", func(t *testing.T) {
			l1, l2 := newLesson(t, d, course), newLesson(t, d, course)
			a, b, c := newJob(t, l1, 1), newJob(t, l2, 1), newJob(t, l1, 2)
			running := lectern.JobRunning
			if _, err := d.UpdateJob(ctx, b.ID, db.JobUpdate{State: &running}); err != nil {
				t.Fatal(err)
			}
			queued := lectern.JobQueued
			for _, tc := range []struct {
				name   string
				filter db.JobFilter
				want   []string
			}{
				{"ByLesson", db.JobFilter{LessonID: &l1.ID}, []string{c.ID, a.ID}},
				{"ByLessonLimit", db.JobFilter{LessonID: &l1.ID, Limit: 1}, []string{c.ID}},
				{"ByState", db.JobFilter{State: &running, Limit: 100}, []string{b.ID}},
				{"ByStateAndLesson", db.JobFilter{State: &queued, LessonID: &l2.ID}, []string{}},
				{"NoFilterLimit", db.JobFilter{Limit: 3}, []string{c.ID, b.ID, a.ID}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := d.FindJobs(ctx, tc.filter)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tc.want, jobIDs(got)); diff != "" {
						t.Errorf("FindJobs (-want +got):\n%s", diff)
					}
				})
			}
		})
		t.Run("UpdatePartial", func(t *testing.T) {
			j := newJob(t, newLesson(t, d, course), 1)
			started := clock.Peek().Add(time.Second)
			want := *j
			got, err := d.UpdateJob(ctx, j.ID, db.JobUpdate{
				State: ptr(lectern.JobRunning), WorkerHost: ptr("worker-1"), StartedAt: &started, HeartbeatAt: &started,
			})
			if err != nil {
				t.Fatal(err)
			}
			want.State, want.WorkerHost = lectern.JobRunning, "worker-1"
			want.StartedAt, want.HeartbeatAt = ptr(stored(started)), ptr(stored(started))
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("UpdateJob start (-want +got):\n%s", diff)
			}
			got, err = d.UpdateJob(ctx, j.ID, db.JobUpdate{Percent: ptr(42.5), LogTail: ptr("frame=100")})
			if err != nil {
				t.Fatal(err)
			}
			want.Percent, want.LogTail = 42.5, "frame=100"
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("UpdateJob progress (-want +got):\n%s", diff)
			}
			finished := started.Add(time.Minute)
			got, err = d.UpdateJob(ctx, j.ID, db.JobUpdate{
				State: ptr(lectern.JobFailed), Error: ptr("not a video"), Retries: ptr(2), FinishedAt: &finished,
			})
			if err != nil {
				t.Fatal(err)
			}
			want.State, want.Error, want.Retries, want.FinishedAt = lectern.JobFailed, "not a video", 2, ptr(stored(finished))
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("UpdateJob failure (-want +got):\n%s", diff)
			}
			reread, err := d.FindJobByID(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, reread); diff != "" {
				t.Errorf("FindJobByID after updates (-want +got):\n%s", diff)
			}
			unchanged, err := d.UpdateJob(ctx, j.ID, db.JobUpdate{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, unchanged); diff != "" {
				t.Errorf("empty UpdateJob changed the job (-want +got):\n%s", diff)
			}
		})
		t.Run("UpdateInvalid", func(t *testing.T) {
			j := newJob(t, newLesson(t, d, course), 1)
			_, err := d.UpdateJob(ctx, j.ID, db.JobUpdate{State: ptr(lectern.JobState("paused"))})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateJob(ctx, j.ID, db.JobUpdate{Percent: ptr(-1.0)})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateJob(ctx, "nosuchjob", db.JobUpdate{Percent: ptr(1.0)})
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.UpdateJob(ctx, "nosuchjob", db.JobUpdate{})
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}
