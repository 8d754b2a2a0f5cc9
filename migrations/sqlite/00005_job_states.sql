-- +goose Up
-- A job's state, said in full:
-- * state 'retrying': a try failed for a passing reason and the next one
--   starts at retry_at;
-- * failure: why a finished job has no output ('refused': the file cannot
--   be used; 'setup': the server is misconfigured; 'exhausted': every try
--   failed; 'timeout': it took too long; 'canceled': stopped by an admin or
--   replaced by a newer upload); '' otherwise;
-- * max_tries: how many tries the job may have (retries counts the failed
--   ones), so that people can be told "try 2 of 6";
-- * queue and queue_priority: the queue its task went to and that queue's
--   priority (higher is served first), for the job's place in the line.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE jobs_new (
    id             TEXT PRIMARY KEY,
    lesson_id      TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    attempt        INTEGER NOT NULL,
    task_id        TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'canceled')),
    percent        REAL NOT NULL DEFAULT 0 CHECK (percent >= 0 AND percent <= 100),
    error          TEXT NOT NULL DEFAULT '',
    log_tail       TEXT NOT NULL DEFAULT '',
    worker_host    TEXT NOT NULL DEFAULT '',
    retries        INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    started_at     TIMESTAMP,
    finished_at    TIMESTAMP,
    heartbeat_at   TIMESTAMP,
    failure        TEXT NOT NULL DEFAULT '' CHECK (failure IN ('', 'refused', 'setup', 'exhausted', 'timeout', 'canceled')),
    retry_at       TIMESTAMP,
    max_tries      INTEGER NOT NULL DEFAULT 6 CHECK (max_tries >= 1),
    queue          TEXT NOT NULL DEFAULT '',
    queue_priority INTEGER NOT NULL DEFAULT 0,
    UNIQUE (lesson_id, attempt)
);
-- Failed jobs so far failed in one of three ways: out of tries, a dead
-- worker (both "exhausted"), or a refused file.
INSERT INTO jobs_new (id, lesson_id, attempt, task_id, state, percent, error, log_tail, worker_host,
        retries, created_at, started_at, finished_at, heartbeat_at, failure)
    SELECT id, lesson_id, attempt, task_id, state, percent, error, log_tail, worker_host,
        retries, created_at, started_at, finished_at, heartbeat_at,
        CASE
            WHEN state = 'canceled' THEN 'canceled'
            WHEN state <> 'failed' THEN ''
            WHEN error LIKE 'Processing failed after%' OR error LIKE 'Processing stopped:%' THEN 'exhausted'
            ELSE 'refused'
        END
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_state_created_at_idx ON jobs (state, created_at);
CREATE INDEX jobs_created_at_idx ON jobs (created_at);
CREATE INDEX jobs_task_id_idx ON jobs (task_id);
