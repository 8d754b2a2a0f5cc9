-- +goose Up
-- Full-text search over what a course holds: lesson titles and
-- descriptions, chapter titles, caption cues, and comments, questions and
-- notes. search_entries has one row per searchable text with what search
-- needs to place and show it (course, lesson, kind, moment, text) and to
-- check who may see it at query time (the caption track's language, the
-- comment). Two FTS5 tables index it: search_caption_fts the caption
-- cues, search_fts everything else, with one column per kind so that bm25
-- can weigh a title match above a chapter, a description or a comment.
-- Captions have a table of their own because they are most of the rows:
-- bm25 counts, for every word of a query, the rows that hold it in the
-- whole table, and the few thousand titles, descriptions and entries of a
-- school are ranked without walking its million cues. Each table has a
-- scope column holding the course id, so that a search restricted to a
-- user's courses intersects postings inside the index instead of ranking
-- everyone else's matches.
--
-- Triggers keep both in step with the source tables, so no repository
-- method has to remember: lessons (title, description), caption_cues
-- (replaced on every caption save and restore, removed with the track)
-- and comments (posted, edited, soft-deleted). Rows go away with their
-- lesson, cue or comment by ON DELETE CASCADE, and search_entries' own
-- delete trigger takes them out of the full-text tables. Chapters are
-- indexed by the db package (replaceChapterEntries) in the transaction
-- that sets them.
CREATE TABLE search_entries (
    id         INTEGER PRIMARY KEY,
    course_id  TEXT NOT NULL,
    lesson_id  TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('title', 'description', 'chapter', 'caption', 'comment', 'question', 'note')),
    at_ms      INTEGER NOT NULL DEFAULT 0,
    body       TEXT NOT NULL,
    lang       TEXT,
    cue_id     INTEGER REFERENCES caption_cues (id) ON DELETE CASCADE,
    comment_id TEXT REFERENCES comments (id) ON DELETE CASCADE
);
CREATE INDEX search_entries_lesson_idx ON search_entries (lesson_id, kind);
CREATE INDEX search_entries_cue_idx ON search_entries (cue_id) WHERE cue_id IS NOT NULL;
CREATE INDEX search_entries_comment_idx ON search_entries (comment_id) WHERE comment_id IS NOT NULL;

-- Contentless: the text lives in search_entries (rowid = search_entries.id),
-- which is where results are read from. unicode61 folds case and removes
-- diacritics ("cafe" finds "Café"), like the PostgreSQL configuration.
CREATE VIRTUAL TABLE search_fts USING fts5 (
    title, description, chapter, comment, scope,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE search_caption_fts USING fts5 (
    caption, scope,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

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
INSERT INTO search_fts (rowid, title, description, chapter, comment, scope)
    SELECT id,
        CASE WHEN kind = 'title' THEN body END,
        CASE WHEN kind = 'description' THEN body END,
        CASE WHEN kind = 'chapter' THEN body END,
        CASE WHEN kind IN ('comment', 'question', 'note') THEN body END,
        course_id
    FROM search_entries WHERE kind <> 'caption';
INSERT INTO search_caption_fts (rowid, caption, scope)
    SELECT id, body, course_id FROM search_entries WHERE kind = 'caption';

-- +goose StatementBegin
CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
    INSERT INTO search_fts (rowid, title, description, chapter, comment, scope)
        SELECT new.id,
            CASE WHEN new.kind = 'title' THEN new.body END,
            CASE WHEN new.kind = 'description' THEN new.body END,
            CASE WHEN new.kind = 'chapter' THEN new.body END,
            CASE WHEN new.kind IN ('comment', 'question', 'note') THEN new.body END,
            new.course_id
        WHERE new.kind <> 'caption';
    INSERT INTO search_caption_fts (rowid, caption, scope)
        SELECT new.id, new.body, new.course_id WHERE new.kind = 'caption';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
    DELETE FROM search_fts WHERE rowid = old.id AND old.kind <> 'caption';
    DELETE FROM search_caption_fts WHERE rowid = old.id AND old.kind = 'caption';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN
    DELETE FROM search_fts WHERE rowid = old.id AND old.kind <> 'caption';
    DELETE FROM search_caption_fts WHERE rowid = old.id AND old.kind = 'caption';
    INSERT INTO search_fts (rowid, title, description, chapter, comment, scope)
        SELECT new.id,
            CASE WHEN new.kind = 'title' THEN new.body END,
            CASE WHEN new.kind = 'description' THEN new.body END,
            CASE WHEN new.kind = 'chapter' THEN new.body END,
            CASE WHEN new.kind IN ('comment', 'question', 'note') THEN new.body END,
            new.course_id
        WHERE new.kind <> 'caption';
    INSERT INTO search_caption_fts (rowid, caption, scope)
        SELECT new.id, new.body, new.course_id WHERE new.kind = 'caption';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lessons_search_ai AFTER INSERT ON lessons BEGIN
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
        VALUES (new.course_id, new.id, 'title', 0, new.title);
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
        SELECT new.course_id, new.id, 'description', 0, new.description WHERE new.description <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lessons_search_au AFTER UPDATE OF title, description ON lessons
WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    DELETE FROM search_entries WHERE lesson_id = new.id AND kind IN ('title', 'description');
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
        VALUES (new.course_id, new.id, 'title', 0, new.title);
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
        SELECT new.course_id, new.id, 'description', 0, new.description WHERE new.description <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER caption_cues_search_ai AFTER INSERT ON caption_cues BEGIN
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, lang, cue_id)
        SELECT l.course_id, new.lesson_id, 'caption', new.start_ms, new.text, new.lang, new.id
        FROM lessons l WHERE l.id = new.lesson_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER caption_cues_search_au AFTER UPDATE OF start_ms, text ON caption_cues BEGIN
    UPDATE search_entries SET at_ms = new.start_ms, body = new.text WHERE cue_id = new.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER comments_search_ai AFTER INSERT ON comments
WHEN new.deleted_at IS NULL AND new.body <> '' BEGIN
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, comment_id)
        VALUES (new.course_id, new.lesson_id, new.kind, new.at_ms, new.body, new.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER comments_search_au AFTER UPDATE OF body, deleted_at, kind, at_ms ON comments
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at
    OR old.kind IS NOT new.kind OR old.at_ms IS NOT new.at_ms BEGIN
    DELETE FROM search_entries WHERE comment_id = new.id;
    INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body, comment_id)
        SELECT new.course_id, new.lesson_id, new.kind, new.at_ms, new.body, new.id
        WHERE new.deleted_at IS NULL AND new.body <> '';
END;
-- +goose StatementEnd
