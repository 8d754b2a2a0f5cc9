package server

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// transcodeJSON is everything people are told about a transcode job's
// state, in the one shape the lesson API, the lesson list and the admin
// jobs API share; the pages render from it.
type transcodeJSON struct {
	State lectern.JobState `json:"state"`
	// Percent is the progress of the current try, 0–100.
	Percent float64 `json:"percent"`
	// Try is the try running or next (1-based), of MaxTries.
	Try      int `json:"try"`
	MaxTries int `json:"max_tries"`
	// QueuePosition is set for a queued job only: 1 is the next to start.
	QueuePosition *int `json:"queue_position"`
	// RetryAt is set for a retrying job only: when its next try starts.
	RetryAt *time.Time `json:"retry_at"`
	// Error says why the last try failed (retrying) or why the job failed
	// or was canceled; "" in other states.
	Error string `json:"error"`
	// Failure is the kind of failure of a failed or canceled job.
	Failure lectern.JobFailure `json:"failure"`
	// Advice says what to do next, for a teacher; "" when nothing.
	Advice string `json:"advice"`
	// Retryable says whether an admin's retry could change the outcome.
	Retryable bool `json:"retryable"`
}

// Advice for teachers, by failure.
const (
	adviceRetrying  = "Nothing to do for now: Lectern tries again by itself."
	adviceRefused   = "Export the recording again as MP4 (H.264 video, AAC audio) and upload that file."
	adviceSetup     = "This is a problem on the server, not with your file. An admin has been shown the details; once it is fixed they can retry it."
	adviceExhausted = "Lectern tried several times and gave up; this is usually a passing problem on the server, not your file. An admin can retry it from the jobs page, or upload the file again."
	adviceTimeout   = "Processing took longer than allowed, twice. Upload a shorter recording (or split it into parts, one lesson each), or ask an admin to retry it when the server is less busy."
	adviceCanceled  = "Processing was stopped before it finished. Upload the file again to start over, or ask an admin to retry it."
)

// toTranscodeJSON tells people the state of job j.
func toTranscodeJSON(j *db.JobStatus) *transcodeJSON {
	maxTries := j.MaxTries
	if maxTries < 1 {
		maxTries = lectern.MaxTranscodeTries
	}
	out := &transcodeJSON{
		State:    j.State,
		Percent:  j.Percent,
		Try:      min(j.Retries+1, maxTries),
		MaxTries: maxTries,
	}
	switch j.State {
	case lectern.JobQueued:
		out.Percent = 0
		out.QueuePosition = j.QueuePosition
	case lectern.JobRetrying:
		out.Percent = 0
		out.RetryAt = j.RetryAt
		out.Error = j.Error
		out.Advice = adviceRetrying
	case lectern.JobSucceeded:
		out.Percent = 100
	case lectern.JobFailed, lectern.JobCanceled:
		out.Error, out.Failure = j.Error, j.Failure
		if out.Failure == "" && j.State == lectern.JobCanceled {
			out.Failure = lectern.FailureCanceled
		}
		out.Advice = failureAdvice(out.Failure)
		out.Retryable = out.Failure != lectern.FailureRefused
	}
	return out
}

// failureAdvice says what a teacher can do about a failure of kind f.
func failureAdvice(f lectern.JobFailure) string {
	switch f {
	case lectern.FailureRefused:
		return adviceRefused
	case lectern.FailureSetup:
		return adviceSetup
	case lectern.FailureTimeout:
		return adviceTimeout
	case lectern.FailureCanceled:
		return adviceCanceled
	}
	return adviceExhausted
}

// lessonTranscode returns the state of the lesson's current transcode
// job, or nil when nothing was ever uploaded to it.
func (s *Server) lessonTranscode(ctx context.Context, lessonID string) (*transcodeJSON, error) {
	j, err := s.db.FindCurrentJob(ctx, lessonID)
	switch {
	case lectern.ErrorCode(err) == lectern.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("find the lesson's transcode: %w", err)
	}
	return toTranscodeJSON(j), nil
}
