package jobs

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// TestRequeueChunks: the database is the source of truth for the pieces
// of a chunked transcode too. With the queue empty (a flushed Redis, a
// restarted embedded queue), the start-up requeue and the reconciler give
// every waiting piece a task, leave the running job alone (its plan, not
// a new delivery, finishes it), and give a piece whose worker stopped
// renewing its lease a task once the lease is older than the deadline;
// one whose worker died on its last try fails the lesson.
func TestRequeueChunks(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			job := startedLesson(t, d, course)
			lease, err := d.TakeLease(ctx, job.LessonID, job.Attempt, job.ID, "", "planner")
			if err != nil {
				t.Fatal(err)
			}
			pieces := []db.Chunk{
				{Index: 0, Kind: db.ChunkAudio, MaxTries: 2},
				{Index: 1, Kind: db.ChunkVideo, StartSeg: 0, Segs: 2, MaxTries: 2},
				{Index: 2, Kind: db.ChunkVideo, StartSeg: 2, Segs: 8, MaxTries: 2},
			}
			if _, err := d.CreatePlan(ctx, lease, "{}", pieces); err != nil {
				t.Fatal(err)
			}
			// A worker holds the audio piece.
			_, audio, err := d.ClaimChunk(ctx, job.ID, db.ChunkAudio, "worker-a", time.Now().Add(-time.Minute))
			if err != nil || audio.Index != 0 {
				t.Fatalf("claim: %+v, %v; want the audio piece", audio, err)
			}
			tq := &Client{Queue: q, DB: d, Logger: logger, JobDeadline: time.Hour}
			if err := requeueUnfinishedLessons(ctx, tq, logger); err != nil {
				t.Fatal(err)
			}
			want := []string{chunkTaskID(job.ID, 1, 0), chunkTaskID(job.ID, 2, 0)}
			if diff := cmp.Diff(want, pendingTasks(t, q, QueueTranscode)); diff != "" {
				t.Errorf("pending tasks with a live worker on the audio (-want +got):\n%s", diff)
			}

			t.Run("DeadWorkersPiece", func(t *testing.T) {
				// With a deadline of 1 ns the audio's lease is expired.
				tq.JobDeadline = time.Nanosecond
				if err := requeueUnfinishedLessons(ctx, tq, logger); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, pendingTasks(t, q, QueueTranscode)); diff != "" {
					t.Errorf("pending transcode tasks after the audio's worker died (-want +got):\n%s", diff)
				}
				// The audio piece goes back on its own lane, as the audio piece.
				audioTask := chunkTaskID(job.ID, 0, 1)
				if diff := cmp.Diff([]string{audioTask}, pendingTasks(t, q, QueueAudio)); diff != "" {
					t.Errorf("pending audio tasks after the audio's worker died (-want +got):\n%s", diff)
				}
				if info, err := q.inspector.GetTaskInfo(QueueAudio, audioTask); err != nil || !strings.Contains(string(info.Payload), `"audio":true`) {
					t.Errorf("the requeued audio task: %v; want a payload that claims the audio piece", err)
				}
			})
			t.Run("DiedOnLastTry", func(t *testing.T) {
				_, again, err := d.ClaimChunk(ctx, job.ID, db.ChunkAudio, "worker-b", time.Now().Add(time.Second))
				if err != nil || again.Index != 0 || again.Tries != 2 {
					t.Fatalf("claim of the dead worker's piece: %+v, %v; want the audio at its second try", again, err)
				}
				if err := requeueUnfinishedLessons(ctx, tq, logger); err != nil {
					t.Fatal(err)
				}
				l, err := d.FindLessonByID(ctx, job.LessonID)
				if err != nil {
					t.Fatal(err)
				}
				if l.Status != lectern.LessonFailed || l.Error != deadWorkerReason {
					t.Errorf("lesson %s (%q); want failed, its workers stopped responding", l.Status, l.Error)
				}
			})
		})
	}
}
