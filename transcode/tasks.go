package transcode

import (
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// The payloads of the tasks the handlers run. The jobs package puts them
// on the queue and hands them to the handlers with a Delivery.

// TranscodePayload identifies one transcode attempt of a lesson.
type TranscodePayload struct {
	LessonID string `json:"lesson_id"`
	JobID    string `json:"job_id"`
	Attempt  int    `json:"attempt"`
}

// Validate reports, as an EINVALID error, a payload that names no lesson,
// job or attempt.
func (p TranscodePayload) Validate() error {
	if p.LessonID == "" || p.JobID == "" || p.Attempt < 1 {
		return lectern.Errorf(lectern.EINVALID, "transcode payload needs a lesson, a job and an attempt ≥ 1")
	}
	return nil
}

// ChunkPayload names a chunked transcode's job; Index is the piece the
// task was enqueued for (it names the task, the claim picks the piece:
// whichever of the job's plan is most urgent, so that a seek can move a
// piece to the front).
type ChunkPayload struct {
	LessonID string `json:"lesson_id"`
	JobID    string `json:"job_id"`
	Attempt  int    `json:"attempt"`
	Index    int    `json:"index"`
	// Audio marks the audio piece's task: it claims only the audio piece,
	// and the others only video pieces, so that the audio runs on a lane
	// of its own beside a worker's transcodes.
	Audio bool `json:"audio,omitempty"`
}

// Kind is the kind of piece the task claims (db.ChunkAudio or
// db.ChunkVideo).
func (p ChunkPayload) Kind() string {
	if p.Audio {
		return db.ChunkAudio
	}
	return db.ChunkVideo
}

// Validate reports, as an EINVALID error, a payload that names no lesson,
// job or attempt.
func (p ChunkPayload) Validate() error {
	if p.LessonID == "" || p.JobID == "" || p.Attempt < 1 {
		return lectern.Errorf(lectern.EINVALID, "chunk payload needs a lesson, a job and an attempt ≥ 1")
	}
	return nil
}

// RecognizePayload identifies the automatic captioning of a lesson's
// transcode attempt.
type RecognizePayload struct {
	LessonID string `json:"lesson_id"`
	Attempt  int    `json:"attempt"`
}

// Validate reports, as an EINVALID error, a payload that names no lesson
// or attempt.
func (p RecognizePayload) Validate() error {
	if p.LessonID == "" || p.Attempt < 1 {
		return lectern.Errorf(lectern.EINVALID, "captions payload needs a lesson and an attempt ≥ 1")
	}
	return nil
}

// Retry delays of transcodes.
const (
	// retryBase and retryCap bound RetryDelay.
	retryBase = 30 * time.Second
	retryCap  = 30 * time.Minute
)

// RetryDelay is the delay before retry n (counting from 1) of a failed
// transcode: 30 s, doubling each time, capped at 30 minutes. A transcode
// fails transiently when a worker, the disk or storage is in trouble,
// which takes minutes rather than seconds to pass. (The worker retries a
// task whose worker died sooner; see jobs.)
func RetryDelay(n int, _ error) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

// Time limits of automatic captions.
const (
	// asrTimeoutBase and asrTimeoutFactor make a try's time limit: a
	// recognizer may take asrTimeoutFactor times the recording's length,
	// plus asrTimeoutBase to load its model. whisper.cpp's small model on
	// two cores runs at about real time; pocketsphinx faster.
	asrTimeoutBase   = 2 * time.Minute
	asrTimeoutFactor = 4
)

// RecognizeTimeout is how long one try of speech recognition of a
// recording of durationMS may run: the sound's extraction and the
// recognizer together.
func RecognizeTimeout(durationMS int64) time.Duration {
	return asrTimeoutBase + asrTimeoutFactor*time.Duration(max(durationMS, 0))*time.Millisecond
}
