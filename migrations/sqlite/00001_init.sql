-- +goose Up
-- Times are TIMESTAMP columns holding UTC text in the driver's "sqlite"
-- format (2006-01-02 15:04:05.999999999+00:00), which modernc.org/sqlite
-- parses back into time.Time because of the declared type. With a fixed
-- +00:00 offset the text sorts in time order, so ORDER BY and comparisons
-- work on it. Ids are opaque random strings made by the db package.
-- Emails are stored trimmed and lowercased, so the plain unique constraint
-- makes them unique case-insensitively.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE courses (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    join_code   TEXT NOT NULL UNIQUE,
    owner_id    TEXT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX courses_owner_id_idx ON courses (owner_id);

CREATE TABLE course_members (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('teacher', 'student')),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX course_members_user_id_idx ON course_members (user_id);

CREATE TABLE lessons (
    id            TEXT PRIMARY KEY,
    course_id     TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('awaiting_upload', 'queued', 'processing', 'ready', 'failed')),
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    source_key    TEXT NOT NULL DEFAULT '',
    output_prefix TEXT NOT NULL DEFAULT '',
    attempt       INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX lessons_course_id_created_at_idx ON lessons (course_id, created_at);
CREATE INDEX lessons_status_idx ON lessons (status);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    lesson_id    TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    task_id      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    percent      REAL NOT NULL DEFAULT 0 CHECK (percent >= 0 AND percent <= 100),
    error        TEXT NOT NULL DEFAULT '',
    log_tail     TEXT NOT NULL DEFAULT '',
    worker_host  TEXT NOT NULL DEFAULT '',
    retries      INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    heartbeat_at TIMESTAMP,
    UNIQUE (lesson_id, attempt)
);
CREATE INDEX jobs_state_created_at_idx ON jobs (state, created_at);
CREATE INDEX jobs_created_at_idx ON jobs (created_at);
CREATE INDEX jobs_task_id_idx ON jobs (task_id);
