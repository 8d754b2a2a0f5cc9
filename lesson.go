package lectern

import "time"

// LessonStatus is where a lesson is on its way to being watchable.
type LessonStatus string

// Lesson statuses, in the order a lesson normally passes through them.
const (
	LessonAwaitingUpload LessonStatus = "awaiting_upload"
	LessonQueued         LessonStatus = "queued"
	LessonProcessing     LessonStatus = "processing"
	LessonReady          LessonStatus = "ready"
	LessonFailed         LessonStatus = "failed"
)

// Lesson is one recording in a course.
type Lesson struct {
	ID          string       `json:"id" db:"id"`
	CourseID    string       `json:"course_id" db:"course_id"`
	Title       string       `json:"title" db:"title"`
	Description string       `json:"description" db:"description"`
	Status      LessonStatus `json:"status" db:"status"`
	DurationMS  int64        `json:"duration_ms" db:"duration_ms"`
	// SectionID is the course section the lesson is in, "" for none, and
	// Position its place there (see Outline).
	SectionID string `json:"section_id" db:"section_id"`
	Position  int    `json:"-" db:"position"`
	// PublishedAt is when students may first see the lesson: nil for a
	// draft, a future time for a scheduled lesson. Its teachers (and
	// admins) always see it.
	PublishedAt *time.Time `json:"-" db:"published_at"`
	// WatchBy is when students should have watched the lesson by; nil for
	// no date.
	WatchBy *time.Time `json:"-" db:"watch_by"`
	// SourceKey is the storage key of the uploaded recording.
	SourceKey string `json:"-" db:"source_key"`
	// OutputPrefix is the storage prefix of the published HLS output; empty
	// until a transcode has been published.
	OutputPrefix string `json:"-" db:"output_prefix"`
	// Renditions, Poster and Thumbnails describe that output; Poster and
	// Thumbnails are paths relative to OutputPrefix, empty when absent
	// (an audio-only lesson has neither).
	Renditions Renditions `json:"renditions" db:"renditions"`
	Poster     string     `json:"-" db:"poster"`
	Thumbnails string     `json:"-" db:"thumbnails"`
	// Attempt counts transcode attempts; publishing is fenced on it.
	Attempt   int       `json:"-" db:"attempt"`
	Error     string    `json:"-" db:"error"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// Publication is a lesson's place on the way to its students: its
// PublishedAt and WatchBy (see Lesson), both set as a whole.
type Publication struct {
	PublishedAt *time.Time
	WatchBy     *time.Time
}

// PublicationState is what a lesson's teachers see of its publication.
type PublicationState string

// Publication states.
const (
	LessonDraft     PublicationState = "draft"
	LessonScheduled PublicationState = "scheduled"
	LessonPublished PublicationState = "published"
)

// PublicationState says whether l is a draft, scheduled or published at now.
func (l *Lesson) PublicationState(now time.Time) PublicationState {
	switch {
	case l.PublishedAt == nil:
		return LessonDraft
	case l.PublishedAt.After(now):
		return LessonScheduled
	}
	return LessonPublished
}

// LessonUpdate holds the fields to change on a lesson; nil means unchanged.
type LessonUpdate struct {
	Title        *string
	Description  *string
	Status       *LessonStatus
	DurationMS   *int64
	SourceKey    *string
	OutputPrefix *string
	Renditions   *Renditions
	Poster       *string
	Thumbnails   *string
	Error        *string
}

// JobState is the state of one transcode job.
type JobState string

// Job states. Queued, running and retrying are unfinished: a worker may
// still act on the job. A retrying job's last try failed for a reason that
// may pass (storage down, ffmpeg crashed) and its next try starts at
// RetryAt; the try after that marks it running again.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobRetrying  JobState = "retrying"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCanceled  JobState = "canceled"
)

// Unfinished reports whether a job in state s may still run.
func (s JobState) Unfinished() bool {
	return s == JobQueued || s == JobRunning || s == JobRetrying
}

// JobFailure is the kind of failure that finished a job without output,
// which says who can do what about it.
type JobFailure string

// Job failures; a job that has not failed or been canceled has none ("").
const (
	// FailureRefused: the uploaded file itself cannot be used. No retry
	// can change that; the teacher must upload another file.
	FailureRefused JobFailure = "refused"
	// FailureSetup: the server is misconfigured or broken (ffmpeg
	// missing, an encoder missing from its build, a work directory it may
	// not write). It fails at once: an admin must fix the server, then
	// retry.
	FailureSetup JobFailure = "setup"
	// FailureExhausted: a failure that may pass (storage down, ffmpeg
	// crashed or stalled, a worker gone) used up every try.
	FailureExhausted JobFailure = "exhausted"
	// FailureTimeout: the recording took longer to process than it is
	// allowed to, even when tried again.
	FailureTimeout JobFailure = "timeout"
	// FailureCanceled: an admin canceled the job, or a newer upload of
	// the lesson replaced it.
	FailureCanceled JobFailure = "canceled"
)

// MaxTranscodeTries is how many times a transcode job is tried before a
// failure that may pass fails it for good: the first try and up to
// MaxTranscodeTries-1 retries.
const MaxTranscodeTries = 6

// Job records one transcode attempt of a lesson. The database, not the
// queue, is the source of truth for jobs.
type Job struct {
	ID         string   `json:"id" db:"id"`
	LessonID   string   `json:"lesson_id" db:"lesson_id"`
	Attempt    int      `json:"attempt" db:"attempt"`
	TaskID     string   `json:"task_id" db:"task_id"`
	State      JobState `json:"state" db:"state"`
	Percent    float64  `json:"percent" db:"percent"`
	Error      string   `json:"error,omitempty" db:"error"`
	LogTail    string   `json:"log_tail,omitempty" db:"log_tail"`
	WorkerHost string   `json:"worker_host,omitempty" db:"worker_host"`
	// Retries counts the tries that failed and were followed by another:
	// the try running (or next) is Retries+1 of MaxTries.
	Retries     int        `json:"retries" db:"retries"`
	MaxTries    int        `json:"max_tries" db:"max_tries"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty" db:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty" db:"finished_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty" db:"heartbeat_at"`
	// Failure is why a failed or canceled job ended; "" otherwise.
	Failure JobFailure `json:"failure,omitempty" db:"failure"`
	// RetryAt is when a retrying job's next try starts; nil otherwise.
	RetryAt *time.Time `json:"retry_at,omitempty" db:"retry_at"`
	// Queue is the queue its task was put on ("" until it was), and
	// QueuePriority that queue's priority: a worker serves a higher one
	// first, and one queue first in, first out.
	Queue         string `json:"queue,omitempty" db:"queue"`
	QueuePriority int    `json:"-" db:"queue_priority"`
	// LeaseToken is the token of the delivery (a worker's run of the
	// job's task) holding the job while it runs, "" when none does; every
	// write of a delivery is fenced on it (db.TakeLease).
	LeaseToken string `json:"-" db:"lease_token"`
}
