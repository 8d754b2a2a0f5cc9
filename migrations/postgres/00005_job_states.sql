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
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'canceled'));
ALTER TABLE jobs ADD COLUMN failure TEXT NOT NULL DEFAULT ''
    CHECK (failure IN ('', 'refused', 'setup', 'exhausted', 'timeout', 'canceled'));
ALTER TABLE jobs ADD COLUMN retry_at TIMESTAMPTZ;
ALTER TABLE jobs ADD COLUMN max_tries INTEGER NOT NULL DEFAULT 6 CHECK (max_tries >= 1);
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 0;
-- Failed jobs so far failed in one of three ways: out of tries, a dead
-- worker (both "exhausted"), or a refused file.
UPDATE jobs SET failure = CASE
        WHEN state = 'canceled' THEN 'canceled'
        WHEN error LIKE 'Processing failed after%' OR error LIKE 'Processing stopped:%' THEN 'exhausted'
        ELSE 'refused'
    END
    WHERE state IN ('failed', 'canceled');
