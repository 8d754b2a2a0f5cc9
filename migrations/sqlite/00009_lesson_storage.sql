-- +goose Up
-- How many bytes each lesson's files take in storage, for teachers'
-- storage quotas: the size of the source under source_key and of the
-- output under output_prefix, measured once each (both never change once
-- written: a new upload or transcode gets a new key or prefix). A row
-- whose key or prefix differs from the lesson's is out of date, and the
-- lesson is measured again.
CREATE TABLE lesson_storage (
    lesson_id     TEXT PRIMARY KEY REFERENCES lessons (id) ON DELETE CASCADE,
    source_key    TEXT NOT NULL DEFAULT '',
    source_bytes  INTEGER NOT NULL DEFAULT 0,
    output_prefix TEXT NOT NULL DEFAULT '',
    output_bytes  INTEGER NOT NULL DEFAULT 0
);
