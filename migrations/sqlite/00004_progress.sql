-- +goose Up
-- Watch progress. A course sets the share of a lesson (whole percent) a
-- student must have watched for it to count as completed.
ALTER TABLE courses ADD COLUMN completion_threshold INTEGER NOT NULL DEFAULT 90
    CHECK (completion_threshold BETWEEN 1 AND 100);

-- One row per user and lesson they have watched. coverage is a bitmap of
-- the seconds watched (bit s%8 of byte s/8 is second s), merged with OR so
-- that repeated or reordered heartbeats never count twice; rewatched marks
-- the seconds the user watched again. covered_secs is the number of bits
-- set in coverage. position_* name the beat the position came from: its
-- session, sequence number and the session's first-seen time, which orders
-- sessions so that an older tab cannot move the position back.
-- budget_ms is how much newly watched media the next beats may still
-- credit, refilled with wall time since updated_at (the last beat).
CREATE TABLE lesson_progress (
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lesson_id        TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    coverage         BLOB NOT NULL,
    rewatched        BLOB NOT NULL,
    covered_secs     INTEGER NOT NULL DEFAULT 0,
    position_ms      INTEGER NOT NULL DEFAULT 0,
    position_session TEXT NOT NULL DEFAULT '',
    position_seq     INTEGER NOT NULL DEFAULT -1,
    position_seen_at TIMESTAMP,
    budget_ms        INTEGER NOT NULL DEFAULT 0,
    completed_at     TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, lesson_id)
);
CREATE INDEX lesson_progress_lesson_id_idx ON lesson_progress (lesson_id);

-- The player sessions (page loads) that sent beats for a user and lesson:
-- when each was first seen and the highest sequence number it sent.
CREATE TABLE progress_sessions (
    user_id       TEXT NOT NULL,
    lesson_id     TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seq      INTEGER NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, lesson_id, session_id),
    FOREIGN KEY (user_id, lesson_id) REFERENCES lesson_progress (user_id, lesson_id) ON DELETE CASCADE
);
