package db

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lectern/lectern"
)

// Page sizes of search results.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
)

// bm25Weights are search_fts's column weights (title, description,
// chapter, comment, scope): a title match outranks a chapter, a chapter a
// description, and those a passing mention in a comment. Captions, in
// search_caption_fts (caption, scope), weigh as comments do. The scope
// column (the course id) counts for nothing.
const (
	bm25Weights        = `10.0, 4.0, 6.0, 1.0, 0.0`
	bm25CaptionWeights = `1.0, 0.0`
)

// tsRankWeights are ts_rank_cd's weights of the D, C, B and A labels
// (captions and entries, description, chapter, title): the same order as
// bm25Weights.
const tsRankWeights = `'{0.1, 0.2, 0.4, 1.0}'`

// SearchFilter is a search: Query as typed, in CourseID ("" for all the
// courses the viewer belongs to), a page of Limit hits (0 means
// DefaultSearchLimit; at most MaxSearchLimit) after Cursor.
type SearchFilter struct {
	Query    string
	CourseID string
	Limit    int
	Cursor   string
}

// searchCursor is where a page of results starts: an offset into the
// ranking, which is recomputed for every page.
type searchCursor struct {
	Offset int `json:"o"`
}

func (c searchCursor) encode() string {
	b, _ := json.Marshal(c) // a struct of one int always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchCursor(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c searchCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Offset <= 0 {
		return 0, lectern.Errorf(lectern.EINVALID, "invalid cursor; start again without one")
	}
	return c.Offset, nil
}

// cleanSearchQuery turns control characters (tabs, newlines, NUL, which
// PostgreSQL cannot store) into spaces and checks the length.
func cleanSearchQuery(q string) (string, error) {
	if !utf8.ValidString(q) {
		return "", lectern.Errorf(lectern.EINVALID, "the search is not valid text")
	}
	q = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, q))
	switch n := utf8.RuneCountInString(q); {
	case n == 0:
		return "", lectern.Errorf(lectern.EINVALID, "type something to search for")
	case n > lectern.MaxSearchQuery:
		return "", lectern.Errorf(lectern.EINVALID, "a search is at most %d characters, not %d", lectern.MaxSearchQuery, n)
	}
	return q, nil
}

// lessonVisibleTo is the SQL condition, over lessons l and the viewer's
// membership vm of l's course, that viewer may see lesson l at now: a
// member (or an admin) and, for a student, a lesson published by now (see
// lessonShown). Every kind of hit follows it.
func lessonVisibleTo(viewer *lectern.User, now time.Time) (string, []any) {
	shown, args := lessonShown("l", viewer.IsAdmin(), now)
	if viewer.IsAdmin() {
		return shown, args
	}
	return `vm.role IS NOT NULL AND ` + shown, args
}

// teachesSQL is the SQL condition, over the viewer's membership vm, that
// viewer teaches the course (or is an admin): who sees draft captions.
func teachesSQL(viewer *lectern.User) string {
	if viewer.IsAdmin() {
		return `1=1`
	}
	return `vm.role = 'teacher'`
}

// searchRow is a hit as the query returns it.
type searchRow struct {
	ID          int64              `db:"id"`
	Kind        lectern.SearchKind `db:"kind"`
	LessonID    string             `db:"lesson_id"`
	LessonTitle string             `db:"lesson_title"`
	CourseID    string             `db:"course_id"`
	CourseTitle string             `db:"course_title"`
	AtMS        int64              `db:"at_ms"`
	Lang        string             `db:"lang"`
	Body        string             `db:"body"`
}

