package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// The transcode life cycle of a lesson. Every upload starts a new attempt
// (lessons.attempt + 1) with its own job row; the worker then marks it
// running, and either publishes it or fails it. Each step is fenced on the
// attempt: once a newer upload has started, an older attempt can change
// neither the lesson nor its job, so a slow, stale transcode can never
// overwrite a newer one.
//
// Status shown while and after a re-upload: the lesson's status follows
// the latest attempt (queued, processing, then ready or failed), while
// output_prefix keeps pointing at the last published output until a newer
// one is published, so the previous rendition stays watchable throughout.
// When the latest attempt fails but an earlier output exists, the lesson
// goes back to ready (there is something to watch) with the failure's
// reason in its error and its job; only a lesson with nothing published
// becomes failed.

// TranscodeTaskID is the queue's task ID of a lesson's transcode attempt:
// the queue refuses a second task with the same ID, so an attempt cannot
// be enqueued twice.
func TranscodeTaskID(lessonID string, attempt int) string {
	return "transcode:" + lessonID + ":" + strconv.Itoa(attempt)
}

// Publication is what a finished transcode attempt publishes on its lesson.
type Publication struct {
	// JobID is the attempt's job, marked succeeded with the publication.
	JobID string
	// LeaseToken is the publishing delivery's lease (Lease.Token): the
	// publication happens only while the job runs under it.
	LeaseToken string
	// OutputPrefix is the storage prefix the attempt uploaded its output to.
	OutputPrefix string
	Renditions   lectern.Renditions
	// Poster and Thumbnails are relative to OutputPrefix; "" when absent.
	Poster     string
	Thumbnails string
	DurationMS int64
	// Chapters are the chapters the recording's file states, as written:
	// the lesson takes them, cleaned, unless its teacher has set chapters
	// (see importChapters).
	Chapters []lectern.Chapter
	// SuggestedChapters are the moments (ms) where the picture changed as
	// a slide does: they replace the lesson's chapter suggestions.
	SuggestedChapters []int64
	// ASRLang, when set, starts the lesson's automatic captions in that
	// language (a canonical BCP 47 tag), replacing any earlier ones; see
	// db/asr.go.
	ASRLang string
}

// unfinishedJobStates is the SQL list of job states a worker may still act
// on (lectern.JobState.Unfinished).
const unfinishedJobStates = `('queued', 'running', 'retrying')`

// replacedReason is the error of a job a newer upload replaced.
const replacedReason = "Replaced by a newer upload of this lesson"

