-- +goose Up
-- A lesson's chapters: named parts starting at start_ms, each running to
-- the next one's start (or the end of the lesson). A teacher sets them all
-- at once (PUT …/chapters replaces the lesson's rows); later, the
-- transcoder may import them from the uploaded file.
CREATE TABLE chapters (
    lesson_id TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    start_ms  INTEGER NOT NULL CHECK (start_ms >= 0),
    title     TEXT NOT NULL CHECK (title <> ''),
    PRIMARY KEY (lesson_id, start_ms)
);

-- A user's player settings, kept on the server so that they follow the
-- user from device to device. No row means the defaults: captions off,
-- medium size, semi-transparent background. caption_lang is a canonical
-- BCP 47 tag, or '' for captions off.
CREATE TABLE user_preferences (
    user_id            TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    caption_lang       TEXT NOT NULL DEFAULT '',
    caption_size       TEXT NOT NULL DEFAULT 'medium' CHECK (caption_size IN ('small', 'medium', 'large')),
    caption_background TEXT NOT NULL DEFAULT 'semi' CHECK (caption_background IN ('none', 'semi', 'solid')),
    updated_at         TIMESTAMP NOT NULL
);
