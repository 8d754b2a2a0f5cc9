package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// TypeRecognize is the task type of a lesson's automatic captions.
const TypeRecognize = "lesson:captions"

// QueueCaptions is the queue of automatic caption tasks. A worker serves
// it with slots of its own (LECTERN_ASR_CONCURRENCY), so speech
// recognition never delays a transcode.
const QueueCaptions = "captions"

// asrRetryBase is the wait before the first retry of automatic captions;
// the second waits twice as long. A recognizer fails again and again for
// a cause an admin must fix, or passes within seconds (memory taken by a
// transcode that has since finished): minutes of backoff help neither.
const asrRetryBase = 10 * time.Second

// recognizeRetryDelay is the captions worker's delay before retry n
// (counting from 1) of a failed try: 10 s, then 20 s.
func recognizeRetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	return time.Duration(max(n, 1)) * asrRetryBase
}

// newRecognizeTask returns the task that captions attempt p.Attempt of a
// lesson, on QueueCaptions, with the task ID db.ASRTaskID (so the queue
// refuses the same attempt twice), retried lectern.MaxASRTries-1 times.
// Its timeout fits the longest recording Probe accepts by default; the
// handler sets the real one from the lesson's duration.
func newRecognizeTask(p transcode.RecognizePayload) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
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
		asynq.Timeout(transcode.RecognizeTimeout(transcode.DefaultLimits().MaxDuration.Milliseconds())+time.Hour),
		asynq.Retention(taskRetention),
	), nil
}

// parseRecognizePayload decodes a captions task's payload; EINVALID when
// it cannot be decoded.
func parseRecognizePayload(t *asynq.Task) (transcode.RecognizePayload, error) {
	return parsePayload[transcode.RecognizePayload](t, "captions")
}
