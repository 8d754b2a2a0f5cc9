package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

func TestReconciler(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			lost, dead := startedLesson(t, d, course), startedLesson(t, d, course)
			task, _ := transcode.NewTranscodeTask(transcode.TranscodePayload{LessonID: lost.LessonID, JobID: lost.ID, Attempt: lost.Attempt})
			if _, err := q.Client.Enqueue(task); err != nil {
				t.Fatal(err)
			}
			// The task vanishes from Redis (a flush, a restart without AOF).
			if err := q.Inspector.DeleteTask(queueTranscode, lost.TaskID); err != nil {
				t.Fatal(err)
			}
			// dead's worker marked it running and then went silent.
			if err := d.MarkTranscoding(ctx, dead.LessonID, dead.Attempt, dead.ID, "gone-worker"); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			if _, err := d.UpdateJob(ctx, dead.ID, db.JobUpdate{HeartbeatAt: &old}); err != nil {
				t.Fatal(err)
			}

			r := &reconciler{Transcodes: &transcodeQueue{Queue: q, DB: d, Logger: logger}, Logger: logger, Interval: 50 * time.Millisecond, Deadline: time.Minute}
			r.start()
			t.Cleanup(r.Close)
			deadline := time.Now().Add(30 * time.Second)
			for {
				j, err := d.FindJobByID(ctx, dead.ID)
				if err != nil {
					t.Fatal(err)
				}
				pending := pendingTranscodes(t, q)
				if j.State == lectern.JobFailed && len(pending) == 1 && pending[0] == lost.TaskID {
					if j.Error != deadWorkerReason {
						t.Errorf("dead job's error = %q, want the reason", j.Error)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("reconciler did not act: dead job %q, pending %v (want only %s)", j.State, pending, lost.TaskID)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if l, _ := d.FindLessonByID(ctx, dead.LessonID); l.Status != lectern.LessonFailed || l.Error != deadWorkerReason {
				t.Errorf("dead job's lesson: %q %q, want failed with the reason", l.Status, l.Error)
			}
			r.Close()
		})
	}
}
