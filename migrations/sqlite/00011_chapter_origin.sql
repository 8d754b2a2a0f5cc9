-- +goose Up
-- Where a lesson's chapters come from: '' (it has none), 'teacher' (set
-- through the API, which the transcoder never overrides, even when the
-- teacher removed them all) or 'file' (imported from the uploaded
-- recording at transcode, replaced by the next upload's). Lessons that
-- already have chapters had them from their teacher.
ALTER TABLE lessons ADD COLUMN chapters_origin TEXT NOT NULL DEFAULT ''
    CHECK (chapters_origin IN ('', 'teacher', 'file'));
UPDATE lessons SET chapters_origin = 'teacher'
    WHERE EXISTS (SELECT 1 FROM chapters c WHERE c.lesson_id = lessons.id);
