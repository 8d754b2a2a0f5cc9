package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// Leases fence the deliveries of a transcode job. The queue may run one
// job's task twice at once: a worker paused or cut off from Redis past
// its queue lease, then resumed, while another worker took the task over.
// Each delivery therefore takes the job's lease (TakeLease), a random
// token stored on the job, and renews it through heartbeat_at while it
// runs (RenewLease). A newer delivery takes the lease over; every state
// write of a delivery (progress, retry, failure, publication) is
// conditional on its token in the same statement, so the older one
// changes nothing once it lost the lease, and stops at its next write.
//
// Each delivery uploads its output under a prefix of its own,
// lectern.OutputPrefix(lesson, n) with n from the lesson's output
// sequence, recorded in transcode_outputs with the lease that writes it:
// no delivery ever writes into, or deletes, another's output, and the
// reconciler deletes the prefixes of dead deliveries that no lesson
// publishes (DeadOutputs, ForgetOutput).

// Lease is a delivery's hold on its job.
type Lease struct {
	LessonID string
	Attempt  int
	JobID    string
	// Token is the lease's random token; "" for a job marked running
	// without a lease (MarkTranscoding).
	Token string
	// Prefix is the storage prefix this delivery uploads its output to.
	Prefix string
}

// TakeLease records that a delivery of attempt's job, the queue's task
// taskID, started on workerHost: the job becomes running at 0 % under a
// new lease (taking it from any delivery that held it), with no retry
// time and its started_at set on the first start, and the lesson
// processing; the lesson's output sequence gives the delivery its own
// output prefix. A taskID other than the job's task_id (a task the
// reconciler replaced after its worker stopped renewing the lease) is
// refused; "" skips that check. It returns ECONFLICT, changing nothing,
// when the attempt is no longer the lesson's current one, the job has
// finished or the task was replaced, and ENOTFOUND when the lesson is
// gone.
func (db *DB) TakeLease(ctx context.Context, lessonID string, attempt int, jobID, taskID, workerHost string) (*Lease, error) {
	return db.takeLease(ctx, lessonID, attempt, jobID, taskID, workerHost, newID())
}

func (db *DB) takeLease(ctx context.Context, lessonID string, attempt int, jobID, taskID, workerHost, token string) (*Lease, error) {
	l := &Lease{LessonID: lessonID, Attempt: attempt, JobID: jobID, Token: token}
	err := db.write(ctx, func(t tx) error {
		now := db.now()
		n, err := t.exec(ctx, `UPDATE lessons SET status = ?, output_seq = output_seq + 1, updated_at = ?
			WHERE id = ? AND attempt = ?`,
			lectern.LessonProcessing, now, lessonID, attempt)
		if err != nil {
			return err
		}
		if n == 0 {
			return staleAttempt(ctx, t, lessonID, attempt)
		}
		n, err = t.exec(ctx, `UPDATE jobs SET state = ?, percent = 0, retry_at = NULL,
				started_at = COALESCE(started_at, ?), heartbeat_at = ?, worker_host = ?, lease_token = ?
			WHERE id = ? AND lesson_id = ? AND attempt = ? AND state IN `+unfinishedJobStates+`
				AND (? = '' OR task_id = ?)`,
			lectern.JobRunning, now, now, workerHost, token, jobID, lessonID, attempt, taskID, taskID)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "transcode job %s is finished, not this attempt's or not task %q's", jobID, taskID)
		}
		var seq int
		if err := t.get(ctx, &seq, `SELECT output_seq FROM lessons WHERE id = ?`, lessonID); err != nil {
			return err
		}
		l.Prefix = lectern.OutputPrefix(lessonID, seq)
		_, err = t.exec(ctx, `INSERT INTO transcode_outputs (prefix, lesson_id, job_id, lease_token, created_at)
			VALUES (?, ?, ?, ?, ?)`, l.Prefix, lessonID, jobID, token, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("take transcode lease: %w", err)
	}
	return l, nil
}

