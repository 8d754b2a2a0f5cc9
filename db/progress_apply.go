package db

import (
	"time"

	"github.com/lectern/lectern"
)

// How much newly watched media heartbeats may credit. Each (user, lesson)
// has a budget that refills at budgetRate times wall time (playing at up to
// double speed, with margin) up to budgetCapMS, and that newly covered
// seconds spend. Checking the newly covered seconds, not the claimed
// ranges, makes the check order- and duplicate-proof: a retried or late
// beat re-covers seconds already counted and spends nothing. Keeping the
// budget per user and lesson rather than per session means opening new
// sessions buys nothing. Seconds over budget are dropped (clipped), so a
// client claiming to have played more than time allows gains at most
// budgetCapMS over the truth, however it splits its claims. The cap leaves
// room for a late beat arriving after a newer one.
const (
	budgetRateNum   = 5 // budget refill rate: 5/2 = 2.5 × wall time
	budgetRateDen   = 2
	budgetCapMS     = 60 * 1000
	budgetInitialMS = 30 * 1000
)

// lessonAccess is what a beat needs to know of its lesson and of the
// user's place in its course.
type lessonAccess struct {
	UserID     string `db:"user_id"`
	LessonID   string `db:"lesson_id"`
	DurationMS int64  `db:"duration_ms"`
	Threshold  int    `db:"completion_threshold"`
	Role       string `db:"role"`
}

// progressRow is a lesson_progress row.
type progressRow struct {
	UserID          string     `db:"user_id"`
	LessonID        string     `db:"lesson_id"`
	Coverage        []byte     `db:"coverage"`
	Rewatched       []byte     `db:"rewatched"`
	CoveredSecs     int        `db:"covered_secs"`
	PositionMS      int64      `db:"position_ms"`
	PositionSession string     `db:"position_session"`
	PositionSeq     int64      `db:"position_seq"`
	PositionSeenAt  *time.Time `db:"position_seen_at"`
	BudgetMS        int64      `db:"budget_ms"`
	CompletedAt     *time.Time `db:"completed_at"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
}

// newProgressRow is the row of a user who has not watched the lesson yet.
func newProgressRow(userID, lessonID string, now time.Time) *progressRow {
	return &progressRow{
		UserID: userID, LessonID: lessonID,
		Coverage: []byte{}, Rewatched: []byte{},
		PositionSeq: -1, BudgetMS: budgetInitialMS,
		CreatedAt: now, UpdatedAt: now,
	}
}

// sessionRow is a progress_sessions row.
type sessionRow struct {
	UserID      string    `db:"user_id"`
	LessonID    string    `db:"lesson_id"`
	SessionID   string    `db:"session_id"`
	FirstSeenAt time.Time `db:"first_seen_at"`
	LastSeq     int64     `db:"last_seq"`
	LastSeenAt  time.Time `db:"last_seen_at"`
}

// isNewerThanPosition reports whether beat seq of session s comes after
// the beat the row's position came from. Within a session the sequence
// number orders beats; across sessions the one first seen later is newer
// (ties broken by session id), so a stale tab cannot move the position
// back whatever it sends.
func (r *progressRow) isNewerThanPosition(s *sessionRow, seq int64) bool {
	switch {
	case r.PositionSession == "" || r.PositionSeenAt == nil:
		return true
	case s.SessionID == r.PositionSession:
		return seq > r.PositionSeq
	case s.FirstSeenAt.Equal(*r.PositionSeenAt):
		return s.SessionID > r.PositionSession
	}
	return s.FirstSeenAt.After(*r.PositionSeenAt)
}

// refillBudget adds what the wall time since the last beat allows.
func (r *progressRow) refillBudget(now time.Time) {
	elapsed := now.Sub(r.UpdatedAt).Milliseconds()
	if elapsed <= 0 {
		return
	}
	if elapsed > budgetCapMS { // avoid overflow for rows idle for years
		elapsed = budgetCapMS
	}
	r.BudgetMS = min(budgetCapMS, r.BudgetMS+elapsed*budgetRateNum/budgetRateDen)
}

// applyBeat merges one validated beat into the row and its session, at
// time now. Played seconds already covered are counted as rewatched when
// the beat is new for its session (a higher seq than any before), so that
// a retried or late beat is not mistaken for watching again.
func applyBeat(r *progressRow, s *sessionRow, b *lectern.Heartbeat, l *lessonAccess, now time.Time) {
	slots := lectern.CoverageSlots(l.DurationMS)
	coverage := lectern.Coverage(r.Coverage).Truncate(slots)
	rewatched := lectern.Coverage(r.Rewatched).Truncate(slots)
	fresh := b.Seq > s.LastSeq

	var played lectern.Coverage
	for _, rg := range b.Ranges {
		lo, hi := lectern.PlayedSeconds(rg, l.DurationMS)
		for sec := lo; sec < hi; sec++ {
			if fresh && (coverage.Has(sec) || played.Has(sec)) {
				rewatched = rewatched.Add(sec, sec+1)
			}
			played = played.Add(sec, sec+1)
		}
	}
	r.refillBudget(now)
	for sec := range len(played) * 8 {
		if !played.Has(sec) || coverage.Has(sec) {
			continue
		}
		if r.BudgetMS < 1000 {
			break // over budget: the rest of the claim is dropped
		}
		r.BudgetMS -= 1000
		coverage = coverage.Add(sec, sec+1)
	}

	if r.isNewerThanPosition(s, b.Seq) {
		r.PositionMS = min(b.PositionMS, l.DurationMS)
		r.PositionSession, r.PositionSeq = s.SessionID, b.Seq
		seen := s.FirstSeenAt
		r.PositionSeenAt = &seen
	}
	if fresh {
		s.LastSeq = b.Seq
	}
	s.LastSeenAt = now

	r.Coverage, r.Rewatched = nonNil(coverage), nonNil(rewatched)
	r.CoveredSecs = coverage.Count()
	r.UpdatedAt = now
	if r.CompletedAt == nil && lectern.ReachesThreshold(r.CoveredSecs, slots, l.Threshold) {
		done := now
		r.CompletedAt = &done
	}
}

// nonNil keeps empty bitmaps from being written as NULL.
func nonNil(c lectern.Coverage) []byte {
	if c == nil {
		return []byte{}
	}
	return c
}

// toProgress is the row as the API shows it, for a lesson of the given
// duration and threshold. A nil row is a user who has not watched yet.
func toProgress(r *progressRow, l *lessonAccess) *lectern.Progress {
	p := &lectern.Progress{LessonID: l.LessonID, DurationMS: l.DurationMS, CompletionThreshold: l.Threshold}
	if r == nil {
		return p
	}
	slots := lectern.CoverageSlots(l.DurationMS)
	watched := min(r.CoveredSecs, slots)
	p.LastPositionMS = min(r.PositionMS, l.DurationMS)
	p.PositionMS = lectern.ResumePosition(r.PositionMS, l.DurationMS)
	p.WatchedMS = min(int64(watched)*1000, l.DurationMS)
	p.Percent = lectern.CoveragePercent(watched, slots)
	p.Completed = r.CompletedAt != nil
	p.CompletedAt = r.CompletedAt
	seen := r.UpdatedAt
	p.LastSeenAt = &seen
	return p
}
