package jobs

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/transcode"
)

// stored reports whether anything is stored under prefix.
func stored(t *testing.T, st lectern.Storage, prefix string) bool {
	t.Helper()
	for _, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	return false
}

// The reconciler takes back a silent delivery's lease and enqueues its job
// under a new task ID, fails a silent job with no tries left, re-enqueues
// a job whose task vanished, and sweeps the partial output of dead
// deliveries but never a live one's.
func TestReconciler(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			lost, dead, spent, live := startedLesson(t, d, course), startedLesson(t, d, course),
				startedLesson(t, d, course), startedLesson(t, d, course)
			task, _ := newTranscodeTask(transcode.TranscodePayload{LessonID: lost.LessonID, JobID: lost.ID, Attempt: lost.Attempt})
			if _, err := q.client.Enqueue(task); err != nil {
				t.Fatal(err)
			}
			// The task vanishes from Redis (a flush, a restart without AOF).
			if err := q.inspector.DeleteTask(QueueTranscode, lost.TaskID); err != nil {
				t.Fatal(err)
			}
			st, err := disk.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			// dead's and spent's workers took the lease, uploaded part of
			// their output and went silent; spent has no tries left.
			// live's worker is alive.
			take := func(j *lectern.Job, silent bool) *db.Lease {
				lease, err := d.TakeLease(ctx, j.LessonID, j.Attempt, j.ID, j.TaskID, "worker")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Put(ctx, lease.Prefix+"v0/seg1.m4s", strings.NewReader("partial")); err != nil {
					t.Fatal(err)
				}
				if silent {
					old := time.Now().Add(-time.Hour)
					if _, err := d.UpdateJob(ctx, j.ID, db.JobUpdate{HeartbeatAt: &old}); err != nil {
						t.Fatal(err)
					}
				}
				return lease
			}
			deadLease, spentLease, liveLease := take(dead, true), take(spent, true), take(live, false)
			spentRetries := spent.MaxTries - 1
			if _, err := d.UpdateJob(ctx, spent.ID, db.JobUpdate{Retries: &spentRetries}); err != nil {
				t.Fatal(err)
			}

			r := &Reconciler{Transcodes: &Client{Queue: q, DB: d, Storage: st, Logger: logger}, Logger: logger,
				Interval: 50 * time.Millisecond, Deadline: time.Minute}
			r.Start()
			t.Cleanup(r.Close)
			newTask := db.TranscodeTaskID(dead.LessonID, dead.Attempt) + ":1"
			// live's task is missing from the queue too, but its delivery
			// renews its lease: it is left alone.
			want := []string{lost.TaskID, newTask}
			slices.Sort(want)
			deadline := time.Now().Add(30 * time.Second)
			for {
				j, err := d.FindJobByID(ctx, dead.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := d.RenewLease(ctx, liveLease, nil); err != nil {
					t.Fatalf("renew the live delivery's lease: %v", err)
				}
				pending := pendingTasks(t, q, QueueTranscode)
				if j.State == lectern.JobRetrying && slices.Equal(pending, want) && !stored(t, st, deadLease.Prefix) {
					if j.TaskID != newTask || j.Retries != 1 || j.LeaseToken != "" {
						t.Errorf("reclaimed job: task %q, retries %d, lease %q; want %s, 1, none", j.TaskID, j.Retries, j.LeaseToken, newTask)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("reconciler did not act: dead job %q, pending %v (want %v), dead output still stored: %v",
						j.State, pending, want, stored(t, st, deadLease.Prefix))
				}
				time.Sleep(50 * time.Millisecond)
			}
			if j, _ := d.FindJobByID(ctx, spent.ID); j.State != lectern.JobFailed || j.Error != deadWorkerReason {
				t.Errorf("job out of tries: %q %q, want failed with the reason", j.State, j.Error)
			}
			if l, _ := d.FindLessonByID(ctx, spent.LessonID); l.Status != lectern.LessonFailed || l.Error != deadWorkerReason {
				t.Errorf("its lesson: %q %q, want failed with the reason", l.Status, l.Error)
			}
			for time.Now().Before(deadline) && stored(t, st, spentLease.Prefix) {
				if _, err := d.RenewLease(ctx, liveLease, nil); err != nil {
					t.Fatalf("renew the live delivery's lease: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if slices.Contains(pendingTasks(t, q, QueueTranscode), live.TaskID) {
				t.Error("a job whose delivery renews its lease was enqueued again")
			}
			if stored(t, st, spentLease.Prefix) {
				t.Error("the failed job's partial output was not swept")
			}
			if j, _ := d.FindJobByID(ctx, live.ID); j.State != lectern.JobRunning || j.LeaseToken != liveLease.Token {
				t.Errorf("live job: %q under %q; want running under its lease", j.State, j.LeaseToken)
			}
			if !stored(t, st, liveLease.Prefix) {
				t.Error("a live delivery's output was swept")
			}
			r.Close()
		})
	}
}
