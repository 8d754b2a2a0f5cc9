package transcode_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// ffmpegWrapper writes a shell script named ffmpeg that runs body, in
// which $FFMPEG is the real ffmpeg, and returns its path.
func ffmpegWrapper(t *testing.T, body string) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	script := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nFFMPEG='"+ffmpeg+"'\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// crashingFFmpeg is an ffmpeg that crashes (SIGSEGV) as soon as it starts.
func crashingFFmpeg(t *testing.T) string {
	t.Helper()
	return ffmpegWrapper(t, "echo 'about to crash' >&2\nkill -SEGV $$\n")
}

// encoderlessFFmpeg is the real ffmpeg, asked for an encoder its build
// lacks wherever Lectern asks for libx264: what a server whose ffmpeg was
// built without x264 does.
func encoderlessFFmpeg(t *testing.T) string {
	t.Helper()
	return ffmpegWrapper(t, `n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift
  [ "$a" = libx264 ] && a=libnothing
  set -- "$@" "$a"
  n=$((n - 1))
done
exec "$FFMPEG" "$@"
`)
}

// relativeTo returns dir as a path relative to the working directory.
func relativeTo(t *testing.T, dir string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// A server that is not set up to transcode fails the job at once, with
// kind setup, a reason saying an admin must fix it, and no retry.
func TestHandlerSetupFailureFailsAtOnce(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	tests := []struct {
		name string
		set  func(t *testing.T, h *transcode.Handler)
		// detail is part of the reason: what is wrong, for the admin.
		detail string
	}{
		{"MissingEncoder", func(t *testing.T, h *transcode.Handler) { h.Pipeline.FFmpeg = encoderlessFFmpeg(t) }, "Unknown encoder"},
		{"FFmpegNotFound", func(t *testing.T, h *transcode.Handler) { h.Pipeline.FFmpeg = "/nonexistent/ffmpeg" }, "no such file"},
		{"FFprobeNotOnPATH", func(t *testing.T, h *transcode.Handler) { h.Pipeline.FFprobe = "ffprobe-not-installed" }, "executable file not found"},
		// What the quick start did before its data dir was made absolute.
		{"RelativeWorkDir", func(t *testing.T, h *transcode.Handler) { h.TempDir = relativeTo(t, h.TempDir) }, "is not absolute"},
	}
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := *e.Handler
				p := *h.Pipeline
				h.Pipeline = &p
				tt.set(t, &h)
				l := e.newLesson(t)
				job := e.upload(t, l, c.good)
				err := h.ProcessTranscode(t.Context(), transcode.TranscodePayload{LessonID: l.ID, JobID: job.ID, Attempt: job.Attempt}, transcode.Delivery{})
				if !errors.Is(err, transcode.ErrSkipRetry) {
					t.Errorf("ProcessTranscode = %v, want an error wrapping transcode.ErrSkipRetry", err)
				}
				j := e.job(t, job.ID)
				if j.State != lectern.JobFailed || j.Failure != lectern.FailureSetup || j.Retries != 0 ||
					!strings.Contains(j.Error, "An admin must fix the server, then retry") || !strings.Contains(j.Error, tt.detail) {
					t.Errorf("job: state %q, failure %q, retries %d, error %q; want failed at once (setup), saying what and that an admin must fix it",
						j.State, j.Failure, j.Retries, j.Error)
				}
				if got := e.lesson(t, l.ID); got.Status != lectern.LessonFailed || got.Error != j.Error {
					t.Errorf("lesson: status %q, error %q; want failed with the job's reason", got.Status, got.Error)
				}
				e.checkWorkDirEmpty(t)
			})
		}
	})
}

