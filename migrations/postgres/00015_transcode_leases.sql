-- +goose Up
-- Fencing of transcode deliveries (a worker's run of a job's task). Each
-- delivery takes the job's lease: a random token in jobs.lease_token,
-- renewed through heartbeat_at while it runs. Every state write of a
-- delivery is conditional on its token, so a delivery whose lease was
-- taken (its worker paused, cut off or presumed dead) changes nothing.
ALTER TABLE jobs ADD COLUMN lease_token TEXT NOT NULL DEFAULT '';

-- Each delivery uploads its output under a prefix of its own,
-- lessons/<id>/hls/<n>/, n taken from the lesson's output sequence. The
-- sequence starts past the attempt numbers that named outputs until now.
ALTER TABLE lessons ADD COLUMN output_seq INTEGER NOT NULL DEFAULT 0;
UPDATE lessons SET output_seq = attempt;

-- The output prefixes deliveries have written to, with the lease that
-- wrote each: the reconciler deletes those of dead deliveries that no
-- lesson publishes.
CREATE TABLE transcode_outputs (
    prefix      TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    job_id      TEXT NOT NULL,
    lease_token TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX transcode_outputs_lesson_idx ON transcode_outputs (lesson_id);
