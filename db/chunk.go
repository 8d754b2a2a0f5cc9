package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// Chunked transcodes. A job's delivery may, after the probe, split the
// work in time (CreatePlan): a plan under the delivery's lease, with one
// row per piece of work, video chunks of whole segments and one audio row
// for the whole lesson. Any worker claims the most urgent piece
// (ClaimChunk) under a lease of its own, renews it (RenewChunk), and
// finishes it (FinishChunk) or hands it back for a retry (RetryChunk);
// a piece out of tries fails the job (FailChunk). The job stays running
// under the plan's lease until the output is published: chunk
// deliveries stamp its heartbeat_at, and the job-level reclaim skips it
// (planned), since the reconciler reclaims chunks one by one instead.

// Chunk states.
const (
	ChunkPending = "pending"
	ChunkRunning = "running"
	ChunkDone    = "done"
	ChunkFailed  = "failed"
)

// Chunk kinds.
const (
	ChunkVideo = "video"
	ChunkAudio = "audio"
)

// planned is the SQL condition, on a job aliased j, that the job runs a
// chunked plan made under its current lease.
const planned = `EXISTS (SELECT 1 FROM transcode_plans p WHERE p.job_id = j.id AND p.lease_token = j.lease_token
	AND j.lease_token <> '')`

// Plan is a chunked transcode of one job.
type Plan struct {
	JobID      string     `db:"job_id"`
	LessonID   string     `db:"lesson_id"`
	Attempt    int        `db:"attempt"`
	LeaseToken string     `db:"lease_token"`
	Prefix     string     `db:"prefix"`
	Spec       string     `db:"spec"`
	Chunks     int        `db:"chunks"`
	PlayableAt *time.Time `db:"playable_at"`
	FinishedAt *time.Time `db:"finished_at"`
	CreatedAt  time.Time  `db:"created_at"`
}

// Chunk is one piece of a plan's work.
type Chunk struct {
	JobID string `db:"job_id"`
	// Index orders the pieces; Kind is ChunkVideo or ChunkAudio.
	Index int    `db:"idx"`
	Kind  string `db:"kind"`
	// StartSeg and Segs are the segments a video chunk makes.
	StartSeg int    `db:"start_seg"`
	Segs     int    `db:"segs"`
	State    string `db:"state"`
	// Priority orders claims, highest first: a seek raises it.
	Priority    int64      `db:"priority"`
	Tries       int        `db:"tries"`
	MaxTries    int        `db:"max_tries"`
	Token       string     `db:"token"`
	WorkerHost  string     `db:"worker_host"`
	HeartbeatAt *time.Time `db:"heartbeat_at"`
	RetryAt     *time.Time `db:"retry_at"`
	Error       string     `db:"error"`
	// Result is what the piece made (transcode's JSON), once done; the
	// audio piece keeps what it has stored so far there while it runs.
	Result string `db:"result"`
	// StoredSegs counts the audio piece's segments stored from the start
	// while it runs (RecordChunkProgress); it never goes back.
	StoredSegs int `db:"stored_segs"`
}

const planColumns = `job_id, lesson_id, attempt, lease_token, prefix, spec, chunks, playable_at, finished_at, created_at`

const chunkColumns = `job_id, idx, kind, start_seg, segs, state, priority, tries, max_tries, token, worker_host,
	heartbeat_at, retry_at, error, result, stored_segs`

