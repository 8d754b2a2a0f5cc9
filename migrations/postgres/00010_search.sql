-- +goose Up
-- Full-text search over what a course holds: lesson titles and
-- descriptions, chapter titles, caption cues, and comments, questions and
-- notes. search_entries has one row per searchable text with what search
-- needs to place and show it (course, lesson, kind, moment, text) and to
-- check who may see it at query time (the caption track's language, the
-- comment). Two generated tsvectors are GIN-indexed together: terms, the text
-- weighted by kind (title A, chapter B, description C, captions and
-- entries D) for ts_rank_cd, and scope, the course id as a single lexeme,
-- so that a search restricted to a user's courses intersects posting
-- lists in the index instead of fetching everyone else's matches.
--
-- Captions are in many languages, so the text search configuration is
-- 'simple' (lowercase, no stemming and no stop words, which are
-- language-specific and would make a French track unsearchable by an
-- English stemmer), plus unaccent where the extension can be had, so that
-- "cafe" finds "Café" as it does on SQLite. unaccent is a trusted
-- extension (PostgreSQL 13+), which a database owner may create; where it
-- cannot be created, search still works, only accents then count.
--
-- Triggers keep search_entries in step with the source tables, so no
-- repository method has to remember: lessons (title, description),
-- caption_cues (replaced on every caption save and restore, removed with
-- the track) and comments (posted, edited, soft-deleted). Rows go away
-- with their lesson, cue or comment by ON DELETE CASCADE. Chapters are
-- indexed by the db package (replaceChapterEntries) in the transaction
-- that sets them.

-- +goose StatementBegin
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'search: the unaccent extension is not available (%); accents will count', SQLERRM;
    END;
END
$$;
-- +goose StatementEnd

CREATE TEXT SEARCH CONFIGURATION lectern_search (COPY = pg_catalog.simple);

-- +goose StatementBegin
DO $$
DECLARE
    ns TEXT;
BEGIN
    SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'unaccent';
    IF ns IS NOT NULL THEN
        EXECUTE format('ALTER TEXT SEARCH CONFIGURATION lectern_search
            ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart
            WITH %I.unaccent, pg_catalog.simple', ns);
    END IF;
END
$$;
-- +goose StatementEnd

CREATE TABLE search_entries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_id  TEXT NOT NULL,
    lesson_id  TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('title', 'description', 'chapter', 'caption', 'comment', 'question', 'note')),
    at_ms      BIGINT NOT NULL DEFAULT 0,
    body       TEXT NOT NULL,
    lang       TEXT,
    cue_id     BIGINT REFERENCES caption_cues (id) ON DELETE CASCADE,
    comment_id TEXT REFERENCES comments (id) ON DELETE CASCADE,
    terms      tsvector GENERATED ALWAYS AS (setweight(to_tsvector('lectern_search', body),
                   (CASE kind WHEN 'title' THEN 'A' WHEN 'chapter' THEN 'B' WHEN 'description' THEN 'C' ELSE 'D' END)::"char")) STORED,
    scope      tsvector GENERATED ALWAYS AS (array_to_tsvector(ARRAY[course_id])) STORED
);
CREATE INDEX search_entries_lesson_idx ON search_entries (lesson_id, kind);
CREATE INDEX search_entries_cue_idx ON search_entries (cue_id) WHERE cue_id IS NOT NULL;
CREATE INDEX search_entries_comment_idx ON search_entries (comment_id) WHERE comment_id IS NOT NULL;

INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
    SELECT course_id, id, 'title', 0, title FROM lessons;
INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
    SELECT course_id, id, 'description', 0, description FROM lessons WHERE description <> '';
INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
    SELECT l.course_id, c.lesson_id, 'chapter', c.start_ms, c.title FROM chapters c JOIN lessons l ON l.id = c.lesson_id;
INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, lang, cue_id)
    SELECT l.course_id, q.lesson_id, 'caption', q.start_ms, q.text, q.lang, q.id
    FROM caption_cues q JOIN lessons l ON l.id = q.lesson_id;
INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, comment_id)
    SELECT course_id, lesson_id, kind, at_ms, body, id FROM comments WHERE deleted_at IS NULL AND body <> '';

-- Built after the backfill: one pass instead of row by row. Captions have
-- an index of their own because they are most of the rows: a search ranks
-- every title, description, chapter and entry it finds, but at most the
-- newest matching cues (see db.maxRankedCaptions), and the first would
-- otherwise fetch every matching cue only to drop it.
CREATE INDEX search_entries_captions_idx ON search_entries USING gin (scope, terms) WHERE kind = 'caption';
CREATE INDEX search_entries_texts_idx ON search_entries USING gin (scope, terms) WHERE kind <> 'caption';

-- +goose StatementBegin
CREATE FUNCTION search_index_lesson() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.title IS NOT DISTINCT FROM OLD.title AND NEW.description IS NOT DISTINCT FROM OLD.description THEN
            RETURN NULL;
        END IF;
        DELETE FROM search_entries WHERE lesson_id = NEW.id AND kind IN ('title', 'description');
    END IF;
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
        VALUES (NEW.course_id, NEW.id, 'title', 0, NEW.title);
    IF NEW.description <> '' THEN
        INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
            VALUES (NEW.course_id, NEW.id, 'description', 0, NEW.description);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER lessons_search AFTER INSERT OR UPDATE OF title, description ON lessons
    FOR EACH ROW EXECUTE FUNCTION search_index_lesson();

-- A caption save inserts its cues a few hundred per statement: one
-- statement-level trigger indexes each batch with one INSERT.
-- +goose StatementBegin
CREATE FUNCTION search_index_new_cues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, lang, cue_id)
        SELECT l.course_id, q.lesson_id, 'caption', q.start_ms, q.text, q.lang, q.id
        FROM new_cues q JOIN lessons l ON l.id = q.lesson_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER caption_cues_search_insert AFTER INSERT ON caption_cues
    REFERENCING NEW TABLE AS new_cues FOR EACH STATEMENT EXECUTE FUNCTION search_index_new_cues();

-- +goose StatementBegin
CREATE FUNCTION search_index_changed_cue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_entries SET at_ms = NEW.start_ms, body = NEW.text WHERE cue_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER caption_cues_search_update AFTER UPDATE OF start_ms, text ON caption_cues
    FOR EACH ROW EXECUTE FUNCTION search_index_changed_cue();

-- +goose StatementBegin
CREATE FUNCTION search_index_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.body IS NOT DISTINCT FROM OLD.body AND NEW.deleted_at IS NOT DISTINCT FROM OLD.deleted_at
            AND NEW.kind IS NOT DISTINCT FROM OLD.kind AND NEW.at_ms IS NOT DISTINCT FROM OLD.at_ms THEN
            RETURN NULL;
        END IF;
        DELETE FROM search_entries WHERE comment_id = NEW.id;
    END IF;
    IF NEW.deleted_at IS NULL AND NEW.body <> '' THEN
        INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, comment_id)
            VALUES (NEW.course_id, NEW.lesson_id, NEW.kind, NEW.at_ms, NEW.body, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER comments_search AFTER INSERT OR UPDATE OF body, deleted_at, kind, at_ms ON comments
    FOR EACH ROW EXECUTE FUNCTION search_index_comment();
