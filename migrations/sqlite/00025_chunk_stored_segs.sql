-- +goose Up
-- The audio piece of a chunked transcode publishes its segments as its
-- ffmpeg run writes them (transcode/chunk_audio.go): stored_segs counts the
-- segments stored from the start, so that the lesson plays once the
-- opening video chunk and the opening seconds of audio are stored, and the
-- media route holds only requests for audio not stored yet.
ALTER TABLE transcode_chunks ADD COLUMN stored_segs INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE transcode_chunks DROP COLUMN stored_segs;
