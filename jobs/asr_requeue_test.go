package jobs

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// captionedLesson is a lesson whose transcode was published with
// automatic captions in English, whose job is now queued.
func captionedLesson(t *testing.T, d *db.DB, course *lectern.Course) *lectern.ASRJob {
	t.Helper()
	ctx := context.Background()
	job := startedLesson(t, d, course)
	if err := d.MarkTranscoding(ctx, job.LessonID, job.Attempt, job.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PublishLesson(ctx, job.LessonID, job.Attempt, db.Publication{JobID: job.ID,
		OutputPrefix: lectern.OutputPrefix(job.LessonID, job.Attempt), ASRLang: "en"}); err != nil {
		t.Fatal(err)
	}
	a, err := d.FindASRJob(ctx, job.LessonID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRequeueUnfinishedCaptions: the automatic captions the queue lost
// (never enqueued, or archived while their job was unfinished) are put
// back on the captions queue; one still there is left alone, and a
// finished one is not run again.
func TestRequeueUnfinishedCaptions(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, course := newCourseDB(t, t.TempDir())
			q := openTestQueue(t, redisURL(t))
			a, b, c, done := captionedLesson(t, d, course), captionedLesson(t, d, course),
				captionedLesson(t, d, course), captionedLesson(t, d, course)
			for _, j := range []*lectern.ASRJob{b, c} {
				task, err := newRecognizeTask(transcode.RecognizePayload{LessonID: j.LessonID, Attempt: j.Attempt})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := q.client.Enqueue(task); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.inspector.ArchiveTask(QueueCaptions, c.TaskID); err != nil {
				t.Fatal(err)
			}
			if _, err := d.MarkRecognizing(ctx, done.LessonID, done.Attempt); err != nil {
				t.Fatal(err)
			}
			if err := d.FailRecognition(ctx, done.LessonID, done.Attempt, "The speech recognizer failed."); err != nil {
				t.Fatal(err)
			}

			if err := requeueUnfinishedCaptions(ctx, q, d, logger); err != nil {
				t.Fatalf("requeueUnfinishedCaptions: %v", err)
			}
			want := []string{a.TaskID, b.TaskID, c.TaskID}
			slices.Sort(want)
			if diff := cmp.Diff(want, pendingTasks(t, q, QueueCaptions)); diff != "" {
				t.Errorf("pending captions tasks (-want +got):\n%s", diff)
			}
			t.Run("AgainChangesNothing", func(t *testing.T) {
				if err := requeueUnfinishedCaptions(ctx, q, d, logger); err != nil {
					t.Fatalf("second requeueUnfinishedCaptions: %v", err)
				}
				if diff := cmp.Diff(want, pendingTasks(t, q, QueueCaptions)); diff != "" {
					t.Errorf("pending captions tasks (-want +got):\n%s", diff)
				}
			})
		})
	}
}