// CreatePlan records the plan of the job l holds, with its chunks, all
// pending. ECONFLICT when l no longer holds the job.
func (db *DB) CreatePlan(ctx context.Context, l *Lease, spec string, chunks []Chunk) (*Plan, error) {
	p := &Plan{JobID: l.JobID, LessonID: l.LessonID, Attempt: l.Attempt, LeaseToken: l.Token, Prefix: l.Prefix,
		Spec: spec, Chunks: len(chunks)}
	err := db.write(ctx, func(t tx) error {
		p.CreatedAt = db.now()
		n, err := t.exec(ctx, `UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND state = ? AND lease_token = ?`,
			p.CreatedAt, l.JobID, lectern.JobRunning, l.Token)
		if err != nil {
			return err
		}
		if n == 0 || l.Token == "" {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on transcode job %s was taken over", l.JobID)
		}
		// A job retried by an admin plans again from scratch.
		if _, err := t.exec(ctx, `DELETE FROM transcode_chunks WHERE job_id = ?`, l.JobID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM transcode_plans WHERE job_id = ?`, l.JobID); err != nil {
			return err
		}
		if _, err := t.named(ctx, `INSERT INTO transcode_plans (`+planColumns+`) VALUES (:job_id, :lesson_id, :attempt,
			:lease_token, :prefix, :spec, :chunks, :playable_at, :finished_at, :created_at)`, p); err != nil {
			return err
		}
		for _, c := range chunks {
			c.JobID, c.State = l.JobID, ChunkPending
			if _, err := t.named(ctx, `INSERT INTO transcode_chunks (`+chunkColumns+`) VALUES (:job_id, :idx, :kind,
				:start_seg, :segs, :state, :priority, :tries, :max_tries, :token, :worker_host, :heartbeat_at, :retry_at,
				:error, :result, :stored_segs)`, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create transcode plan: %w", err)
	}
	return p, nil
}

// livePlan checks, in t, that jobID runs its plan: the job is running
// under the plan's lease and is its lesson's current attempt. ECONFLICT
// (with the job's state) otherwise.
func livePlan(ctx context.Context, t tx, jobID string, forUpdate string) (*Plan, lectern.JobState, error) {
	var p Plan
	err := t.get(ctx, &p, `SELECT `+planColumns+` FROM transcode_plans WHERE job_id = ?`+forUpdate, jobID)
	if notFound(err) {
		return nil, "", lectern.Errorf(lectern.ECONFLICT, "transcode job %s has no plan", jobID)
	}
	if err != nil {
		return nil, "", err
	}
	var j struct {
		State lectern.JobState `db:"state"`
		Token string           `db:"lease_token"`
		Live  bool             `db:"live"`
	}
	err = t.get(ctx, &j, `SELECT j.state, j.lease_token, l.attempt = j.attempt AS live
		FROM jobs j JOIN lessons l ON l.id = j.lesson_id WHERE j.id = ?`, jobID)
	if notFound(err) {
		return nil, "", lectern.Errorf(lectern.ECONFLICT, "transcode job %s is gone", jobID)
	}
	if err != nil {
		return nil, "", err
	}
	if j.State != lectern.JobRunning || j.Token != p.LeaseToken || !j.Live {
		return nil, j.State, lectern.Errorf(lectern.ECONFLICT, "transcode job %s no longer runs this plan (%s)", jobID, j.State)
	}
	return &p, j.State, nil
}

// FindPlan returns the plan of jobID and its chunks by index, whatever
// its state; ENOTFOUND when it has none.
func (db *DB) FindPlan(ctx context.Context, jobID string) (*Plan, []Chunk, error) {
	var p Plan
	chunks := []Chunk{}
	err := db.read(ctx, func(t tx) error {
		err := t.get(ctx, &p, `SELECT `+planColumns+` FROM transcode_plans WHERE job_id = ?`, jobID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "transcode plan not found")
		}
		if err != nil {
			return err
		}
		return t.sel(ctx, &chunks, `SELECT `+chunkColumns+` FROM transcode_chunks WHERE job_id = ? ORDER BY idx`, jobID)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find transcode plan: %w", err)
	}
	return &p, chunks, nil
}

// ClaimChunk gives the delivery on workerHost the most urgent piece of
// kind (ChunkVideo or ChunkAudio) of jobID's plan under a new chunk lease: a pending one due now, or a
// running one whose lease was not renewed since staleBefore (its worker
// died) and that has tries left. Each claim counts a try. ENOTFOUND when
// no piece is to be done; ECONFLICT when the plan is dead (the job
// canceled, replaced or finished).
func (db *DB) ClaimChunk(ctx context.Context, jobID, kind, workerHost string, staleBefore time.Time) (*Plan, *Chunk, error) {
	var (
		p *Plan
		c Chunk
	)
	skip := ""
	if db.dialect == DialectPostgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	err := db.write(ctx, func(t tx) error {
		var err error
		if p, _, err = livePlan(ctx, t, jobID, ""); err != nil {
			return err
		}
		now := db.now()
		err = t.get(ctx, &c, `SELECT `+chunkColumns+` FROM transcode_chunks
			WHERE job_id = ? AND kind = ? AND ((state = ? AND (retry_at IS NULL OR retry_at <= ?))
				OR (state = ? AND heartbeat_at < ? AND tries < max_tries))
			ORDER BY priority DESC, idx LIMIT 1`+skip,
			jobID, kind, ChunkPending, now, ChunkRunning, normTime(staleBefore))
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "no %s chunk of job %s is waiting", kind, jobID)
		}
		if err != nil {
			return err
		}
		c.Token, c.WorkerHost, c.State, c.HeartbeatAt = newID(), workerHost, ChunkRunning, &now
		c.Tries++
		if _, err := t.exec(ctx, `UPDATE transcode_chunks SET state = ?, token = ?, worker_host = ?, heartbeat_at = ?,
				tries = ?, retry_at = NULL WHERE job_id = ? AND idx = ?`,
			c.State, c.Token, workerHost, now, c.Tries, jobID, c.Index); err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE jobs SET heartbeat_at = ?, worker_host = ? WHERE id = ?`, now, workerHost, jobID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("claim transcode chunk: %w", err)
	}
	return p, &c, nil
}

// RenewChunk stamps the heartbeat of the chunk's lease and of its job. It
// returns ECONFLICT, with the job's state, when the chunk's lease was
// taken over or the plan is dead (canceled by an admin, replaced).
func (db *DB) RenewChunk(ctx context.Context, c *Chunk) (lectern.JobState, error) {
	var state lectern.JobState
	err := db.write(ctx, func(t tx) error {
		p, st, err := livePlan(ctx, t, c.JobID, "")
		state = st
		if err != nil {
			return err
		}
		now := db.now()
		n, err := t.exec(ctx, `UPDATE transcode_chunks SET heartbeat_at = ? WHERE job_id = ? AND idx = ? AND token = ?
			AND state = ?`, now, c.JobID, c.Index, c.Token, ChunkRunning)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on chunk %d of job %s was taken over", c.Index, c.JobID)
		}
		_, err = t.exec(ctx, `UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND lease_token = ?`, now, c.JobID, p.LeaseToken)
		return err
	})
	if err != nil {
		return state, fmt.Errorf("renew transcode chunk: %w", err)
	}
	return state, nil
}

// FinishChunk records the chunk done with its result, and sets the job's
// percent to pct. ECONFLICT when its lease was taken over or the plan is
// dead: then the result is no one's.
func (db *DB) FinishChunk(ctx context.Context, c *Chunk, result string, pctOf func(done, total int) float64) error {
	err := db.write(ctx, func(t tx) error {
		// The plan row is locked so that finishes of one plan are in order.
		if _, _, err := livePlan(ctx, t, c.JobID, db.forUpdate()); err != nil {
			return err
		}
		n, err := t.exec(ctx, `UPDATE transcode_chunks SET state = ?, result = ?, token = '', error = '', heartbeat_at = ?
			WHERE job_id = ? AND idx = ? AND token = ? AND state = ?`,
			ChunkDone, result, db.now(), c.JobID, c.Index, c.Token, ChunkRunning)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on chunk %d of job %s was taken over", c.Index, c.JobID)
		}
		var counts struct {
			Done  int `db:"done"`
			Total int `db:"total"`
		}
		if err := t.get(ctx, &counts, `SELECT COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0) AS done,
			COUNT(*) AS total FROM transcode_chunks WHERE job_id = ?`, ChunkDone, c.JobID); err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE jobs SET percent = ?, heartbeat_at = ? WHERE id = ?`,
			pctOf(counts.Done, counts.Total), db.now(), c.JobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish transcode chunk: %w", err)
	}
	return nil
}

// RecordChunkProgress records that the running chunk c has stored its
// first storedSegs segments (never fewer than a try before it stored), with
// result, what it has made so far, and stamps its heartbeat. ECONFLICT
// when its lease was taken over or the plan is dead.
func (db *DB) RecordChunkProgress(ctx context.Context, c *Chunk, storedSegs int, result string) error {
	err := db.write(ctx, func(t tx) error {
		if _, _, err := livePlan(ctx, t, c.JobID, ""); err != nil {
			return err
		}
		n, err := t.exec(ctx, `UPDATE transcode_chunks SET result = ?, heartbeat_at = ?,
				stored_segs = CASE WHEN stored_segs < ? THEN ? ELSE stored_segs END
			WHERE job_id = ? AND idx = ? AND token = ? AND state = ?`,
			result, db.now(), storedSegs, storedSegs, c.JobID, c.Index, c.Token, ChunkRunning)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on chunk %d of job %s was taken over", c.Index, c.JobID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record transcode chunk progress: %w", err)
	}
	return nil
}

// RetryChunk hands the chunk back for another try at retryAt, with the
// reason it failed. ECONFLICT when its lease was taken over.
func (db *DB) RetryChunk(ctx context.Context, c *Chunk, reason string, retryAt time.Time) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE transcode_chunks SET state = ?, token = '', error = ?, retry_at = ?
			WHERE job_id = ? AND idx = ? AND token = ? AND state = ?`,
			ChunkPending, reason, normTime(retryAt), c.JobID, c.Index, c.Token, ChunkRunning)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on chunk %d of job %s was taken over", c.Index, c.JobID)
		}
		_, err = t.exec(ctx, `UPDATE jobs SET error = ? WHERE id = ?`, reason, c.JobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("retry transcode chunk: %w", err)
	}
	return nil
}

