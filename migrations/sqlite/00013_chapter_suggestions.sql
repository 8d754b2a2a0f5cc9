-- +goose Up
-- Chapter starts the transcoder suggests where the picture changed as a
-- slide does (a slide lecture moving on), for the course's teachers to
-- accept (it becomes a chapter), rename, or discard; students never see
-- them. Each publication of a recording replaces the lesson's.
CREATE TABLE chapter_suggestions (
    id         TEXT PRIMARY KEY,
    lesson_id  TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    start_ms   INTEGER NOT NULL CHECK (start_ms >= 0),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (lesson_id, start_ms)
);
