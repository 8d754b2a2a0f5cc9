package lectern

import "time"

// ASRState is where a lesson's automatic captions are.
type ASRState string

// Automatic caption states. Queued and running are unfinished: a worker
// may still act on them (a queued job whose error is set waits for its
// next try).
const (
	ASRQueued  ASRState = "queued"
	ASRRunning ASRState = "running"
	// ASRDone: a draft track was saved for the teachers to review.
	ASRDone ASRState = "done"
	// ASRSkipped: a track in the language made by a person exists, and
	// automatic captions never replace one.
	ASRSkipped ASRState = "skipped"
	// ASRFailed: every try failed; the job's error says why.
	ASRFailed ASRState = "failed"
)

// Unfinished reports whether a worker may still act on a job in state s.
func (s ASRState) Unfinished() bool { return s == ASRQueued || s == ASRRunning }

// MaxASRTries is how many times a lesson's speech recognition is tried
// (the first try and two retries) before it fails for good.
const MaxASRTries = 3

// ASRJob is the automatic captioning of a lesson's published recording:
// a speech recognizer's output saved as a draft caption track in Lang.
// The database, not the queue, is its source of truth.
type ASRJob struct {
	LessonID string `db:"lesson_id"`
	// Attempt is the transcode attempt whose recording is recognised; a
	// newer publication replaces the job.
	Attempt int      `db:"attempt"`
	Lang    string   `db:"lang"`
	TaskID  string   `db:"task_id"`
	State   ASRState `db:"state"`
	// Tries counts the tries started, at most MaxTries.
	Tries    int `db:"tries"`
	MaxTries int `db:"max_tries"`
	// Error says, in words a teacher can read, why the last try failed
	// (or why the job was skipped); "" otherwise.
	Error string `db:"error"`
	// Cues is how many cues the saved draft has.
	Cues       int        `db:"cue_count"`
	CreatedAt  time.Time  `db:"created_at"`
	UpdatedAt  time.Time  `db:"updated_at"`
	FinishedAt *time.Time `db:"finished_at"`
}