// ReleaseChunk hands a running chunk back at once without counting the
// try (its worker is shutting down). It reports whether the lease was
// still held.
func (db *DB) ReleaseChunk(ctx context.Context, c *Chunk) (bool, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `UPDATE transcode_chunks SET state = ?, token = '', tries = tries - 1
			WHERE job_id = ? AND idx = ? AND token = ? AND state = ? AND tries > 0`,
			ChunkPending, c.JobID, c.Index, c.Token, ChunkRunning)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("release transcode chunk: %w", err)
	}
	return n == 1, nil
}

// FailChunk fails the chunk for good, and with it the plan's job and the
// lesson (see FailPlan), in one transaction. token is the chunk's lease
// ("" for the reconciler failing a chunk whose worker died on its last
// try). ECONFLICT when the plan is dead or the lease was taken over.
func (db *DB) FailChunk(ctx context.Context, jobID string, index int, token string, kind lectern.JobFailure, reason, logTail string) error {
	err := db.write(ctx, func(t tx) error {
		p, _, err := livePlan(ctx, t, jobID, db.forUpdate())
		if err != nil {
			return err
		}
		n, err := t.exec(ctx, `UPDATE transcode_chunks SET state = ?, token = '', error = ?
			WHERE job_id = ? AND idx = ? AND state = ? AND (? = '' OR token = ?)`,
			ChunkFailed, reason, jobID, index, ChunkRunning, token, token)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT, "the lease on chunk %d of job %s was taken over", index, jobID)
		}
		return db.failPlan(ctx, t, p, kind, reason, logTail)
	})
	if err != nil {
		return fmt.Errorf("fail transcode chunk: %w", err)
	}
	return nil
}

