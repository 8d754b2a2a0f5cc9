-- +goose Up
-- Automatic captions: when the operator has configured a speech
-- recognizer (LECTERN_ASR_COMMAND), every published transcode of a lesson
-- gets a recognition job, which saves a draft caption track for the
-- course's teachers to review. One row per lesson, for the transcode
-- attempt whose recording it recognises (a newer publication replaces
-- it): the database, not the queue, holds the job's state, so the
-- reconciler can re-enqueue a task the queue lost and the caption editor
-- can say how it went.
-- * state: queued (also while waiting for a retry, error then says why),
--   running, done (a draft track in lang was saved), skipped (a track in
--   lang made by a person exists; automatic captions never replace it),
--   failed (every try failed; error says why);
-- * tries: tries started so far, at most max_tries.
CREATE TABLE asr_jobs (
    lesson_id   TEXT PRIMARY KEY REFERENCES lessons (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    lang        TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'skipped', 'failed')),
    tries       INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
    max_tries   INTEGER NOT NULL CHECK (max_tries >= 1),
    error       TEXT NOT NULL DEFAULT '',
    cue_count   INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX asr_jobs_state_idx ON asr_jobs (state);
