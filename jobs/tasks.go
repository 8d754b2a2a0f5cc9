package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// TypeTranscode is the task type of a lesson transcode.
const TypeTranscode = "lesson:transcode"

// The transcode queues, by priority. A worker takes from them in strict
// priority order (queuePriorities): a short lesson or a re-transcode
// waits for no 3-hour upload, and a long upload waits only while shorter
// work is pending. queueOf picks a task's queue.
const (
	// QueueCritical holds re-transcodes (re-uploads, admin retries) and
	// small recordings: what a teacher is waiting on right now.
	QueueCritical = "transcode_critical"
	// QueueTranscode holds ordinary uploads, and any task whose recording
	// could not be sized. newTranscodeTask puts tasks here.
	QueueTranscode = "transcode"
	// QueueLong holds recordings of LongSourceBytes or more, which take
	// hours to encode.
	QueueLong = "transcode_long"
	// QueueAudio holds the audio pieces of chunked transcodes, whatever
	// their lesson's queue: every transcode worker serves it on a slot of
	// its own (audioSlots), so that a lesson's audio, whose first seconds
	// it needs to play, never waits for a transcode slot, nor holds one.
	QueueAudio = "transcode_audio"
)

// audioSlots is how many audio pieces a transcode worker runs at once,
// beside its transcodes: one AAC run takes one core at most, briefly.
const audioSlots = 1

// audioLane is the queue a transcode worker serves on its audioSlots.
func audioLane() map[string]int { return map[string]int{QueueAudio: 1} }

// Sizes that pick a transcode's queue. At the bitrates of screen and
// camera lecture recordings (2–3 Mbit/s), SmallSourceBytes is about ten
// minutes and LongSourceBytes about an hour.
const (
	SmallSourceBytes = 200 << 20
	LongSourceBytes  = 1 << 30
)

// Queues lists every queue a transcode task may be on, highest priority
// first, then the audio pieces' queue.
func Queues() []string { return []string{QueueCritical, QueueTranscode, QueueLong, QueueAudio} }

// queuePriorities are the queues' priorities for asynq.Config.Queues; the
// worker runs them with StrictPriority, so a higher one is always served
// first.
func queuePriorities() map[string]int {
	return map[string]int{QueueCritical: 6, QueueTranscode: 3, QueueLong: 1}
}

// queueOf picks the queue of attempt attempt of a lesson whose recording
// has sourceBytes bytes (negative when unknown): QueueLong for a long
// recording, whatever the attempt, so that retrying a 3-hour upload never
// blocks the critical queue; else QueueCritical for a re-transcode
// (attempt > 1: a re-upload or an admin's retry) or a small recording;
// else QueueTranscode.
func queueOf(attempt int, sourceBytes int64) string {
	switch {
	case sourceBytes >= LongSourceBytes:
		return QueueLong
	case attempt > 1, sourceBytes >= 0 && sourceBytes < SmallSourceBytes:
		return QueueCritical
	}
	return QueueTranscode
}

// Retry and retention of transcode tasks.
const (
	// MaxRetry is how many times a transient failure is retried before the
	// job fails for good.
	MaxRetry = 5
	// taskRetention keeps finished tasks visible in the queue's web UI.
	taskRetention = 24 * time.Hour
	// leaseExpiredDelay is the wait before retrying a task whose worker
	// stopped (killed, crashed, lost its Redis connection).
	leaseExpiredDelay = 2 * time.Second
)

// newTranscodeTask returns the task that transcodes attempt p.Attempt of a
// lesson, on QueueTranscode (an enqueue option asynq.Queue(queueOf(…))
// moves it to the queue its recording calls for), retried up to MaxRetry times, with the task
// ID db.TranscodeTaskID so that the queue refuses the same attempt twice
// (asynq.ErrTaskIDConflict then means it is already queued). Its timeout
// fits the longest recording Probe accepts by default; the handler sets
// the real one from the recording's duration once it has probed it.
func newTranscodeTask(p transcode.TranscodePayload) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode transcode payload: %w", err)
	}
	return asynq.NewTask(TypeTranscode, b,
		asynq.Queue(QueueTranscode),
		asynq.TaskID(db.TranscodeTaskID(p.LessonID, p.Attempt)),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(outerTimeout()),
		asynq.Retention(taskRetention),
	), nil
}

// outerTimeout bounds a whole task, download and upload included: the
// encode timeout of the longest recording accepted, plus an hour.
func outerTimeout() time.Duration {
	return transcode.Timeout(transcode.DefaultLimits().MaxDuration.Milliseconds()) + time.Hour
}

// parseTranscodePayload decodes a transcode task's payload. A payload that
// cannot be decoded is an EINVALID error: retrying cannot help.
func parseTranscodePayload(t *asynq.Task) (transcode.TranscodePayload, error) {
	return parsePayload[transcode.TranscodePayload](t, "transcode")
}

// parsePayload decodes and validates the payload of a task of kind what;
// EINVALID when it cannot be decoded or names nothing.
func parsePayload[P interface{ Validate() error }](t *asynq.Task, what string) (P, error) {
	var p P
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, lectern.Errorf(lectern.EINVALID, "malformed %s payload: %v", what, err)
	}
	return p, p.Validate()
}

// transcodeRetryDelay is the worker's delay before retry n (counting from 1) of a
// failed transcode or chunk: transcode.RetryDelay's backoff, except that
// a task whose worker died (its lease expired) is retried after a couple
// of seconds.
func transcodeRetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		// The worker died; nothing is wrong with the task. The next worker
		// should resume it now, not after a failure's backoff.
		return leaseExpiredDelay
	}
	return transcode.RetryDelay(n, err)
}

// TypeChunk is the task type of one piece of a chunked transcode (see
// transcode/chunks.go): the task claims whichever piece of its job's plan is most
// urgent, so that a seek can move a piece to the front.
const TypeChunk = "lesson:transcode_chunk"

// chunkTaskID is the task ID of a job's piece index at its try tries;
// index -1 is the task that publishes a plan whose pieces are all done.
func chunkTaskID(jobID string, index, tries int) string {
	if index < 0 {
		return "chunk:" + jobID + ":publish"
	}
	return fmt.Sprintf("chunk:%s:%d:%d", jobID, index, tries)
}

// newChunkTask returns the task of piece p.Index of a chunked transcode,
// with task ID chunkTaskID(…, tries), on queue (QueueAudio for the audio
// piece).
func newChunkTask(p transcode.ChunkPayload, tries int, queue string) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode chunk payload: %w", err)
	}
	switch {
	case p.Audio:
		queue = QueueAudio
	case queue == "":
		queue = QueueTranscode
	}
	return asynq.NewTask(TypeChunk, b,
		asynq.Queue(queue),
		asynq.TaskID(chunkTaskID(p.JobID, p.Index, tries)),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(outerTimeout()),
		asynq.Retention(taskRetention),
	), nil
}

// parseChunkPayload decodes a chunk task's payload; EINVALID when it
// cannot be.
func parseChunkPayload(t *asynq.Task) (transcode.ChunkPayload, error) {
	return parsePayload[transcode.ChunkPayload](t, "chunk")
}
