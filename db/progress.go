package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lectern/lectern"
)

// BeatRequest is one heartbeat sent by Viewer for a lesson.
type BeatRequest struct {
	Viewer   *lectern.User
	LessonID string
	Beat     lectern.Heartbeat
}

// BeatResult is what became of one BeatRequest: the viewer's progress
// after it, or why it was refused (EINVALID for a malformed beat,
// ENOTFOUND when the viewer may not see the lesson).
type BeatResult struct {
	Progress *lectern.Progress
	Err      error
}

// maxBatchTries bounds the attempts at a batch that PostgreSQL aborted for
// a deadlock or serialization failure; the batch is then simply retried.
const maxBatchTries = 3

// RecordHeartbeats applies beats in one transaction (group commit) and
// returns one result per beat, in order. Coverage merges with OR, so a
// repeated or reordered beat changes nothing; the position moves only for
// a beat newer than the one it came from (see lectern.Heartbeat). A beat
// that is refused does not affect the others. The error is for the batch
// as a whole: when it is not nil, nothing was recorded.
func (db *DB) RecordHeartbeats(ctx context.Context, reqs []BeatRequest) ([]BeatResult, error) {
	var (
		results []BeatResult
		err     error
	)
	for try := 1; ; try++ {
		results = make([]BeatResult, len(reqs))
		err = db.write(ctx, func(t tx) error { return db.recordBeats(ctx, t, reqs, results) })
		if err == nil || try == maxBatchTries || !isRetryable(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record heartbeats: %w", err)
	}
	return results, nil
}

// RecordHeartbeat records one beat in its own transaction; see
// RecordHeartbeats.
func (db *DB) RecordHeartbeat(ctx context.Context, viewer *lectern.User, lessonID string, beat lectern.Heartbeat) (*lectern.Progress, error) {
	res, err := db.RecordHeartbeats(ctx, []BeatRequest{{Viewer: viewer, LessonID: lessonID, Beat: beat}})
	if err != nil {
		return nil, err
	}
	return res[0].Progress, res[0].Err
}

// isRetryable reports whether PostgreSQL aborted the transaction for a
// deadlock or a serialization failure.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// progressKey names one user's progress in one lesson.
type progressKey struct{ userID, lessonID string }

func (k progressKey) compare(o progressKey) int {
	if c := strings.Compare(k.userID, o.userID); c != 0 {
		return c
	}
	return strings.Compare(k.lessonID, o.lessonID)
}

type sessionKey struct {
	progressKey
	sessionID string
}

func (k sessionKey) compare(o sessionKey) int {
	if c := k.progressKey.compare(o.progressKey); c != 0 {
		return c
	}
	return strings.Compare(k.sessionID, o.sessionID)
}

func (db *DB) recordBeats(ctx context.Context, t tx, reqs []BeatRequest, results []BeatResult) error {
	now := db.now()
	access, allowed, err := authorizeBeats(ctx, t, reqs, results, now)
	if err != nil || len(allowed) == 0 {
		return err
	}
	rows, err := db.lockProgress(ctx, t, allowed, now)
	if err != nil {
		return err
	}
	sessions, err := findSessions(ctx, t, reqs, results, rows)
	if err != nil {
		return err
	}
	touched := applyBeats(reqs, results, access, rows, sessions, now)
	if err := saveProgress(ctx, t, rows, allowed); err != nil {
		return err
	}
	return saveSessions(ctx, t, touched)
}

// authorizeBeats sets the error of each beat that is malformed or for a
// lesson its viewer may not see, and returns the lessons' access details
// and the sorted keys of the rows the other beats update.
func authorizeBeats(ctx context.Context, t tx, reqs []BeatRequest, results []BeatResult, now time.Time) (map[progressKey]*lessonAccess, []progressKey, error) {
	var keys []progressKey
	for i, r := range reqs {
		if r.Viewer == nil {
			results[i].Err = lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		} else if err := r.Beat.Validate(); err != nil {
			results[i].Err = err
		} else {
			keys = append(keys, progressKey{r.Viewer.ID, r.LessonID})
		}
	}
	keys = sortedUnique(keys)
	access, err := findLessonAccess(ctx, t, keys, now)
	if err != nil {
		return nil, nil, err
	}
	allowed := make([]progressKey, 0, len(keys))
	for i, r := range reqs {
		if results[i].Err != nil {
			continue
		}
		k := progressKey{r.Viewer.ID, r.LessonID}
		if a := access[k]; a == nil || (a.Role == "" && !r.Viewer.IsAdmin()) {
			results[i].Err = lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
			continue
		}
		allowed = append(allowed, k)
	}
	return access, sortedUnique(allowed), nil
}

// applyBeats applies the accepted beats in order to their rows and
// sessions, creating those that are new, fills in their results, and
// returns the session rows to write, in key order.
func applyBeats(reqs []BeatRequest, results []BeatResult, access map[progressKey]*lessonAccess,
	rows map[progressKey]*progressRow, sessions map[sessionKey]*sessionRow, now time.Time) []*sessionRow {
	touched := make(map[sessionKey]*sessionRow)
	for i, r := range reqs {
		if results[i].Err != nil {
			continue
		}
		k := progressKey{r.Viewer.ID, r.LessonID}
		row := rows[k]
		if row == nil {
			row = newProgressRow(k.userID, k.lessonID, now)
			rows[k] = row
		}
		sk := sessionKey{k, r.Beat.SessionID}
		s, tracked := sessionFor(row, sessions, sk, now)
		prev := positionSession(row)
		applyBeat(row, s, &r.Beat, access[k], now)
		if prev != nil && prev.SessionID != row.PositionSession {
			// The position moved to a newer session: the one it left now
			// keeps its state in its own row.
			prev.LastSeenAt = now
			pk := sessionKey{k, prev.SessionID}
			sessions[pk], touched[pk] = prev, prev
		}
		if tracked {
			touched[sk] = s
		}
		results[i].Progress = toProgress(row, access[k])
	}
	keys := slices.SortedFunc(maps.Keys(touched), sessionKey.compare)
	out := make([]*sessionRow, len(keys))
	for i, k := range keys {
		out[i] = touched[k]
	}
	return out
}

// positionSession is the state of the session the row's position came
// from, which the row itself holds: its first-seen time and, since any
// higher sequence number of it moves the position, its highest one. Nil
// before any beat.
func positionSession(r *progressRow) *sessionRow {
	if r.PositionSession == "" || r.PositionSeenAt == nil {
		return nil
	}
	return &sessionRow{UserID: r.UserID, LessonID: r.LessonID, SessionID: r.PositionSession,
		FirstSeenAt: *r.PositionSeenAt, LastSeq: r.PositionSeq}
}

// sessionFor returns the state of a beat's session, and whether it lives
// in a progress_sessions row (tracked) rather than in the progress row.
// Beats of the position's session, the common case of one tab, need no
// session row at all.
func sessionFor(row *progressRow, sessions map[sessionKey]*sessionRow, sk sessionKey, now time.Time) (*sessionRow, bool) {
	if p := positionSession(row); p != nil && p.SessionID == sk.sessionID {
		return p, false
	}
	s := sessions[sk]
	if s == nil {
		s = &sessionRow{UserID: sk.userID, LessonID: sk.lessonID, SessionID: sk.sessionID, FirstSeenAt: now, LastSeq: -1}
		sessions[sk] = s
	}
	return s, true
}

func sortedUnique(keys []progressKey) []progressKey {
	slices.SortFunc(keys, progressKey.compare)
	return slices.Compact(keys)
}

// chunkRows bounds the rows of one multi-row statement, keeping the number
// of parameters well under both databases' limits.
const chunkRows = 200

// valuesList returns "(?, ?), (?, ?)" for n rows of cols parameters.
func valuesList(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// chunks calls fn with successive slices of at most chunkRows items.
func chunks[T any](items []T, fn func([]T) error) error {
	for len(items) > 0 {
		n := min(len(items), chunkRows)
		if err := fn(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// findLessonAccess looks up, for each (user, lesson), the lesson's
// duration and course threshold and the user's role in the course ("" for
// none). Lessons that do not exist are absent from the map, and so are
// those a member may not see at now (see lessonShown).
func findLessonAccess(ctx context.Context, t tx, keys []progressKey, now time.Time) (map[progressKey]*lessonAccess, error) {
	out := make(map[progressKey]*lessonAccess, len(keys))
	err := chunks(keys, func(keys []progressKey) error {
		args := make([]any, 0, 2*len(keys))
		for _, k := range keys {
			args = append(args, k.userID, k.lessonID)
		}
		shown, shownArgs := lessonShown("l", false, now)
		var found []*lessonAccess
		err := t.sel(ctx, &found, `SELECT v.column1 AS user_id, v.column2 AS lesson_id,
				l.duration_ms, c.completion_threshold, COALESCE(vm.role, '') AS role
			FROM (VALUES `+valuesList(len(keys), 2)+`) AS v
			JOIN lessons l ON l.id = v.column2 AND l.deleted_at IS NULL
			JOIN courses c ON c.id = l.course_id AND c.deleted_at IS NULL
			JOIN users u ON u.id = v.column1
			LEFT JOIN course_members vm ON vm.course_id = l.course_id AND vm.user_id = v.column1
			WHERE u.role = 'admin' OR vm.role IS NULL OR `+shown, append(args, shownArgs...)...)
		for _, a := range found {
			out[progressKey{a.UserID, a.LessonID}] = a
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find lesson access: %w", err)
	}
	return out, nil
}

const progressColumns = `user_id, lesson_id, coverage, rewatched, covered_secs, position_ms,
	position_session, position_seq, position_seen_at, budget_ms, completed_at, created_at, updated_at`

func progressArgs(r *progressRow) []any {
	return []any{r.UserID, r.LessonID, nonNil(r.Coverage), nonNil(r.Rewatched), r.CoveredSecs, r.PositionMS,
		r.PositionSession, r.PositionSeq, r.PositionSeenAt, r.BudgetMS, r.CompletedAt, r.CreatedAt, r.UpdatedAt}
}

// lockProgress reads the progress rows of keys (sorted), locking them for
// the rest of the transaction. On PostgreSQL the missing rows are then
// inserted and locked too, so that two processes recording the first beats
// of the same row take turns instead of one overwriting the other. SQLite
// needs none of this: its write transactions hold the whole database.
func (db *DB) lockProgress(ctx context.Context, t tx, keys []progressKey, now time.Time) (map[progressKey]*progressRow, error) {
	if db.dialect != DialectPostgres {
		return selectProgress(ctx, t, keys, "")
	}
	out, err := selectProgress(ctx, t, keys, " FOR UPDATE")
	if err != nil {
		return nil, err
	}
	var missing []progressKey
	for _, k := range keys {
		if out[k] == nil {
			missing = append(missing, k)
		}
	}
	err = chunks(missing, func(keys []progressKey) error {
		var args []any
		for _, k := range keys {
			args = append(args, progressArgs(newProgressRow(k.userID, k.lessonID, now))...)
		}
		_, err := t.exec(ctx, `INSERT INTO lesson_progress (`+progressColumns+`)
			VALUES `+valuesList(len(keys), 13)+` ON CONFLICT (user_id, lesson_id) DO NOTHING`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create progress rows: %w", err)
	}
	more, err := selectProgress(ctx, t, missing, " FOR UPDATE")
	if err != nil {
		return nil, err
	}
	maps.Copy(out, more)
	return out, nil
}

// selectProgress reads the progress rows of keys, in key order, with the
// given locking clause. Rows are locked in key order, so that
// concurrent batches do not deadlock over rows that exist.
func selectProgress(ctx context.Context, t tx, keys []progressKey, lock string) (map[progressKey]*progressRow, error) {
	out := make(map[progressKey]*progressRow, len(keys))
	err := chunks(keys, func(keys []progressKey) error {
		args := make([]any, 0, 2*len(keys))
		for _, k := range keys {
			args = append(args, k.userID, k.lessonID)
		}
		var rows []*progressRow
		err := t.sel(ctx, &rows, `SELECT `+progressColumns+` FROM lesson_progress
			WHERE (user_id, lesson_id) IN (VALUES `+valuesList(len(keys), 2)+`)
			ORDER BY user_id, lesson_id`+lock, args...)
		for _, r := range rows {
			out[progressKey{r.UserID, r.LessonID}] = r
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lock progress rows: %w", err)
	}
	return out, nil
}

// findSessions reads the sessions of the accepted beats that do not come
// from the session their row's position came from (see sessionFor).
func findSessions(ctx context.Context, t tx, reqs []BeatRequest, results []BeatResult,
	rows map[progressKey]*progressRow) (map[sessionKey]*sessionRow, error) {
	var keys []sessionKey
	for i, r := range reqs {
		k := progressKey{r.Viewer.ID, r.LessonID}
		if results[i].Err == nil && (rows[k] == nil || rows[k].PositionSession != r.Beat.SessionID) {
			keys = append(keys, sessionKey{k, r.Beat.SessionID})
		}
	}
	slices.SortFunc(keys, sessionKey.compare)
	keys = slices.Compact(keys)
	out := make(map[sessionKey]*sessionRow, len(keys))
	err := chunks(keys, func(keys []sessionKey) error {
		args := make([]any, 0, 3*len(keys))
		for _, k := range keys {
			args = append(args, k.userID, k.lessonID, k.sessionID)
		}
		var rows []*sessionRow
		err := t.sel(ctx, &rows, `SELECT user_id, lesson_id, session_id, first_seen_at, last_seq, last_seen_at
			FROM progress_sessions
			WHERE (user_id, lesson_id, session_id) IN (VALUES `+valuesList(len(keys), 3)+`)`, args...)
		for _, s := range rows {
			out[sessionKey{progressKey{s.UserID, s.LessonID}, s.SessionID}] = s
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find progress sessions: %w", err)
	}
	return out, nil
}

// saveProgress writes the rows of keys, inserting those that are new.
func saveProgress(ctx context.Context, t tx, rows map[progressKey]*progressRow, keys []progressKey) error {
	err := chunks(keys, func(keys []progressKey) error {
		args := make([]any, 0, 13*len(keys))
		for _, k := range keys {
			args = append(args, progressArgs(rows[k])...)
		}
		_, err := t.exec(ctx, `INSERT INTO lesson_progress (`+progressColumns+`)
			VALUES `+valuesList(len(keys), 13)+`
			ON CONFLICT (user_id, lesson_id) DO UPDATE SET
				coverage = excluded.coverage, rewatched = excluded.rewatched,
				covered_secs = excluded.covered_secs, position_ms = excluded.position_ms,
				position_session = excluded.position_session, position_seq = excluded.position_seq,
				position_seen_at = excluded.position_seen_at, budget_ms = excluded.budget_ms,
				completed_at = excluded.completed_at, updated_at = excluded.updated_at`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	return nil
}

// saveSessions writes the sessions the batch touched.
func saveSessions(ctx context.Context, t tx, sessions []*sessionRow) error {
	err := chunks(sessions, func(sessions []*sessionRow) error {
		args := make([]any, 0, 6*len(sessions))
		for _, s := range sessions {
			args = append(args, s.UserID, s.LessonID, s.SessionID, s.FirstSeenAt, s.LastSeq, s.LastSeenAt)
		}
		_, err := t.exec(ctx, `INSERT INTO progress_sessions
				(user_id, lesson_id, session_id, first_seen_at, last_seq, last_seen_at)
			VALUES `+valuesList(len(sessions), 6)+`
			ON CONFLICT (user_id, lesson_id, session_id) DO UPDATE SET
				last_seq = excluded.last_seq, last_seen_at = excluded.last_seen_at`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("save progress sessions: %w", err)
	}
	return nil
}
