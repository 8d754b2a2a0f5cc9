package transcode_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// stallingFFmpeg writes a wrapper around the real ffmpeg that records its
// pid and stops itself (SIGSTOP, as a hung ffmpeg would sit) on its first
// run, or on every run when always is set; later runs are the real ffmpeg.
func stallingFFmpeg(t *testing.T, always bool) (script, pidFile string) {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	dir := t.TempDir()
	pidFile, marker := filepath.Join(dir, "pid"), filepath.Join(dir, "stalled-once")
	cond := `[ ! -e '` + marker + `' ]`
	if always {
		cond = "true"
	}
	script = filepath.Join(dir, "ffmpeg")
	body := "#!/bin/sh\nif " + cond + "; then\n  touch '" + marker + "'\n  echo $$ > '" + pidFile + "'\n  kill -STOP $$\nfi\nexec '" + ffmpeg + "' \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, pidFile
}

// wantDead fails unless the process whose pid is in pidFile is gone.
func wantDead(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("ffmpeg never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stalled ffmpeg (pid %d) still exists: kill 0 = %v", pid, err)
	}
}

func TestHandlerWatchdogKillsStalledFFmpegAndRetries(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	script, pidFile := stallingFFmpeg(t, false)
	e.Handler.Pipeline.FFmpeg = script
	// Long enough that a healthy ffmpeg on a loaded machine always reports
	// progress within it; the stalled try never does, whatever the limit.
	e.Handler.StallTimeout = 5 * time.Second
	l := e.newLesson(t)
	job := e.upload(t, l, c.good)

	// A real queue, so that the retry is the queue's.
	_, client := startQueue(t, e, e.Handler, 0)
	if err := client.EnqueueTranscode(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for e.job(t, job.ID).State != lectern.JobSucceeded {
		if time.Now().After(deadline) {
			t.Fatalf("job never succeeded: %+v", e.job(t, job.ID))
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantDead(t, pidFile)
	if j := e.job(t, job.ID); j.Retries != 1 {
		t.Errorf("job retries = %d, want 1 (the stalled try)", j.Retries)
	}
	// The retry is the attempt's second delivery: its own output, hls/2/.
	e.checkPublished(t, e.lesson(t, l.ID), 2)
}

func TestHandlerStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		script, pidFile := stallingFFmpeg(t, true)
		e.Handler.Pipeline.FFmpeg = script
		e.Handler.HeartbeatEvery = 100 * time.Millisecond
		l := e.newLesson(t)
		job := e.upload(t, l, c.good)
		done := make(chan error, 1)
		go func() { done <- e.run(t, job) }()
		// Cancel once ffmpeg runs (its pid file appears).
		for {
			if _, err := os.Stat(pidFile); err == nil {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("transcode ended before ffmpeg ran: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		if _, err := e.DB.CancelJob(context.Background(), job.ID, "Processing was canceled by an admin"); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("canceled transcode returned %v, want nil (nothing to retry)", err)
		}
		wantDead(t, pidFile)
		if j := e.job(t, job.ID); j.State != lectern.JobCanceled {
			t.Errorf("job state = %q, want canceled", j.State)
		}
		if keys := e.keys(t, lectern.OutputPrefix(l.ID, 1)); len(keys) != 0 {
			t.Errorf("a canceled transcode published %v", keys)
		}
		e.checkWorkDirEmpty(t)
	})
}
