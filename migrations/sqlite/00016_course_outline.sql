-- +goose Up
-- Course structure and publishing (issue 15). A course's lessons live in
-- ordered sections (weeks, topics); a lesson without a section is listed
-- before the first section. outline_version counts changes to that order,
-- so that a client reordering from a stale copy gets a conflict instead of
-- undoing someone else's change.
--
-- published_at is when a lesson becomes visible to students: NULL is a
-- draft, a future time a scheduled lesson. Lessons that exist before this
-- migration stay visible (published when they were created). watch_by is
-- an optional date by which students should have watched the lesson, and
-- time_zone the IANA zone in which the course's teachers give those dates.
CREATE TABLE course_sections (
    id         TEXT PRIMARY KEY,
    course_id  TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    position   INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX course_sections_course_id_idx ON course_sections (course_id, position);

ALTER TABLE courses ADD COLUMN outline_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE courses ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

ALTER TABLE lessons ADD COLUMN section_id TEXT REFERENCES course_sections (id) ON DELETE SET NULL;
ALTER TABLE lessons ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lessons ADD COLUMN published_at TIMESTAMP;
ALTER TABLE lessons ADD COLUMN watch_by TIMESTAMP;
CREATE INDEX lessons_section_id_idx ON lessons (section_id);

-- Existing lessons keep their upload order and stay visible.
UPDATE lessons SET
    position = (SELECT COUNT(*) FROM lessons o WHERE o.course_id = lessons.course_id
        AND (o.created_at < lessons.created_at OR (o.created_at = lessons.created_at AND o.id < lessons.id))),
    published_at = created_at;
