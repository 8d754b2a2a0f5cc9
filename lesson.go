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

// Job states.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCanceled  JobState = "canceled"
)

// Job records one transcode attempt of a lesson. The database, not the
// queue, is the source of truth for jobs.
type Job struct {
	ID          string     `json:"id" db:"id"`
	LessonID    string     `json:"lesson_id" db:"lesson_id"`
	Attempt     int        `json:"attempt" db:"attempt"`
	TaskID      string     `json:"task_id" db:"task_id"`
	State       JobState   `json:"state" db:"state"`
	Percent     float64    `json:"percent" db:"percent"`
	Error       string     `json:"error,omitempty" db:"error"`
	LogTail     string     `json:"log_tail,omitempty" db:"log_tail"`
	WorkerHost  string     `json:"worker_host,omitempty" db:"worker_host"`
	Retries     int        `json:"retries" db:"retries"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty" db:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty" db:"finished_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty" db:"heartbeat_at"`
}
