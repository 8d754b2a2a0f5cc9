package transcode_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

// A failure that may pass (here, an ffmpeg that crashes) is retried by
// the queue, the job retrying meanwhile with the reason, and fails the
// lesson as exhausted, with a readable reason, after the queue's last
// retry.
func TestHandlerTransientFailureRetriedThenFailed(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	e := newHandlerEnv(t, "sqlite:"+t.TempDir()+"/lectern.db")
	e.Handler.Pipeline.FFmpeg = crashingFFmpeg(t)
	l := e.newLesson(t)
	job := e.upload(t, l, c.good)
	_, client := startQueue(t, e, e.Handler, 1)
	if err := client.EnqueueTranscode(context.Background(), job); err != nil {
		t.Fatal(err)
	}

	var j *lectern.Job
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if j = e.job(t, job.ID); j.State == lectern.JobFailed || time.Now().After(deadline) {
			break
		}
	}
	if j.State != lectern.JobFailed || j.Failure != lectern.FailureExhausted || j.Retries != 1 ||
		!strings.HasPrefix(j.Error, "Processing failed after 2 tries: encode") {
		t.Errorf("job: state %q, failure %q, retries %d, error %q; want failed (exhausted) after 1 retry, saying so",
			j.State, j.Failure, j.Retries, j.Error)
	}
	if got := e.lesson(t, l.ID); got.Status != lectern.LessonFailed || got.Error != j.Error {
		t.Errorf("lesson: status %q, error %q; want failed with the job's reason", got.Status, got.Error)
	}
	e.checkWorkDirEmpty(t)
}
