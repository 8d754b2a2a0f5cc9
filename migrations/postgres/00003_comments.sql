-- +goose Up
-- Entries anchored to a moment of a lesson: comments, questions, notes and
-- their replies (one level deep). course_id repeats the lesson's course so
-- that visibility and the teachers' inbox need no join through lessons.
-- A reply copies its thread's anchor and visibility; thread_author_id is
-- the author of the thread's first entry (its own author for a first
-- entry), so that the asker of a teachers-only question sees the answers.
-- A deleted entry keeps its row with an empty body and deleted_at set.
CREATE TABLE comments (
    id                TEXT PRIMARY KEY,
    lesson_id         TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    course_id         TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    parent_id         TEXT REFERENCES comments (id) ON DELETE CASCADE,
    author_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_author_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('comment', 'question', 'note')),
    visibility        TEXT NOT NULL CHECK (visibility IN ('class', 'teachers', 'private')),
    at_ms             BIGINT NOT NULL CHECK (at_ms >= 0),
    end_ms            BIGINT CHECK (end_ms IS NULL OR end_ms >= at_ms),
    body              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT '' CHECK (status IN ('', 'open', 'answered', 'resolved')),
    status_changed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    status_changed_at TIMESTAMPTZ,
    accepted_id       TEXT REFERENCES comments (id) ON DELETE SET NULL,
    accepted_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    accepted_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    edited_at         TIMESTAMPTZ,
    deleted_at        TIMESTAMPTZ,
    deleted_by        TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX comments_lesson_position_idx ON comments (lesson_id, at_ms, created_at, id) WHERE parent_id IS NULL;
CREATE INDEX comments_parent_idx ON comments (parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_course_questions_idx ON comments (course_id, status, created_at, id) WHERE parent_id IS NULL AND kind = 'question';
CREATE INDEX comments_author_id_idx ON comments (author_id);

-- One notification per question and asker: a teacher's answer (re)sets
-- answer_id and created_at and marks it unread.
CREATE TABLE comment_notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    answer_id   TEXT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    read_at     TIMESTAMPTZ,
    UNIQUE (user_id, question_id)
);
CREATE INDEX comment_notifications_user_idx ON comment_notifications (user_id, created_at);