// FailPlan fails the plan's job and the lesson (see FailTranscode): an
// output published while the plan ran (PublishPlayable) is taken back,
// since the rest of it will never be made. ECONFLICT when the plan is
// dead.
func (db *DB) FailPlan(ctx context.Context, jobID string, kind lectern.JobFailure, reason string) error {
	err := db.write(ctx, func(t tx) error {
		p, _, err := livePlan(ctx, t, jobID, db.forUpdate())
		if err != nil {
			return err
		}
		return db.failPlan(ctx, t, p, kind, reason, "")
	})
	if err != nil {
		return fmt.Errorf("fail transcode plan: %w", err)
	}
	return nil
}

func (db *DB) failPlan(ctx context.Context, t tx, p *Plan, kind lectern.JobFailure, reason, logTail string) error {
	if err := unpublishPartial(ctx, t, p.LessonID); err != nil {
		return err
	}
	return db.failTranscode(ctx, t, p.LessonID, p.Attempt, p.JobID, p.LeaseToken, kind, reason, logTail)
}

// ClaimPlayable gives the caller the publication of the plan as playable
// (PublishPlayable): it reports false when another delivery has it, or
// the plan is dead.
func (db *DB) ClaimPlayable(ctx context.Context, jobID string) (bool, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		if _, _, err := livePlan(ctx, t, jobID, db.forUpdate()); err != nil {
			return err
		}
		var err error
		n, err = t.exec(ctx, `UPDATE transcode_plans SET playable_at = ? WHERE job_id = ? AND playable_at IS NULL`,
			db.now(), jobID)
		return err
	})
	if lectern.ErrorCode(err) == lectern.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim playable output: %w", err)
	}
	return n == 1, nil
}