// RenewLease stamps the job's heartbeat_at, and its percent when pct is
// set, if the lease is still held. Otherwise it changes nothing and
// returns ECONFLICT with the job's state (canceled when an admin canceled
// it); ENOTFOUND when the job is gone.
func (db *DB) RenewLease(ctx context.Context, l *Lease, pct *float64) (lectern.JobState, error) {
	if pct != nil && !validPercent(*pct) {
		return "", lectern.Errorf(lectern.EINVALID, "job percent must be between 0 and 100")
	}
	var state lectern.JobState
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE jobs SET heartbeat_at = ?, percent = COALESCE(?, percent)
			WHERE id = ? AND state = ? AND lease_token = ?`,
			db.now(), pct, l.JobID, lectern.JobRunning, l.Token)
		if err != nil {
			return err
		}
		if n == 1 {
			state = lectern.JobRunning
			return nil
		}
		err = t.get(ctx, &state, `SELECT state FROM jobs WHERE id = ?`, l.JobID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "job not found")
		}
		if err != nil {
			return err
		}
		return lectern.Errorf(lectern.ECONFLICT, "the lease on transcode job %s was taken over", l.JobID)
	})
	if err != nil {
		return state, fmt.Errorf("renew transcode lease: %w", err)
	}
	return state, nil
}

// ReleaseLease hands a running job back to the queue when its delivery
// stops without an outcome (the worker shutting down): the job becomes
// queued at 0 %, with no lease, so that the next delivery starts at once
// and the reconciler sees no dead lease. It reports whether the lease was
// still held; a lease already taken over is left alone.
func (db *DB) ReleaseLease(ctx context.Context, l *Lease) (bool, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `UPDATE jobs SET state = ?, percent = 0, lease_token = ''
			WHERE id = ? AND state = ? AND lease_token = ?`,
			lectern.JobQueued, l.JobID, lectern.JobRunning, l.Token)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("release transcode lease: %w", err)
	}
	return n == 1, nil
}

// expiredLeaseReason is the error a job shows while it waits for another
// worker because its worker stopped renewing the lease.
const expiredLeaseReason = "The worker running it stopped responding; another worker takes it over."

// ReclaimLease takes back the lease of a running job whose delivery has
// not renewed it since before (its worker killed, hung or cut off): the
// job becomes retrying, due now, with one more try counted and the queue
// task ID taskID, under which the caller enqueues it again (a delivery of
// the old task is then refused by TakeLease). It is conditional on the
// lease j.LeaseToken still being held and still not renewed, and reports
// whether it took it back.
func (db *DB) ReclaimLease(ctx context.Context, j *lectern.Job, before time.Time, taskID string) (bool, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		now := db.now()
		n, err = t.exec(ctx, `UPDATE jobs SET state = ?, percent = 0, lease_token = '', task_id = ?,
				retries = retries + 1, error = ?, retry_at = ?
			WHERE id = ? AND state = ? AND lease_token = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)`,
			lectern.JobRetrying, taskID, expiredLeaseReason, now,
			j.ID, lectern.JobRunning, j.LeaseToken, normTime(before))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("reclaim transcode lease: %w", err)
	}
	return n == 1, nil
}

// DeadOutputs returns up to limit output prefixes that no delivery will
// ever publish and no lesson publishes: those of deliveries whose lease
// is gone (taken over, reclaimed, released, or the job finished). A lease
// once gone is never held again, so such a prefix stays unpublished.
func (db *DB) DeadOutputs(ctx context.Context, limit int) ([]string, error) {
	prefixes := []string{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &prefixes, `SELECT o.prefix FROM transcode_outputs o
			LEFT JOIN jobs j ON j.id = o.job_id
			WHERE (j.id IS NULL OR j.state <> ? OR j.lease_token <> o.lease_token)
				AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.output_prefix = o.prefix)
			ORDER BY o.created_at, o.prefix LIMIT ?`, lectern.JobRunning, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find dead transcode outputs: %w", err)
	}
	return prefixes, nil
}

// OutputDead reports whether prefix is the output of a delivery whose
// lease is gone and that no lesson publishes: the delivery may delete it.
func (db *DB) OutputDead(ctx context.Context, prefix string) (bool, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM transcode_outputs o
			LEFT JOIN jobs j ON j.id = o.job_id
			WHERE o.prefix = ? AND (j.id IS NULL OR j.state <> ? OR j.lease_token <> o.lease_token)
				AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.output_prefix = o.prefix)`,
			prefix, lectern.JobRunning)
	})
	if err != nil {
		return false, fmt.Errorf("check transcode output: %w", err)
	}
	return n > 0, nil
}

// ForgetOutput removes the record of an output prefix once its objects
// are deleted, unless a lesson publishes it.
func (db *DB) ForgetOutput(ctx context.Context, prefix string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `DELETE FROM transcode_outputs
			WHERE prefix = ? AND NOT EXISTS (SELECT 1 FROM lessons WHERE output_prefix = ?)`, prefix, prefix)
		return err
	})
	if err != nil {
		return fmt.Errorf("forget transcode output: %w", err)
	}
	return nil
}
