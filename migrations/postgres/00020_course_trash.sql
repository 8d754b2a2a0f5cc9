-- +goose Up
-- Archiving and the trash (issue 15). archived_at is when a course was
-- archived (read-only, still watchable by its members, hidden from the
-- main list); NULL when it is not. deleted_at is when a course or lesson
-- was moved to the trash, and deleted_by who did it: a trashed item is
-- gone for everyone but can be restored until the retention has passed,
-- when the purge removes its media and rows for good.
ALTER TABLE courses ADD COLUMN archived_at TIMESTAMPTZ;
ALTER TABLE courses ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE courses ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE lessons ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE lessons ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
CREATE INDEX courses_deleted_at_idx ON courses (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX lessons_deleted_at_idx ON lessons (deleted_at) WHERE deleted_at IS NOT NULL;
