package db_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Two deliveries of one attempt: the second takes the lease, and from then
// on the first can neither renew, publish, retry nor fail; each has its own
// output prefix, the first's is dead and the published one never is.
func TestLeaseFencesDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))

		t.Run("StaleDeliveryChangesNothing", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			taskID := db.TranscodeTaskID(l.ID, 1)
			a, err := d.TakeLease(ctx, l.ID, 1, job.ID, taskID, "worker-a")
			if err != nil {
				t.Fatal(err)
			}
			b, err := d.TakeLease(ctx, l.ID, 1, job.ID, taskID, "worker-b")
			if err != nil {
				t.Fatal(err)
			}
			if a.Token == "" || a.Token == b.Token || a.Prefix == b.Prefix {
				t.Fatalf("leases %+v and %+v: want distinct tokens and prefixes", a, b)
			}
			if _, err := d.RenewLease(ctx, b, ptr(30.0)); err != nil {
				t.Fatalf("renew the current lease: %v", err)
			}
			state, err := d.RenewLease(ctx, a, ptr(80.0))
			wantCode(t, err, lectern.ECONFLICT)
			if state != lectern.JobRunning {
				t.Errorf("stale renew saw state %q, want running", state)
			}
			pa := publication(l, job)
			pa.OutputPrefix, pa.LeaseToken = a.Prefix, a.Token
			_, err = d.PublishLesson(ctx, l.ID, 1, pa)
			wantCode(t, err, lectern.ECONFLICT)
			wantCode(t, d.RetryTranscode(ctx, l.ID, 1, job.ID, a.Token, "x", "", clock.Peek()), lectern.ECONFLICT)
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job.ID, a.Token, lectern.FailureRefused, "x", ""), lectern.ECONFLICT)
			if released, err := d.ReleaseLease(ctx, a); err != nil || released {
				t.Errorf("stale release = %v, %v; want false", released, err)
			}
			got := mustJob(t, d, job.ID)
			if got.State != lectern.JobRunning || got.Percent != 30 || got.WorkerHost != "worker-b" || got.LeaseToken != b.Token {
				t.Errorf("job after the stale delivery's writes: %+v; want running at 30 %% under b's lease", got)
			}
			if ml := mustLesson(t, d, l.ID); ml.OutputPrefix != "" || ml.Status != lectern.LessonProcessing {
				t.Errorf("lesson after the stale publish: prefix %q status %q", ml.OutputPrefix, ml.Status)
			}
			if dead, _ := d.OutputDead(ctx, a.Prefix); !dead {
				t.Errorf("stale delivery's output %s is not dead", a.Prefix)
			}
			if dead, _ := d.OutputDead(ctx, b.Prefix); dead {
				t.Errorf("current delivery's output %s is dead", b.Prefix)
			}

			pb := publication(l, job)
			pb.OutputPrefix, pb.LeaseToken = b.Prefix, b.Token
			if _, err := d.PublishLesson(ctx, l.ID, 1, pb); err != nil {
				t.Fatalf("publish under the current lease: %v", err)
			}
			if ml := mustLesson(t, d, l.ID); ml.OutputPrefix != b.Prefix || ml.Status != lectern.LessonReady {
				t.Errorf("lesson: prefix %q status %q; want %s ready", ml.OutputPrefix, ml.Status, b.Prefix)
			}
			dead, err := d.DeadOutputs(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(dead, a.Prefix) || slices.Contains(dead, b.Prefix) {
				t.Errorf("dead outputs %v: want %s and never the published %s", dead, a.Prefix, b.Prefix)
			}
			if err := d.ForgetOutput(ctx, b.Prefix); err != nil {
				t.Fatal(err)
			}
			if err := d.ForgetOutput(ctx, a.Prefix); err != nil {
				t.Fatal(err)
			}
			if dead, _ := d.OutputDead(ctx, a.Prefix); dead {
				t.Error("a forgotten output is still listed")
			}
			// A published output's record stays: a later publication
			// replacing it makes it dead.
			_, job2, _ := mustStart(t, d, l, "up2")
			c, err := d.TakeLease(ctx, l.ID, 2, job2.ID, "", "worker-c")
			if err != nil {
				t.Fatal(err)
			}
			pc := publication(l, job2)
			pc.OutputPrefix, pc.LeaseToken = c.Prefix, c.Token
			prev, err := d.PublishLesson(ctx, l.ID, 2, pc)
			if err != nil || prev != b.Prefix {
				t.Fatalf("publish attempt 2 = %q, %v; want previous %s", prev, err, b.Prefix)
			}
			if dead, _ := d.OutputDead(ctx, b.Prefix); !dead {
				t.Errorf("replaced output %s is not dead", b.Prefix)
			}
		})

		t.Run("ReclaimExpiredLease", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			oldTask := db.TranscodeTaskID(l.ID, 1)
			a, err := d.TakeLease(ctx, l.ID, 1, job.ID, oldTask, "worker-a")
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
			stalled, err := d.FindStalledJobs(ctx, clock.Peek().Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			var j *lectern.Job
			for _, s := range stalled {
				if s.ID == job.ID {
					j = s
				}
			}
			if j == nil || j.LeaseToken != a.Token {
				t.Fatalf("stalled jobs %v: want job %s under a's lease", stalled, job.ID)
			}
			newTask := oldTask + ":1"
			ok, err := d.ReclaimLease(ctx, j, clock.Peek().Add(-time.Minute), newTask)
			if err != nil || !ok {
				t.Fatalf("reclaim = %v, %v", ok, err)
			}
			if ok, _ := d.ReclaimLease(ctx, j, clock.Peek().Add(-time.Minute), newTask+"x"); ok {
				t.Error("a lease was reclaimed twice")
			}
			got := mustJob(t, d, job.ID)
			if got.State != lectern.JobRetrying || got.TaskID != newTask || got.LeaseToken != "" || got.Retries != 1 {
				t.Errorf("reclaimed job %+v: want retrying under task %s, no lease, one retry", got, newTask)
			}
			if _, err := d.RenewLease(ctx, a, nil); lectern.ErrorCode(err) != lectern.ECONFLICT {
				t.Errorf("renew after reclaim: %v, want conflict", err)
			}
			// A late delivery of the replaced task is refused; the new one runs.
			_, err = d.TakeLease(ctx, l.ID, 1, job.ID, oldTask, "worker-a")
			wantCode(t, err, lectern.ECONFLICT)
			if _, err := d.TakeLease(ctx, l.ID, 1, job.ID, newTask, "worker-b"); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("ReleaseOnShutdown", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up")
			a, err := d.TakeLease(ctx, l.ID, 1, job.ID, "", "worker-a")
			if err != nil {
				t.Fatal(err)
			}
			if released, err := d.ReleaseLease(ctx, a); err != nil || !released {
				t.Fatalf("release = %v, %v", released, err)
			}
			if got := mustJob(t, d, job.ID); got.State != lectern.JobQueued || got.LeaseToken != "" {
				t.Errorf("released job %+v: want queued without a lease", got)
			}
			stalled, err := d.FindStalledJobs(ctx, clock.Peek().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stalled {
				if s.ID == job.ID {
					t.Error("a released job is taken for stalled")
				}
			}
		})
	})
}
