-- +goose Up
-- Chunked transcodes (transcode/chunks.go, db/chunk.go). After the probe
-- a job's delivery may split the work in time: a plan, recorded here under
-- the delivery's lease, of video chunks (a whole number of segments each,
-- every rung encoded by one ffmpeg run) plus one row for the audio of the
-- whole lesson. Each row is claimed by any worker through its own queue
-- task, under a lease of its own (token, heartbeat), and retried alone.
-- The plan's output prefix (transcode_outputs) receives every chunk.
CREATE TABLE transcode_plans (
    job_id      TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    lease_token TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    spec        TEXT NOT NULL,
    chunks      INTEGER NOT NULL,
    playable_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX transcode_plans_prefix_idx ON transcode_plans (prefix);

CREATE TABLE transcode_chunks (
    job_id       TEXT NOT NULL REFERENCES transcode_plans (job_id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    start_seg    INTEGER NOT NULL,
    segs         INTEGER NOT NULL,
    state        TEXT NOT NULL,
    priority     BIGINT NOT NULL DEFAULT 0,
    tries        INTEGER NOT NULL DEFAULT 0,
    max_tries    INTEGER NOT NULL,
    token        TEXT NOT NULL DEFAULT '',
    worker_host  TEXT NOT NULL DEFAULT '',
    heartbeat_at TIMESTAMPTZ,
    retry_at     TIMESTAMPTZ,
    error        TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, idx)
);