// forUpdate locks the selected rows until the transaction ends on
// PostgreSQL; SQLite's write transactions already hold the database lock.
func (db *DB) forUpdate() string {
	if db.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// StartTranscode records a new upload of a lesson: it increments the
// lesson's attempt, sets its source_key, status queued and clears its
// error, cancels the jobs of earlier attempts that had not finished, and
// creates the new attempt's job (state queued, task ID TranscodeTaskID,
// lectern.MaxTranscodeTries tries). The replaced jobs are canceled with
// failure canceled.
// It returns the lesson, the job and the source key the upload replaces
// ("" on a first upload). It returns ENOTFOUND when there is no such
// lesson; the caller has checked that the user may upload to it.
func (db *DB) StartTranscode(ctx context.Context, lessonID, sourceKey string) (*lectern.Lesson, *lectern.Job, string, error) {
	if err := lectern.ValidateKey(sourceKey); err != nil {
		return nil, nil, "", err
	}
	var (
		l    lectern.Lesson
		prev string
		job  lectern.Job
	)
	err := db.write(ctx, func(t tx) error {
		err := t.get(ctx, &l, `SELECT `+lessonColumns+` FROM lessons l WHERE l.id = ?`+db.forUpdate(), lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		if err != nil {
			return err
		}
		prev = l.SourceKey
		if err := unpublishPartial(ctx, t, lessonID); err != nil {
			return err
		}
		now := db.now()
		attempt := l.Attempt + 1
		if _, err := t.exec(ctx, `UPDATE lessons SET source_key = ?, status = ?, error = '', attempt = ?, updated_at = ?
			WHERE id = ?`, sourceKey, lectern.LessonQueued, attempt, now, lessonID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE jobs SET state = ?, failure = ?, error = ?, retry_at = NULL, finished_at = ?
			WHERE lesson_id = ? AND state IN `+unfinishedJobStates,
			lectern.JobCanceled, lectern.FailureCanceled, replacedReason, now, lessonID); err != nil {
			return err
		}
		job = lectern.Job{ID: newID(), LessonID: lessonID, Attempt: attempt,
			TaskID: TranscodeTaskID(lessonID, attempt), State: lectern.JobQueued,
			MaxTries: lectern.MaxTranscodeTries, CreatedAt: now}
		if _, err := t.named(ctx, insertJob, &job); err != nil {
			return err
		}
		return getLesson(ctx, t, &l, lessonID)
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("start transcode: %w", err)
	}
	return &l, &job, prev, nil
}

// staleAttempt explains why a fenced update of a lesson matched no row:
// the lesson is gone (ENOTFOUND) or a newer upload started another
// attempt (ECONFLICT).
func staleAttempt(ctx context.Context, t tx, lessonID string, attempt int) error {
	var current int
	err := t.get(ctx, &current, `SELECT attempt FROM lessons WHERE id = ?`, lessonID)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	if err != nil {
		return err
	}
	return lectern.Errorf(lectern.ECONFLICT, "transcode attempt %d of this lesson was replaced by attempt %d", attempt, current)
}

// leaseLost explains why an update fenced on the attempt and a job's
// lease matched no row: the lesson is gone (ENOTFOUND), a newer upload
// started another attempt, or the delivery lost the job's lease (or the
// job is not running) (ECONFLICT).
func leaseLost(ctx context.Context, t tx, lessonID string, attempt int, jobID string) error {
	var current int
	err := t.get(ctx, &current, `SELECT attempt FROM lessons WHERE id = ?`, lessonID)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	if err != nil {
		return err
	}
	if current != attempt {
		return staleAttempt(ctx, t, lessonID, attempt)
	}
	return lectern.Errorf(lectern.ECONFLICT, "transcode job %s is not running under this delivery's lease", jobID)
}

// MarkTranscoding is TakeLease without a lease (the empty token) and
// without a task check, for tools and tests that drive the life cycle by
// hand: the writes that follow pass the empty token.
func (db *DB) MarkTranscoding(ctx context.Context, lessonID string, attempt int, jobID, workerHost string) error {
	_, err := db.takeLease(ctx, lessonID, attempt, jobID, "", workerHost, "")
	return err
}

// PublishLesson makes attempt's output the lesson's, in one conditional
// update fenced on the attempt: output prefix, renditions, poster,
// thumbnails and duration are set, the status becomes ready and the error
// is cleared; the job is marked succeeded at 100 %; the recording's own
// chapters become the lesson's when its teacher has set none, and its
// slide changes the lesson's chapter suggestions. It returns the output
// prefix the lesson had before ("" when none), which the caller deletes
// once nothing points at it. It is fenced on the delivery's lease too
// (p.LeaseToken, in the same statement): a delivery that lost the lease
// gets ECONFLICT and changes nothing. A stale attempt gets ECONFLICT and changes
// nothing; a deleted lesson ENOTFOUND.
func (db *DB) PublishLesson(ctx context.Context, lessonID string, attempt int, p Publication) (string, error) {
	if err := lectern.ValidatePrefix(p.OutputPrefix); err != nil || !strings.HasSuffix(p.OutputPrefix, "/") {
		return "", lectern.Errorf(lectern.EINVALID, "output prefix %q must be a storage prefix ending in /", p.OutputPrefix)
	}
	if p.DurationMS < 0 {
		return "", lectern.Errorf(lectern.EINVALID, "lesson duration must not be negative")
	}
	if p.Renditions == nil {
		p.Renditions = lectern.Renditions{}
	}
	var prev string
	err := db.write(ctx, func(t tx) error {
		err := t.get(ctx, &prev, `SELECT output_prefix FROM lessons WHERE id = ?`+db.forUpdate(), lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		if err != nil {
			return err
		}
		now := db.now()
		// One statement checks the attempt and the lease: a delivery
		// that lost its lease publishes nothing (a delivery's token is
		// never empty, so a job no delivery holds matches none), in SQLite as in
		// PostgreSQL (where the row lock above orders it against a
		// concurrent TakeLease).
		n, err := t.exec(ctx, `UPDATE lessons SET output_prefix = ?, renditions = ?, poster = ?, thumbnails = ?,
				duration_ms = ?, status = ?, error = '', updated_at = ?
			WHERE id = ? AND attempt = ? AND EXISTS (SELECT 1 FROM jobs
				WHERE jobs.id = ? AND jobs.lesson_id = ? AND jobs.attempt = ? AND jobs.state IN `+unfinishedJobStates+`
					AND jobs.lease_token = ?)`,
			p.OutputPrefix, p.Renditions, p.Poster, p.Thumbnails, p.DurationMS, lectern.LessonReady, now, lessonID, attempt,
			p.JobID, lessonID, attempt, p.LeaseToken)
		if err != nil {
			return err
		}
		if n == 0 {
			return leaseLost(ctx, t, lessonID, attempt, p.JobID)
		}
		n, err = t.exec(ctx, `UPDATE jobs SET state = ?, percent = 100, error = '', finished_at = ?, heartbeat_at = ?,
				lease_token = ''
			WHERE id = ? AND lesson_id = ? AND attempt = ? AND state IN `+unfinishedJobStates+` AND lease_token = ?`,
			lectern.JobSucceeded, now, now, p.JobID, lessonID, attempt, p.LeaseToken)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "transcode job %s lost its lease", p.JobID)
		}
		// With the publication, fenced on the same attempt: a stale
		// attempt never changes the chapters.
		if err := db.replaceChapterSuggestions(ctx, t, lessonID, p.SuggestedChapters); err != nil {
			return err
		}
		if p.ASRLang != "" {
			if err := db.startASRJob(ctx, t, lessonID, attempt, p.ASRLang); err != nil {
				return err
			}
		}
		return importChapters(ctx, t, lessonID, p.DurationMS, p.Chapters)
	})
	if err != nil {
		return "", fmt.Errorf("publish lesson: %w", err)
	}
	return prev, nil
}

// RetryTranscode records that a try of attempt's running job failed for
// reason, a message the teacher can read, that may pass: the job becomes
// retrying, with one more retry counted, the reason and ffmpeg's log tail,
// its percent back at 0 and its next try due at retryAt. The lesson stays
// processing, and the lease leaseToken is released. A stale attempt, a
// delivery that lost the lease, or a job that is not running (finished,
// canceled by an admin meanwhile), gets ECONFLICT and changes nothing; a
// deleted lesson ENOTFOUND.
func (db *DB) RetryTranscode(ctx context.Context, lessonID string, attempt int, jobID, leaseToken, reason, logTail string, retryAt time.Time) error {
	err := db.write(ctx, func(t tx) error {
		var current int
		err := t.get(ctx, &current, `SELECT attempt FROM lessons WHERE id = ?`, lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		if err != nil {
			return err
		}
		if current != attempt {
			return staleAttempt(ctx, t, lessonID, attempt)
		}
		n, err := t.exec(ctx, `UPDATE jobs SET state = ?, retries = retries + 1, percent = 0, error = ?,
				log_tail = ?, retry_at = ?, lease_token = ''
			WHERE id = ? AND lesson_id = ? AND attempt = ? AND state = ? AND lease_token = ?`,
			lectern.JobRetrying, reason, logTail, normTime(retryAt), jobID, lessonID, attempt, lectern.JobRunning, leaseToken)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "transcode job %s is not running under this lease or not this attempt's", jobID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("retry transcode: %w", err)
	}
	return nil
}

// FailTranscode records that attempt failed for good with a failure of
// kind for reason, a message the teacher can read, with the tail of
// ffmpeg's log for admins: the job becomes failed and finished, and the
// lesson takes the reason as its error. A lesson with nothing published becomes failed; one that still
// has an earlier output keeps it and goes back to ready, so its previous
// rendition stays watchable. The write is fenced on the lease leaseToken
// ("" for a job no delivery holds). A stale attempt, a delivery that lost
// the lease, or a job already finished, gets ECONFLICT and changes nothing; a deleted lesson ENOTFOUND.
func (db *DB) FailTranscode(ctx context.Context, lessonID string, attempt int, jobID, leaseToken string,
	kind lectern.JobFailure, reason, logTail string) error {
	if kind == "" || !validJobFailure(kind) {
		return lectern.Errorf(lectern.EINVALID, "unknown job failure %q", kind)
	}
	err := db.write(ctx, func(t tx) error {
		return db.failTranscode(ctx, t, lessonID, attempt, jobID, leaseToken, kind, reason, logTail)
	})
	if err != nil {
		return fmt.Errorf("fail transcode: %w", err)
	}
	return nil
}

// failTranscode is FailTranscode within t.
func (db *DB) failTranscode(ctx context.Context, t tx, lessonID string, attempt int, jobID, leaseToken string,
	kind lectern.JobFailure, reason, logTail string) error {
	now := db.now()
	n, err := t.exec(ctx, `UPDATE lessons
			SET status = CASE WHEN output_prefix = '' THEN ? ELSE ? END, error = ?, updated_at = ?
			WHERE id = ? AND attempt = ? AND EXISTS (SELECT 1 FROM jobs
				WHERE jobs.id = ? AND jobs.lesson_id = ? AND jobs.attempt = ?
					AND jobs.state IN `+unfinishedJobStates+` AND jobs.lease_token = ?)`,
		lectern.LessonFailed, lectern.LessonReady, reason, now, lessonID, attempt, jobID, lessonID, attempt, leaseToken)
	if err != nil {
		return err
	}
	if n == 0 {
		return leaseLost(ctx, t, lessonID, attempt, jobID)
	}
	n, err = t.exec(ctx, `UPDATE jobs SET state = ?, failure = ?, error = ?, log_tail = ?, retry_at = NULL,
				finished_at = ?, lease_token = ''
			WHERE id = ? AND lesson_id = ? AND attempt = ? AND state IN `+unfinishedJobStates+` AND lease_token = ?`,
		lectern.JobFailed, kind, reason, logTail, now, jobID, lessonID, attempt, leaseToken)
	if err != nil {
		return err
	}
	if n == 0 {
		return lectern.Errorf(lectern.ECONFLICT, "transcode job %s is finished, not this attempt's or not under this lease", jobID)
	}
	return nil
}

// FindUnfinishedJobs returns the queued, running and retrying jobs of their lessons'
// current attempts, oldest first: the transcodes to enqueue again at
// start-up, since the database and not the queue is the source of truth.
func (db *DB) FindUnfinishedJobs(ctx context.Context) ([]*lectern.Job, error) {
	jobs := []*lectern.Job{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &jobs, `SELECT `+qualified(jobColumns, "j")+`
			FROM jobs j JOIN lessons l ON l.id = j.lesson_id AND l.attempt = j.attempt
			WHERE j.state IN `+unfinishedJobStates+` AND NOT `+planned+`
			ORDER BY j.created_at, j.id`)
	})
	if err != nil {
		return nil, fmt.Errorf("find unfinished jobs: %w", err)
	}
	return jobs, nil
}

// qualified prefixes every column of a comma-separated list with alias.
func qualified(columns, alias string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
