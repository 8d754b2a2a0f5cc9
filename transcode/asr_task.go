package transcode

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// TypeRecognize is the task type of a lesson's automatic captions.
const TypeRecognize = "lesson:captions"

// QueueCaptions is the queue of automatic caption tasks. A worker serves
// it with slots of its own (LECTERN_ASR_CONCURRENCY), so speech
// recognition never delays a transcode.
const QueueCaptions = "captions"

// Retry and time limits of automatic captions.
const (
	// asrRetryBase is the wait before the first retry; the second waits
	// twice as long. A recognizer fails again and again for a cause an
	// admin must fix, or passes within seconds (memory taken by a
	// transcode that has since finished): minutes of backoff help neither.
	asrRetryBase = 10 * time.Second
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

// RecognizeRetryDelay is the captions worker's delay before retry n
// (counting from 1) of a failed try: 10 s, then 20 s.
func RecognizeRetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	return time.Duration(max(n, 1)) * asrRetryBase
}

// RecognizePayload identifies the automatic captioning of a lesson's
// transcode attempt.
type RecognizePayload struct {
	LessonID string `json:"lesson_id"`
	Attempt  int    `json:"attempt"`
}

func (p RecognizePayload) validate() error {
	if p.LessonID == "" || p.Attempt < 1 {
		return lectern.Errorf(lectern.EINVALID, "captions payload needs a lesson and an attempt ≥ 1")
	}
	return nil
}

// NewRecognizeTask returns the task that captions attempt p.Attempt of a
// lesson, on QueueCaptions, with the task ID db.ASRTaskID (so the queue
// refuses the same attempt twice), retried lectern.MaxASRTries-1 times.
// Its timeout fits the longest recording Probe accepts by default; the
// handler sets the real one from the lesson's duration.
func NewRecognizeTask(p RecognizePayload) (*asynq.Task, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode captions payload: %w", err)
	}
	return asynq.NewTask(TypeRecognize, b,
		asynq.Queue(QueueCaptions),
		asynq.TaskID(db.ASRTaskID(p.LessonID, p.Attempt)),
		asynq.MaxRetry(lectern.MaxASRTries-1),
		asynq.Timeout(RecognizeTimeout(DefaultLimits().MaxDuration.Milliseconds())+time.Hour),
		asynq.Retention(taskRetention),
	), nil
}

// ParseRecognizePayload decodes a captions task's payload; EINVALID when
// it cannot be decoded.
func ParseRecognizePayload(t *asynq.Task) (RecognizePayload, error) {
	var p RecognizePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, lectern.Errorf(lectern.EINVALID, "malformed captions payload: %v", err)
	}
	return p, p.validate()
}