// A failure that may pass leaves the job retrying, with the reason, the
// try it was and when the next starts; the last try fails it as
// exhausted. No queue here: the job's own count of tries decides.
func TestHandlerRetryingThenExhausted(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		e.Handler.Pipeline.FFmpeg = crashingFFmpeg(t)
		l := e.newLesson(t)
		job := e.upload(t, l, c.good)
		for try := 1; try < lectern.MaxTranscodeTries; try++ {
			before := time.Now()
			err := e.run(t, job)
			if err == nil || errors.Is(err, transcode.ErrSkipRetry) {
				t.Fatalf("try %d: ProcessTranscode = %v, want an error the queue retries", try, err)
			}
			j := e.job(t, job.ID)
			if j.State != lectern.JobRetrying || j.Retries != try || j.Failure != "" || !strings.HasPrefix(j.Error, "encode: signal: segmentation fault") ||
				!strings.Contains(j.LogTail, "about to crash") {
				t.Fatalf("after try %d: state %q, retries %d, failure %q, error %q, log %q; want retrying, %d, none, the crash",
					try, j.State, j.Retries, j.Failure, j.Error, j.LogTail, try)
			}
			// Retry n waits RetryDelay(n-1, …), as the worker computes it.
			delay := transcode.RetryDelay(try-1, err)
			if j.RetryAt == nil || j.RetryAt.Before(before.Add(delay).Add(-time.Second)) || j.RetryAt.After(time.Now().Add(delay).Add(time.Second)) {
				t.Errorf("after try %d: retry at %v, want about %s from now", try, j.RetryAt, delay)
			}
			if got := e.lesson(t, l.ID); got.Status != lectern.LessonProcessing || got.Error != "" {
				t.Errorf("lesson of a retrying job: status %q, error %q; want processing, no error", got.Status, got.Error)
			}
		}
		err := e.run(t, job)
		if !errors.Is(err, transcode.ErrSkipRetry) {
			t.Errorf("last try: ProcessTranscode = %v, want ErrSkipRetry", err)
		}
		j := e.job(t, job.ID)
		want := "Processing failed after 6 tries: encode: signal: segmentation fault"
		if j.State != lectern.JobFailed || j.Failure != lectern.FailureExhausted || j.RetryAt != nil || !strings.HasPrefix(j.Error, want) {
			t.Errorf("after the last try: state %q, failure %q, retry at %v, error %q; want failed, exhausted, none, %q…",
				j.State, j.Failure, j.RetryAt, j.Error, want)
		}
		e.checkWorkDirEmpty(t)
	})
}

// A try that runs past its time limit is killed (ffmpeg's whole process
// group), tried once more, and then fails the job with "took too long".
func TestHandlerTimeoutRetriedOnceThenFails(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	script, pidFile := stallingFFmpeg(t, true)
	e.Handler.Pipeline.FFmpeg = script
	e.Handler.TimeLimit = func(int64) time.Duration { return time.Second }
	l := e.newLesson(t)
	job := e.upload(t, l, c.good)

	err := e.run(t, job)
	if err == nil || errors.Is(err, transcode.ErrSkipRetry) {
		t.Fatalf("first timeout: ProcessTranscode = %v, want an error the queue retries once", err)
	}
	wantDead(t, pidFile)
	j := e.job(t, job.ID)
	if j.State != lectern.JobRetrying || !strings.HasPrefix(j.Error, "Processing took too long") || j.RetryAt == nil {
		t.Fatalf("after the first timeout: state %q, error %q, retry at %v; want retrying, took too long", j.State, j.Error, j.RetryAt)
	}
	os.Remove(pidFile)
	err = e.run(t, job)
	if !errors.Is(err, transcode.ErrSkipRetry) {
		t.Errorf("second timeout: ProcessTranscode = %v, want ErrSkipRetry", err)
	}
	wantDead(t, pidFile)
	j = e.job(t, job.ID)
	if j.State != lectern.JobFailed || j.Failure != lectern.FailureTimeout || j.Retries != 1 || !strings.HasPrefix(j.Error, "Processing took too long") {
		t.Errorf("after the second timeout: state %q, failure %q, retries %d, error %q; want failed, timeout, 1, took too long",
			j.State, j.Failure, j.Retries, j.Error)
	}
	e.checkWorkDirEmpty(t)
}