// PublishPlayable makes the plan's output the lesson's while the rest is
// still encoded (the caller holds ClaimPlayable): output prefix,
// renditions and duration are set, the status stays processing, the
// poster and thumbnails are cleared (they come with the finished output).
// It returns the prefix the lesson had before, for the caller to delete.
// ECONFLICT when the plan is dead.
func (db *DB) PublishPlayable(ctx context.Context, jobID string, renditions lectern.Renditions, durationMS int64) (string, error) {
	var prev string
	err := db.write(ctx, func(t tx) error {
		p, _, err := livePlan(ctx, t, jobID, db.forUpdate())
		if err != nil {
			return err
		}
		if err := t.get(ctx, &prev, `SELECT output_prefix FROM lessons WHERE id = ?`+db.forUpdate(), p.LessonID); err != nil {
			return err
		}
		now := db.now()
		n, err := t.exec(ctx, `UPDATE lessons SET output_prefix = ?, renditions = ?, duration_ms = ?, poster = '',
				thumbnails = '', updated_at = ?
			WHERE id = ? AND attempt = ? AND status = ?`,
			p.Prefix, renditions, durationMS, now, p.LessonID, p.Attempt, lectern.LessonProcessing)
		if err != nil {
			return err
		}
		if n == 0 {
			return leaseLost(ctx, t, p.LessonID, p.Attempt, jobID)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("publish playable output: %w", err)
	}
	return prev, nil
}

// FinishPlan marks the plan finished once its output is published.
func (db *DB) FinishPlan(ctx context.Context, jobID string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE transcode_plans SET finished_at = ? WHERE job_id = ? AND finished_at IS NULL`,
			db.now(), jobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish transcode plan: %w", err)
	}
	return nil
}

// SegmentPending reports whether segment seg of the output under prefix,
// of a video rung or of the audio (kind), is still to be encoded by a live
// plan, and whether a plan is encoding that output at all; want also
// moves a video segment's chunk, and the one after it, to the front of
// the line (a viewer is waiting for it). The audio piece stores its
// segments in order as it goes: one is pending until it is among them.
func (db *DB) SegmentPending(ctx context.Context, prefix, kind string, seg int, want bool) (pending, inProgress bool, err error) {
	run := db.read
	if want && kind == ChunkVideo {
		run = db.write
	}
	err = run(ctx, func(t tx) error {
		var p Plan
		err := t.get(ctx, &p, `SELECT `+qualified(planColumns, "p")+` FROM transcode_plans p
			JOIN jobs j ON j.id = p.job_id AND j.state = ? AND j.lease_token = p.lease_token
			WHERE p.prefix = ? AND p.finished_at IS NULL`, lectern.JobRunning, prefix)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		inProgress = true
		var c Chunk
		if kind == ChunkAudio {
			err = t.get(ctx, &c, `SELECT `+chunkColumns+` FROM transcode_chunks WHERE job_id = ? AND kind = ?`,
				p.JobID, ChunkAudio)
		} else {
			err = t.get(ctx, &c, `SELECT `+chunkColumns+` FROM transcode_chunks
				WHERE job_id = ? AND kind = ? AND start_seg <= ? AND ? < start_seg + segs`, p.JobID, ChunkVideo, seg, seg)
		}
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		pending = c.State != ChunkDone && (kind != ChunkAudio || seg >= c.StoredSegs)
		if !pending || !want || kind == ChunkAudio {
			return nil
		}
		// Later seeks win: a viewer who moved on is served first.
		_, err = t.exec(ctx, `UPDATE transcode_chunks SET priority = ?
			WHERE job_id = ? AND idx IN (?, ?) AND state <> ? AND priority < ?`,
			db.now().UnixMilli(), c.JobID, c.Index, c.Index+1, ChunkDone, db.now().UnixMilli()-pendingRaiseEvery)
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("check pending segment: %w", err)
	}
	return pending, inProgress, nil
}

// pendingRaiseEvery limits how often (in ms) a chunk's priority is raised
// again, so that the held requests of one viewer do not write on each
// poll.
const pendingRaiseEvery = 2000

// OutputInProgress reports whether prefix is the output of a plan still
// being encoded.
func (db *DB) OutputInProgress(ctx context.Context, prefix string) (bool, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM transcode_plans WHERE prefix = ? AND finished_at IS NULL`, prefix)
	})
	if err != nil {
		return false, fmt.Errorf("check output in progress: %w", err)
	}
	return n > 0, nil
}

// ChunkWork is a piece of a live plan the queue must hold a task for.
type ChunkWork struct {
	LessonID string `db:"lesson_id"`
	Attempt  int    `db:"attempt"`
	JobID    string `db:"job_id"`
	Queue    string `db:"queue"`
	Index    int    `db:"idx"`
	// Kind is the piece's kind ("" for a plan's publishing row).
	Kind     string `db:"kind"`
	State    string `db:"state"`
	Tries    int    `db:"tries"`
	MaxTries int    `db:"max_tries"`
	Stale    bool   `db:"stale"`
	// RetryAt is when a piece that failed a try is due again.
	RetryAt *time.Time `db:"retry_at"`
}

