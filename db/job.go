package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// JobFilter selects transcode jobs; nil fields match everything and a
// Limit of 0 or less means no limit.
type JobFilter struct {
	State    *lectern.JobState
	LessonID *string
	Limit    int
}

// JobUpdate holds the fields to change on a job; nil means unchanged.
type JobUpdate struct {
	State       *lectern.JobState
	Percent     *float64
	Error       *string
	LogTail     *string
	WorkerHost  *string
	Retries     *int
	StartedAt   *time.Time
	FinishedAt  *time.Time
	HeartbeatAt *time.Time
}

const jobColumns = `id, lesson_id, attempt, task_id, state, percent, error, log_tail,
	worker_host, retries, created_at, started_at, finished_at, heartbeat_at,
	failure, retry_at, max_tries, queue, queue_priority, lease_token`

// insertJob stores a job from its named fields.
const insertJob = `INSERT INTO jobs (` + jobColumns + `)
	VALUES (:id, :lesson_id, :attempt, :task_id, :state, :percent, :error, :log_tail,
		:worker_host, :retries, :created_at, :started_at, :finished_at, :heartbeat_at,
		:failure, :retry_at, :max_tries, :queue, :queue_priority, :lease_token)`

func validJobState(s lectern.JobState) bool {
	switch s {
	case lectern.JobQueued, lectern.JobRunning, lectern.JobRetrying, lectern.JobSucceeded, lectern.JobFailed, lectern.JobCanceled:
		return true
	}
	return false
}

func validJobFailure(f lectern.JobFailure) bool {
	switch f {
	case "", lectern.FailureRefused, lectern.FailureSetup, lectern.FailureExhausted, lectern.FailureTimeout, lectern.FailureCanceled:
		return true
	}
	return false
}

func validPercent(p float64) bool { return p >= 0 && p <= 100 }

// optTime normalises an optional time like the database will return it.
func optTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

// CreateJob stores j, filling j.ID and j.CreatedAt; an empty j.State
// becomes queued and a MaxTries of 0 lectern.MaxTranscodeTries. It returns ECONFLICT when the lesson already has a job
// for j.Attempt and ENOTFOUND when the lesson does not exist.
func (db *DB) CreateJob(ctx context.Context, j *lectern.Job) error {
	nj := *j
	if nj.State == "" {
		nj.State = lectern.JobQueued
	}
	if !validJobState(nj.State) {
		return lectern.Errorf(lectern.EINVALID, "unknown job state %q", nj.State)
	}
	if !validPercent(nj.Percent) {
		return lectern.Errorf(lectern.EINVALID, "job percent must be between 0 and 100")
	}
	if !validJobFailure(nj.Failure) {
		return lectern.Errorf(lectern.EINVALID, "unknown job failure %q", nj.Failure)
	}
	if nj.MaxTries == 0 {
		nj.MaxTries = lectern.MaxTranscodeTries
	}
	if nj.MaxTries < 1 {
		return lectern.Errorf(lectern.EINVALID, "a job needs at least one try")
	}
	nj.ID = newID()
	nj.CreatedAt = db.now()
	nj.StartedAt, nj.FinishedAt, nj.HeartbeatAt = optTime(j.StartedAt), optTime(j.FinishedAt), optTime(j.HeartbeatAt)
	nj.RetryAt = optTime(j.RetryAt)
	err := db.write(ctx, func(t tx) error {
		_, err := t.named(ctx, insertJob, &nj)
		return err
	})
	switch {
	case isUniqueViolation(err):
		return lectern.Errorf(lectern.ECONFLICT, "a job for attempt %d of this lesson already exists", nj.Attempt)
	case isForeignKeyViolation(err):
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	case err != nil:
		return fmt.Errorf("create job: %w", err)
	}
	*j = nj
	return nil
}

// FindJobByID returns the job with the given id.
func (db *DB) FindJobByID(ctx context.Context, id string) (*lectern.Job, error) {
	var j lectern.Job
	err := db.read(ctx, func(t tx) error { return getJob(ctx, t, &j, id) })
	if err != nil {
		return nil, fmt.Errorf("find job: %w", err)
	}
	return &j, nil
}

func getJob(ctx context.Context, t tx, j *lectern.Job, id string) error {
	err := t.get(ctx, j, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "job not found")
	}
	return err
}

// FindJobs returns the jobs f selects, newest first.
func (db *DB) FindJobs(ctx context.Context, f JobFilter) ([]*lectern.Job, error) {
	query := `SELECT ` + jobColumns + ` FROM jobs WHERE 1 = 1`
	var args []any
	if f.State != nil {
		query += ` AND state = ?`
		args = append(args, *f.State)
	}
	if f.LessonID != nil {
		query += ` AND lesson_id = ?`
		args = append(args, *f.LessonID)
	}
	query += ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	jobs := []*lectern.Job{}
	err := db.read(ctx, func(t tx) error { return t.sel(ctx, &jobs, query, args...) })
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return jobs, nil
}

func jobSet(upd JobUpdate) (*setClause, error) {
	var s setClause
	if upd.State != nil {
		if !validJobState(*upd.State) {
			return nil, lectern.Errorf(lectern.EINVALID, "unknown job state %q", *upd.State)
		}
		s.add("state", *upd.State)
	}
	if upd.Percent != nil {
		if !validPercent(*upd.Percent) {
			return nil, lectern.Errorf(lectern.EINVALID, "job percent must be between 0 and 100")
		}
		s.add("percent", *upd.Percent)
	}
	if upd.Error != nil {
		s.add("error", *upd.Error)
	}
	if upd.LogTail != nil {
		s.add("log_tail", *upd.LogTail)
	}
	if upd.WorkerHost != nil {
		s.add("worker_host", *upd.WorkerHost)
	}
	if upd.Retries != nil {
		s.add("retries", *upd.Retries)
	}
	if upd.StartedAt != nil {
		s.add("started_at", normTime(*upd.StartedAt))
	}
	if upd.FinishedAt != nil {
		s.add("finished_at", normTime(*upd.FinishedAt))
	}
	if upd.HeartbeatAt != nil {
		s.add("heartbeat_at", normTime(*upd.HeartbeatAt))
	}
	return &s, nil
}

// SetJobQueue records the queue a job's task was put on and that queue's
// priority, by which queued jobs are placed in line (see JobStatus). It
// returns ENOTFOUND when there is no such job.
func (db *DB) SetJobQueue(ctx context.Context, id, queue string, priority int) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE jobs SET queue = ?, queue_priority = ? WHERE id = ?`, queue, priority, id)
		if err == nil && n == 0 {
			err = lectern.Errorf(lectern.ENOTFOUND, "job not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set job queue: %w", err)
	}
	return nil
}

// UpdateJob changes the fields of upd that are set and returns the
// updated job. It returns ENOTFOUND when there is no such job.
func (db *DB) UpdateJob(ctx context.Context, id string, upd JobUpdate) (*lectern.Job, error) {
	set, err := jobSet(upd)
	if err != nil {
		return nil, err
	}
	var j lectern.Job
	err = db.write(ctx, func(t tx) error {
		if len(set.cols) > 0 {
			n, err := t.exec(ctx, `UPDATE jobs SET `+set.sql()+` WHERE id = ?`, append(set.args, id)...)
			if err != nil {
				return err
			}
			if n == 0 {
				return lectern.Errorf(lectern.ENOTFOUND, "job not found")
			}
		}
		return getJob(ctx, t, &j, id)
	})
	if err != nil {
		return nil, fmt.Errorf("update job: %w", err)
	}
	return &j, nil
}
