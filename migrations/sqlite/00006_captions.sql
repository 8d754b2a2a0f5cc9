-- +goose Up
-- Captions of a lesson: one track per language (lang is a canonical BCP 47
-- tag such as "en" or "pt-BR"). Every save of a track is a new version
-- whose normalised WebVTT is an object under the lesson's storage prefix;
-- the track names its current version and that version's object. At most
-- one track of a lesson is the default, and a draft (seen by the course's
-- teachers only) is never the default.
CREATE TABLE caption_tracks (
    lesson_id  TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    lang       TEXT NOT NULL,
    label      TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    status     TEXT NOT NULL CHECK (status IN ('published', 'draft')),
    version    INTEGER NOT NULL CHECK (version >= 1),
    object_key TEXT NOT NULL,
    cue_count  INTEGER NOT NULL CHECK (cue_count >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lesson_id, lang),
    CHECK (is_default = 0 OR status = 'published')
);
CREATE UNIQUE INDEX caption_tracks_one_default_idx ON caption_tracks (lesson_id) WHERE is_default = 1;

-- Every version of a track, kept until the track is deleted. A restore is
-- a new version with the object of the one it restores (restored_from).
-- source says where a version came from: a file upload, the caption
-- editor, a restore, or (later) a speech recognizer.
CREATE TABLE caption_versions (
    lesson_id     TEXT NOT NULL,
    lang          TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    object_key    TEXT NOT NULL,
    cue_count     INTEGER NOT NULL CHECK (cue_count >= 0),
    source        TEXT NOT NULL CHECK (source IN ('upload', 'editor', 'restore', 'recognizer')),
    restored_from INTEGER,
    author_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (lesson_id, lang, version),
    FOREIGN KEY (lesson_id, lang) REFERENCES caption_tracks (lesson_id, lang) ON DELETE CASCADE
);
CREATE INDEX caption_versions_author_id_idx ON caption_versions (author_id);

-- The cues of each track's current version, as plain text (tags removed,
-- lines joined by a space), replaced on every save and restore and removed
-- with the track: what full-text search indexes. seq is the cue's place in
-- the track, from 0.
CREATE TABLE caption_cues (
    id        INTEGER PRIMARY KEY,
    lesson_id TEXT NOT NULL,
    lang      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    start_ms  INTEGER NOT NULL CHECK (start_ms >= 0),
    end_ms    INTEGER NOT NULL CHECK (end_ms > start_ms),
    text      TEXT NOT NULL,
    UNIQUE (lesson_id, lang, seq),
    FOREIGN KEY (lesson_id, lang) REFERENCES caption_tracks (lesson_id, lang) ON DELETE CASCADE
);