// FindChunkWork returns, for the reconciler, the pieces of live plans that
// wait for a worker (pending) or whose worker stopped renewing its lease
// before staleBefore, and one row (Index -1) per live plan whose pieces
// are all done but whose job has not beaten since staleBefore (its
// finishing worker died).
func (db *DB) FindChunkWork(ctx context.Context, staleBefore time.Time) ([]ChunkWork, error) {
	work := []ChunkWork{}
	err := db.read(ctx, func(t tx) error {
		live := `FROM transcode_plans p JOIN jobs j ON j.id = p.job_id AND j.state = ? AND j.lease_token = p.lease_token
			JOIN lessons l ON l.id = j.lesson_id AND l.attempt = j.attempt`
		err := t.sel(ctx, &work, `SELECT p.lesson_id, p.attempt, p.job_id, j.queue, c.idx, c.kind, c.state, c.tries, c.max_tries,
				c.state = ? AS stale, c.retry_at `+live+`
			JOIN transcode_chunks c ON c.job_id = p.job_id
			WHERE c.state = ? OR (c.state = ? AND c.heartbeat_at < ?)
			ORDER BY p.created_at, c.idx`,
			ChunkRunning, lectern.JobRunning, ChunkPending, ChunkRunning, normTime(staleBefore))
		if err != nil {
			return err
		}
		var done []ChunkWork
		err = t.sel(ctx, &done, `SELECT p.lesson_id, p.attempt, p.job_id, j.queue, -1 AS idx, '' AS kind, '' AS state, 0 AS tries,
				0 AS max_tries, 1 = 1 AS stale, NULL AS retry_at `+live+`
			WHERE (j.heartbeat_at IS NULL OR j.heartbeat_at < ?)
				AND NOT EXISTS (SELECT 1 FROM transcode_chunks c WHERE c.job_id = p.job_id AND c.state <> ?)`,
			lectern.JobRunning, normTime(staleBefore), ChunkDone)
		work = append(work, done...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find transcode chunk work: %w", err)
	}
	return work, nil
}

// unpublishPartial takes back, in t, an output of lessonID published
// while its plan was still encoding (PublishPlayable): the plan is ending
// (a newer upload, an admin's cancel), and the rest of it will never be
// made.
func unpublishPartial(ctx context.Context, t tx, lessonID string) error {
	_, err := t.exec(ctx, `UPDATE lessons SET output_prefix = '', renditions = ?, duration_ms = 0
		WHERE id = ? AND output_prefix IN (SELECT p.prefix FROM transcode_plans p JOIN jobs j ON j.id = p.job_id
			WHERE p.lesson_id = ? AND p.finished_at IS NULL AND j.state <> ?)`,
		lectern.Renditions{}, lessonID, lessonID, lectern.JobSucceeded)
	return err
}

// ChunkCount is how many pieces of a lesson's plan are in one state.
type ChunkCount struct {
	LessonID string `db:"lesson_id"`
	State    string `db:"state"`
	N        int    `db:"n"`
}

// WorkerChunks is how many pieces one worker is running.
type WorkerChunks struct {
	Worker string `db:"worker_host"`
	N      int    `db:"n"`
}

// FindChunkProgress returns, for the queue metrics, the pieces of every
// live plan whose job is still running, counted by lesson and state, and
// the running pieces counted by the worker holding them. A lesson drops
// out once its transcode is published, failed or canceled, so the counts
// stay as few as the transcodes in progress.
func (db *DB) FindChunkProgress(ctx context.Context) ([]ChunkCount, []WorkerChunks, error) {
	counts, workers := []ChunkCount{}, []WorkerChunks{}
	err := db.read(ctx, func(t tx) error {
		live := `FROM transcode_plans p JOIN jobs j ON j.id = p.job_id AND j.state = ? AND j.lease_token = p.lease_token
			JOIN transcode_chunks c ON c.job_id = p.job_id`
		err := t.sel(ctx, &counts, `SELECT p.lesson_id, c.state, COUNT(*) AS n `+live+`
			GROUP BY p.lesson_id, c.state ORDER BY p.lesson_id, c.state`, lectern.JobRunning)
		if err != nil {
			return err
		}
		return t.sel(ctx, &workers, `SELECT c.worker_host, COUNT(*) AS n `+live+`
			WHERE c.state = ? GROUP BY c.worker_host ORDER BY c.worker_host`, lectern.JobRunning, ChunkRunning)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find transcode chunk progress: %w", err)
	}
	return counts, workers, nil
}
