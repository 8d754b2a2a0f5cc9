package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// JobDetail is a transcode job, with its place in line, and what an admin
// needs to recognise it: its lesson, the lesson's course and the course's
// teacher (its owner).
type JobDetail struct {
	JobStatus
	LessonTitle string `db:"lesson_title"`
	CourseID    string `db:"course_id"`
	CourseTitle string `db:"course_title"`
	TeacherName string `db:"teacher_name"`
	// ChunksDone and ChunksTotal count the pieces of a chunked transcode
	// (0 of 0 for one encoded in one run), and ChunkWorkers are the
	// workers holding its running pieces, comma-separated.
	ChunksDone   int    `db:"chunks_done"`
	ChunksTotal  int    `db:"chunks_total"`
	ChunkWorkers string `db:"chunk_workers"`
}

// FindJobDetails returns the jobs f selects with their place in line,
// lesson, course and teacher, newest first. It is for admins: nothing is scoped by membership.
func (db *DB) FindJobDetails(ctx context.Context, f JobFilter) ([]*JobDetail, error) {
	query := `SELECT ` + qualified(jobColumns, "j") + `, ` + queuePosition + `, l.title AS lesson_title, c.id AS course_id,
			c.title AS course_title, u.name AS teacher_name,
			(SELECT COUNT(*) FROM transcode_chunks tc WHERE tc.job_id = j.id AND tc.state = 'done') AS chunks_done,
			(SELECT COUNT(*) FROM transcode_chunks tc WHERE tc.job_id = j.id) AS chunks_total,
			COALESCE((SELECT ` + db.groupConcat("DISTINCT tc.worker_host") + ` FROM transcode_chunks tc
				WHERE tc.job_id = j.id AND tc.state = 'running'), '') AS chunk_workers
		FROM jobs j JOIN lessons l ON l.id = j.lesson_id
			JOIN courses c ON c.id = l.course_id
			JOIN users u ON u.id = c.owner_id
		WHERE 1 = 1`
	var args []any
	if f.State != nil {
		query += ` AND j.state = ?`
		args = append(args, *f.State)
	}
	if f.LessonID != nil {
		query += ` AND j.lesson_id = ?`
		args = append(args, *f.LessonID)
	}
	query += ` ORDER BY j.created_at DESC, j.id DESC`
	if f.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	jobs := []*JobDetail{}
	err := db.read(ctx, func(t tx) error { return t.sel(ctx, &jobs, query, args...) })
	if err != nil {
		return nil, fmt.Errorf("find job details: %w", err)
	}
	return jobs, nil
}

// CancelJob cancels an unfinished (queued, running or retrying) job for
// reason: the job becomes canceled and finished, with failure canceled and
// reason as its error. When the job
// is its lesson's current attempt, the lesson takes the reason as its
// error and goes back to ready when it has earlier output to show, else
// to failed. It returns the canceled job, ECONFLICT when the job has
// already finished and ENOTFOUND when there is no such job.
func (db *DB) CancelJob(ctx context.Context, id, reason string) (*lectern.Job, error) {
	var j lectern.Job
	err := db.write(ctx, func(t tx) error {
		if err := getJob(ctx, t, &j, id); err != nil {
			return err
		}
		now := db.now()
		n, err := t.exec(ctx, `UPDATE jobs SET state = ?, failure = ?, error = ?, retry_at = NULL, finished_at = ?
			WHERE id = ? AND state IN `+unfinishedJobStates, lectern.JobCanceled, lectern.FailureCanceled, reason, now, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "this job has already %s", j.State)
		}
		if err := unpublishPartial(ctx, t, j.LessonID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE lessons
			SET status = CASE WHEN output_prefix = '' THEN ? ELSE ? END, error = ?, updated_at = ?
			WHERE id = ? AND attempt = ?`,
			lectern.LessonFailed, lectern.LessonReady, reason, now, j.LessonID, j.Attempt); err != nil {
			return err
		}
		return getJob(ctx, t, &j, id)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	return &j, nil
}

// FindStalledJobs returns the running jobs of their lessons' current
// attempts whose worker last heartbeat before the given time (or never),
// oldest first: their worker is gone or hung.
func (db *DB) FindStalledJobs(ctx context.Context, before time.Time) ([]*lectern.Job, error) {
	jobs := []*lectern.Job{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &jobs, `SELECT `+qualified(jobColumns, "j")+`
			FROM jobs j JOIN lessons l ON l.id = j.lesson_id AND l.attempt = j.attempt
			WHERE j.state = ? AND (j.heartbeat_at IS NULL OR j.heartbeat_at < ?) AND NOT `+planned+`
			ORDER BY j.created_at, j.id`, lectern.JobRunning, normTime(before))
	})
	if err != nil {
		return nil, fmt.Errorf("find stalled jobs: %w", err)
	}
	return jobs, nil
}

// groupConcat is the dialect's aggregate joining expr's values with commas.
func (db *DB) groupConcat(expr string) string {
	if db.dialect == DialectPostgres {
		return "string_agg(" + expr + ", ',')"
	}
	return "group_concat(" + expr + ")"
}
