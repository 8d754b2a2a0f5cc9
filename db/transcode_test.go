package db_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// publication is what a test attempt publishes.
func publication(l *lectern.Lesson, job *lectern.Job) db.Publication {
	return db.Publication{
		JobID:        job.ID,
		OutputPrefix: lectern.OutputPrefix(l.ID, job.Attempt),
		Renditions: lectern.Renditions{
			{Name: "720p", Kind: lectern.RenditionVideo, Width: 1280, Height: 720, FrameRate: 30, Codecs: "avc1.64001f", Bandwidth: 3_000_000, AverageBandwidth: 1_500_000},
			{Name: "audio", Kind: lectern.RenditionAudio, Codecs: "mp4a.40.2", Bandwidth: 130_000, AverageBandwidth: 128_000},
		},
		Poster:     "poster.jpg",
		Thumbnails: "thumbs/thumbs.vtt",
		DurationMS: 10_000 + int64(job.Attempt),
	}
}

func mustStart(tb testing.TB, d *db.DB, l *lectern.Lesson, upload string) (*lectern.Lesson, *lectern.Job, string) {
	tb.Helper()
	got, job, prev, err := d.StartTranscode(context.Background(), l.ID, lectern.SourceKey(l.ID, upload))
	if err != nil {
		tb.Fatalf("StartTranscode: %v", err)
	}
	return got, job, prev
}

func mustLesson(tb testing.TB, d *db.DB, id string) *lectern.Lesson {
	tb.Helper()
	l, err := d.FindLessonByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("FindLessonByID: %v", err)
	}
	return l
}

func mustJob(tb testing.TB, d *db.DB, id string) *lectern.Job {
	tb.Helper()
	j, err := d.FindJobByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("FindJobByID: %v", err)
	}
	return j
}

func TestTranscodeLifeCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))

		t.Run("StartMarkPublish", func(t *testing.T) {
			l := newLesson(t, d, course)
			now := clock.Peek()
			started, job, prev := mustStart(t, d, l, "up1")
			if prev != "" {
				t.Errorf("previous source of a first upload = %q, want none", prev)
			}
			wantJob := &lectern.Job{ID: job.ID, LessonID: l.ID, Attempt: 1, TaskID: db.TranscodeTaskID(l.ID, 1),
				State: lectern.JobQueued, MaxTries: lectern.MaxTranscodeTries, CreatedAt: stored(now)}
			if diff := cmp.Diff(wantJob, job); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantJob, mustJob(t, d, job.ID)); diff != "" {
				t.Errorf("stored job (-want +got):\n%s", diff)
			}
			if started.Status != lectern.LessonQueued || started.Attempt != 1 || started.SourceKey != lectern.SourceKey(l.ID, "up1") {
				t.Errorf("after start: status %q, attempt %d, source %q; want queued, 1, the upload", started.Status, started.Attempt, started.SourceKey)
			}

			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-a"); err != nil {
				t.Fatalf("MarkTranscoding: %v", err)
			}
			running := mustJob(t, d, job.ID)
			if running.State != lectern.JobRunning || running.WorkerHost != "worker-a" || running.StartedAt == nil {
				t.Errorf("job after mark: state %q, host %q, started %v; want running on worker-a, started", running.State, running.WorkerHost, running.StartedAt)
			}
			if s := mustLesson(t, d, l.ID).Status; s != lectern.LessonProcessing {
				t.Errorf("lesson status after mark = %q, want processing", s)
			}

			pub := publication(l, job)
			prevPrefix, err := d.PublishLesson(ctx, l.ID, 1, pub)
			if err != nil {
				t.Fatalf("PublishLesson: %v", err)
			}
			if prevPrefix != "" {
				t.Errorf("previous prefix of a first publication = %q, want none", prevPrefix)
			}
			got := mustLesson(t, d, l.ID)
			want := lectern.Lesson{Status: lectern.LessonReady, OutputPrefix: pub.OutputPrefix, Renditions: pub.Renditions,
				Poster: pub.Poster, Thumbnails: pub.Thumbnails, DurationMS: pub.DurationMS, Attempt: 1}
			gotPart := lectern.Lesson{Status: got.Status, OutputPrefix: got.OutputPrefix, Renditions: got.Renditions,
				Poster: got.Poster, Thumbnails: got.Thumbnails, DurationMS: got.DurationMS, Attempt: got.Attempt, Error: got.Error}
			if diff := cmp.Diff(want, gotPart); diff != "" {
				t.Errorf("published lesson (-want +got):\n%s", diff)
			}
			done := mustJob(t, d, job.ID)
			if done.State != lectern.JobSucceeded || done.Percent != 100 || done.FinishedAt == nil {
				t.Errorf("job after publish: state %q, percent %v, finished %v; want succeeded at 100, finished", done.State, done.Percent, done.FinishedAt)
			}
		})

		t.Run("RetryKeepsFirstStart", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up1")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-a"); err != nil {
				t.Fatal(err)
			}
			first := mustJob(t, d, job.ID).StartedAt
			if err := d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-b"); err != nil {
				t.Fatalf("MarkTranscoding again (a retry): %v", err)
			}
			again := mustJob(t, d, job.ID)
			if !again.StartedAt.Equal(*first) || again.WorkerHost != "worker-b" {
				t.Errorf("after a retry: started %v (first %v), host %q; want the first start, worker-b", again.StartedAt, first, again.WorkerHost)
			}
		})

		t.Run("ReuploadKeepsOutputUntilPublished", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job1, _ := mustStart(t, d, l, "up1")
			if _, err := d.PublishLesson(ctx, l.ID, 1, publication(l, job1)); err != nil {
				t.Fatal(err)
			}
			started, job2, prev := mustStart(t, d, l, "up2")
			if prev != lectern.SourceKey(l.ID, "up1") {
				t.Errorf("previous source = %q, want the first upload", prev)
			}
			if started.Status != lectern.LessonQueued || started.OutputPrefix != lectern.OutputPrefix(l.ID, 1) || started.Attempt != 2 {
				t.Errorf("re-upload: status %q, output %q, attempt %d; want queued, still attempt 1's output, attempt 2",
					started.Status, started.OutputPrefix, started.Attempt)
			}
			prevPrefix, err := d.PublishLesson(ctx, l.ID, 2, publication(l, job2))
			if err != nil {
				t.Fatal(err)
			}
			if want := lectern.OutputPrefix(l.ID, 1); prevPrefix != want {
				t.Errorf("previous prefix = %q, want %q", prevPrefix, want)
			}
			if got := mustLesson(t, d, l.ID); got.OutputPrefix != lectern.OutputPrefix(l.ID, 2) || got.DurationMS != 10_002 {
				t.Errorf("after the second publication: output %q, duration %d; want attempt 2's", got.OutputPrefix, got.DurationMS)
			}
		})

		t.Run("StaleAttemptChangesNothing", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job1, _ := mustStart(t, d, l, "up1")
			if err := d.MarkTranscoding(ctx, l.ID, 1, job1.ID, "worker-a"); err != nil {
				t.Fatal(err)
			}
			_, job2, _ := mustStart(t, d, l, "up2")
			canceled := mustJob(t, d, job1.ID)
			if canceled.State != lectern.JobCanceled || canceled.FinishedAt == nil {
				t.Errorf("the replaced attempt's job: state %q, finished %v; want canceled, finished", canceled.State, canceled.FinishedAt)
			}
			beforeLesson, beforeJob1, beforeJob2 := mustLesson(t, d, l.ID), mustJob(t, d, job1.ID), mustJob(t, d, job2.ID)

			wantCode(t, d.MarkTranscoding(ctx, l.ID, 1, job1.ID, "worker-a"), lectern.ECONFLICT)
			_, err := d.PublishLesson(ctx, l.ID, 1, publication(l, job1))
			wantCode(t, err, lectern.ECONFLICT)
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job1.ID, "", lectern.FailureRefused, "too slow", "log"), lectern.ECONFLICT)
			// The stale attempt naming the current job changes it no more.
			wantCode(t, d.MarkTranscoding(ctx, l.ID, 1, job2.ID, "worker-a"), lectern.ECONFLICT)

			if diff := cmp.Diff(beforeLesson, mustLesson(t, d, l.ID)); diff != "" {
				t.Errorf("lesson changed by a stale attempt (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeJob1, mustJob(t, d, job1.ID)); diff != "" {
				t.Errorf("stale job changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeJob2, mustJob(t, d, job2.ID)); diff != "" {
				t.Errorf("current job changed by a stale attempt (-before +after):\n%s", diff)
			}
		})

		t.Run("StalePublishAfterNewerDoesNotOverwrite", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job1, _ := mustStart(t, d, l, "up1")
			_, job2, _ := mustStart(t, d, l, "up2")
			if _, err := d.PublishLesson(ctx, l.ID, 2, publication(l, job2)); err != nil {
				t.Fatal(err)
			}
			_, err := d.PublishLesson(ctx, l.ID, 1, publication(l, job1))
			wantCode(t, err, lectern.ECONFLICT)
			if got := mustLesson(t, d, l.ID).OutputPrefix; got != lectern.OutputPrefix(l.ID, 2) {
				t.Errorf("output after a stale publish = %q, want attempt 2's", got)
			}
		})

		t.Run("FailWithoutOutput", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up1")
			if err := d.FailTranscode(ctx, l.ID, 1, job.ID, "", lectern.FailureRefused, "This looks like a playlist, not a video file", "ffprobe said no"); err != nil {
				t.Fatalf("FailTranscode: %v", err)
			}
			got := mustLesson(t, d, l.ID)
			if got.Status != lectern.LessonFailed || got.Error != "This looks like a playlist, not a video file" {
				t.Errorf("lesson: status %q, error %q; want failed with the reason", got.Status, got.Error)
			}
			j := mustJob(t, d, job.ID)
			if j.State != lectern.JobFailed || j.Error != got.Error || j.LogTail != "ffprobe said no" || j.FinishedAt == nil {
				t.Errorf("job: %+v; want failed, finished, with the reason and log", j)
			}
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job.ID, "", lectern.FailureRefused, "again", ""), lectern.ECONFLICT)
			wantCode(t, d.MarkTranscoding(ctx, l.ID, 1, job.ID, "worker-a"), lectern.ECONFLICT)
			if got := mustLesson(t, d, l.ID); got.Error != "This looks like a playlist, not a video file" {
				t.Errorf("error after a second failure of the same job = %q, want the first reason", got.Error)
			}
		})

		t.Run("FailedReuploadKeepsOldOutput", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job1, _ := mustStart(t, d, l, "up1")
			if _, err := d.PublishLesson(ctx, l.ID, 1, publication(l, job1)); err != nil {
				t.Fatal(err)
			}
			_, job2, _ := mustStart(t, d, l, "up2")
			if err := d.FailTranscode(ctx, l.ID, 2, job2.ID, "", lectern.FailureRefused, "The file is empty", ""); err != nil {
				t.Fatal(err)
			}
			got := mustLesson(t, d, l.ID)
			if got.Status != lectern.LessonReady || got.OutputPrefix != lectern.OutputPrefix(l.ID, 1) || got.Error != "The file is empty" {
				t.Errorf("lesson: status %q, output %q, error %q; want ready on attempt 1's output, with the reason",
					got.Status, got.OutputPrefix, got.Error)
			}
		})

		t.Run("DeletedLesson", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, job, _ := mustStart(t, d, l, "up1")
			if err := d.DeleteLesson(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
			wantCode(t, d.MarkTranscoding(ctx, l.ID, 1, job.ID, "w"), lectern.ENOTFOUND)
			_, err := d.PublishLesson(ctx, l.ID, 1, publication(l, job))
			wantCode(t, err, lectern.ENOTFOUND)
			wantCode(t, d.FailTranscode(ctx, l.ID, 1, job.ID, "", lectern.FailureRefused, "x", ""), lectern.ENOTFOUND)
			_, _, _, err = d.StartTranscode(ctx, l.ID, lectern.SourceKey(l.ID, "up2"))
			wantCode(t, err, lectern.ENOTFOUND)
		})

		t.Run("Invalid", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, _, _, err := d.StartTranscode(ctx, l.ID, "")
			wantCode(t, err, lectern.EINVALID)
			_, job, _ := mustStart(t, d, l, "up1")
			pub := publication(l, job)
			pub.OutputPrefix = "../elsewhere/"
			_, err = d.PublishLesson(ctx, l.ID, 1, pub)
			wantCode(t, err, lectern.EINVALID)
			if got := mustLesson(t, d, l.ID); got.Status != lectern.LessonQueued || got.OutputPrefix != "" {
				t.Errorf("after refused calls: status %q, output %q; want queued, none", got.Status, got.OutputPrefix)
			}
		})
	})
}

func TestFindUnfinishedJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		// queued: a fresh upload; running: a worker died mid-way;
		// replaced: its first attempt must not come back; done and
		// failed are finished.
		queued, running, replaced, done, failed := newLesson(t, d, course), newLesson(t, d, course),
			newLesson(t, d, course), newLesson(t, d, course), newLesson(t, d, course)
		newLesson(t, d, course) // never uploaded

		_, jq, _ := mustStart(t, d, queued, "u")
		_, jr, _ := mustStart(t, d, running, "u")
		if err := d.MarkTranscoding(ctx, running.ID, 1, jr.ID, "w"); err != nil {
			t.Fatal(err)
		}
		mustStart(t, d, replaced, "u1")
		_, jrep, _ := mustStart(t, d, replaced, "u2")
		_, jd, _ := mustStart(t, d, done, "u")
		if _, err := d.PublishLesson(ctx, done.ID, 1, publication(done, jd)); err != nil {
			t.Fatal(err)
		}
		_, jf, _ := mustStart(t, d, failed, "u")
		if err := d.FailTranscode(ctx, failed.ID, 1, jf.ID, "", lectern.FailureRefused, "bad", ""); err != nil {
			t.Fatal(err)
		}

		jobs, err := d.FindUnfinishedJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{jq.ID, jr.ID, jrep.ID}, jobIDs(jobs)); diff != "" {
			t.Errorf("unfinished jobs, oldest first (-want +got):\n%s", diff)
		}
		for _, j := range jobs {
			if j.TaskID != db.TranscodeTaskID(j.LessonID, j.Attempt) {
				t.Errorf("job %s: task ID %q, want %q", j.ID, j.TaskID, db.TranscodeTaskID(j.LessonID, j.Attempt))
			}
		}
	})
}