// Search finds f.Query in the lesson titles and descriptions, chapter
// titles, caption cues, and comments, questions and notes that viewer may
// see, in f.CourseID or in every course viewer belongs to, best match
// first: by relevance, with a title above a chapter above a description
// above a caption or comment, then by lesson (in course order) and moment.
// Visibility is the API's everywhere else: only courses viewer is a member
// of (an admin may search any one course by its id), no draft caption
// track unless viewer teaches the course, no deleted entry, and entries as
// FindComments shows them (no one else's private note, teachers-only
// entries for the course's teachers, the asker and admins). It returns the
// next page's cursor ("" on the last), EINVALID for an empty or too long
// query or a bad cursor, and ENOTFOUND for a course viewer may not see.
// No query is a syntax error: see parseSearchQuery.
func (db *DB) Search(ctx context.Context, viewer *lectern.User, f SearchFilter) ([]*lectern.SearchHit, string, error) {
	if viewer == nil {
		return nil, "", lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	text, err := cleanSearchQuery(f.Query)
	if err != nil {
		return nil, "", err
	}
	offset, err := decodeSearchCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultSearchLimit
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	q := parseSearchQuery(text)
	rows := []searchRow{}
	err = db.read(ctx, func(t tx) error {
		courses, err := searchScope(ctx, t, viewer, f.CourseID)
		if err != nil || len(courses) == 0 || q.empty() {
			return err
		}
		query, args := db.searchSQL(viewer, q, courses, limit+1, offset)
		var ids []int64
		if err := t.sel(ctx, &ids, query, args...); err != nil {
			return err
		}
		rows, err = findSearchRows(ctx, t, ids)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("search: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = searchCursor{Offset: offset + limit}.encode()
	}
	terms := q.terms()
	hits := make([]*lectern.SearchHit, len(rows))
	for i, r := range rows {
		hits[i] = &lectern.SearchHit{LessonID: r.LessonID, LessonTitle: r.LessonTitle, CourseID: r.CourseID,
			CourseTitle: r.CourseTitle, Kind: r.Kind, AtMS: r.AtMS, Lang: r.Lang, Snippet: buildSnippet(r.Body, terms)}
	}
	return hits, next, nil
}

// searchScope returns the courses a search looks in: courseID when viewer
// is a member of it or an admin (ENOTFOUND otherwise), else every course
// viewer is a member of.
func searchScope(ctx context.Context, t tx, viewer *lectern.User, courseID string) ([]string, error) {
	var ids []string
	if courseID == "" {
		err := t.sel(ctx, &ids, `SELECT m.course_id FROM course_members m
			JOIN courses c ON c.id = m.course_id AND c.deleted_at IS NULL
			WHERE m.user_id = ? ORDER BY m.course_id`, viewer.ID)
		return ids, err
	}
	err := t.sel(ctx, &ids, `SELECT c.id FROM courses c
		LEFT JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
		WHERE c.id = ? AND c.deleted_at IS NULL AND (m.role IS NOT NULL OR ?)`, viewer.ID, courseID, viewer.IsAdmin())
	if err == nil && len(ids) == 0 {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	return ids, err
}

// maxRankedCaptions bounds the caption cues a search ranks. A word said
// in most cues of the courses searched ("the", "so") would otherwise cost
// a relevance score for each of tens of thousands of cues; past this many
// matching cues, the most recently saved ones are ranked. Titles,
// descriptions, chapters and entries are always all ranked, so a title
// match still comes first however common the word.
const maxRankedCaptions = 1000

// searchSQL is the search query for the dialect and its arguments. Both
// dialects narrow the full-text match to the courses in scope inside the
// index (a scope column or lexeme holding the course id), rank the
// candidates (every match but captions, and at most maxRankedCaptions
// captions), then check, row by row, the rules that depend on the viewer.
func (db *DB) searchSQL(viewer *lectern.User, q searchQuery, courses []string, limit, offset int) (string, []any) {
	var (
		with, candidates string
		args             []any
	)
	if db.dialect == DialectPostgres {
		candidates, args, with = postgresCandidates(q, courses)
	} else {
		candidates, args, with = sqliteCandidates(q, courses)
	}
	vis, visArgs := visibleTo(viewer, db.now())
	lvis, lvisArgs := lessonVisibleTo(viewer, db.now())
	args = append(args, viewer.ID)
	args = append(args, anySlice(courses)...)
	args = append(args, lvisArgs...)
	args = append(args, visArgs...)
	args = append(args, limit, offset)
	// SQLite's planner would otherwise start from the courses and rank the
	// candidates once per course: CROSS JOIN keeps k outermost.
	join := "CROSS JOIN"
	if db.dialect == DialectPostgres {
		join = "JOIN"
	}
	return with + `SELECT e.id FROM ` + candidates + `
		` + join + ` search_entries e ON e.id = k.id
		JOIN lessons l ON l.id = e.lesson_id
		LEFT JOIN course_members vm ON vm.course_id = e.course_id AND vm.user_id = ?
		LEFT JOIN comments c ON c.id = e.comment_id
		LEFT JOIN caption_tracks ct ON ct.lesson_id = e.lesson_id AND ct.lang = e.lang
		WHERE e.course_id IN (?` + strings.Repeat(", ?", len(courses)-1) + `)
		AND ` + lvis + `
		AND l.deleted_at IS NULL
		AND (e.comment_id IS NULL OR (c.deleted_at IS NULL AND ` + vis + `))
		AND (e.kind <> 'caption' OR ct.status = 'published' OR ` + teachesSQL(viewer) + `)
		ORDER BY k.rank DESC, l.created_at, l.id, e.at_ms, e.id LIMIT ? OFFSET ?`, args
}

// findSearchRows returns the hits of entries ids, in that order.
func findSearchRows(ctx context.Context, t tx, ids []int64) ([]searchRow, error) {
	if len(ids) == 0 {
		return []searchRow{}, nil
	}
	var rows []searchRow
	err := t.sel(ctx, &rows, `SELECT e.id, e.kind, e.lesson_id, l.title AS lesson_title, e.course_id,
			co.title AS course_title, e.at_ms, COALESCE(e.lang, '') AS lang, e.body
		FROM search_entries e JOIN lessons l ON l.id = e.lesson_id JOIN courses co ON co.id = e.course_id
		WHERE e.id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, anySlice(ids)...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]searchRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make([]searchRow, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// sqliteCandidates is the subquery k(id, rank) of the entries matching q in
// courses, with their bm25 (negated: higher is better).
//
// Captions are ranked in two steps because bm25 counts, for each phrase of
// the MATCH, the rows of the whole table that hold it: the course ids that
// restrict a search to its scope would cost a pass over every cue of those
// courses. So the scope query only picks the candidates (the most recent
// maxRankedCaptions matching cues in scope, no ranking), and a second
// MATCH of the words alone ranks them, narrowed to the candidates' rowid
// range (which FTS5 seeks to) and set. "+rowid" keeps SQLite from turning
// the IN into one full-text query per candidate.
func sqliteCandidates(q searchQuery, courses []string) (string, []any, string) {
	scope := "scope : (" + strings.Join(fts5Strings(courses), " OR ") + ") AND "
	scoped := `(SELECT rowid AS id FROM search_caption_fts WHERE search_caption_fts MATCH ?
		ORDER BY rowid DESC LIMIT ` + fmt.Sprint(maxRankedCaptions) + `)`
	return `(SELECT rowid AS id, -bm25(search_fts, ` + bm25Weights + `) AS rank
			FROM search_fts WHERE search_fts MATCH ?
		UNION ALL
		SELECT rowid AS id, -bm25(search_caption_fts, ` + bm25CaptionWeights + `) AS rank
			FROM search_caption_fts WHERE search_caption_fts MATCH ?
			AND rowid >= (SELECT MIN(id) FROM scoped) AND rowid <= (SELECT MAX(id) FROM scoped)
			AND +rowid IN scoped) k`,
		[]any{scope + q.fts5("caption"), scope + q.fts5("- {scope}"), q.fts5("caption")}, "WITH scoped AS MATERIALIZED " + scoped + " "
}

// postgresCandidates is the subquery k(id, rank) of the entries matching q
// in courses, with their ts_rank_cd, and the WITH clause it needs. The
// CTEs are materialized so that each is planned on its own: the matching
// captions come from a bitmap scan of their partial GIN index (left to
// itself, the planner may walk the primary key backwards looking for the
// newest matches, which are sparse), and the join that follows knows how
// many candidates there are.
func postgresCandidates(q searchQuery, courses []string) (string, []any, string) {
	ws, scope := q.websearch(), tsqueryOr(courses)
	rank := `ts_rank_cd(` + tsRankWeights + `, s.terms, websearch_to_tsquery('lectern_search', ?)) AS rank`
	with := `WITH captions AS MATERIALIZED (
			SELECT id FROM search_entries
			WHERE terms @@ websearch_to_tsquery('lectern_search', ?) AND scope @@ ?::tsquery AND kind = 'caption'),
		k AS MATERIALIZED (
			SELECT s.id, ` + rank + ` FROM search_entries s
			WHERE s.terms @@ websearch_to_tsquery('lectern_search', ?) AND s.scope @@ ?::tsquery AND s.kind <> 'caption'
			UNION ALL
			SELECT s.id, ` + rank + ` FROM search_entries s
			WHERE s.id IN (SELECT id FROM captions ORDER BY id DESC LIMIT ` + fmt.Sprint(maxRankedCaptions) + `)) `
	return `k`, []any{ws, scope, ws, ws, scope, ws}, with
}

func fts5Strings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fts5String(s)
	}
	return out
}

// tsqueryOr is a tsquery text matching any of ids as whole lexemes, each
// quoted (a quote or backslash in one is escaped).
func tsqueryOr(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		id = strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(id)
		quoted[i] = "'" + id + "'"
	}
	return strings.Join(quoted, " | ")
}

func anySlice[T any](ss []T) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// replaceChapterEntries makes chs the chapter entries of lessonID in the
// search index, replacing the ones it had. It is the hook through which
// chapters reach search: the transaction that sets a lesson's chapters
// (SetChapters) calls it with the chapters it stored, so that search sees
// exactly what was committed. Removing a lesson removes its entries.
func replaceChapterEntries(ctx context.Context, t tx, lessonID string, chs []lectern.Chapter) error {
	if _, err := t.exec(ctx, `DELETE FROM search_entries WHERE lesson_id = ? AND kind = 'chapter'`, lessonID); err != nil {
		return fmt.Errorf("index chapters: %w", err)
	}
	for _, ch := range chs {
		if _, err := t.exec(ctx, `INSERT INTO search_entries (course_id, lesson_id, kind, at_ms, body)
			SELECT course_id, id, 'chapter', ?, ? FROM lessons WHERE id = ?`, ch.StartMS, ch.Title, lessonID); err != nil {
			return fmt.Errorf("index chapters: %w", err)
		}
	}
	return nil
}
