package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// FindProgress returns viewer's progress in a lesson: zero, with no
// LastSeenAt, before any heartbeat. It returns ENOTFOUND unless viewer is
// a member of the lesson's course or an admin.
func (db *DB) FindProgress(ctx context.Context, viewer *lectern.User, lessonID string) (*lectern.Progress, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	var p *lectern.Progress
	err := db.read(ctx, func(t tx) error {
		k := progressKey{viewer.ID, lessonID}
		access, err := findLessonAccess(ctx, t, []progressKey{k}, db.now())
		if err != nil {
			return err
		}
		a := access[k]
		if a == nil || (a.Role == "" && !viewer.IsAdmin()) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		var rows []*progressRow
		if err := t.sel(ctx, &rows, `SELECT `+progressColumns+` FROM lesson_progress
			WHERE user_id = ? AND lesson_id = ?`, viewer.ID, lessonID); err != nil {
			return err
		}
		var row *progressRow
		if len(rows) > 0 {
			row = rows[0]
		}
		p = toProgress(row, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find progress: %w", err)
	}
	return p, nil
}

// FindCourseProgress returns userID's progress in the lessons of a
// course, by lesson id; lessons the user has not started are absent. The
// caller has checked that the user may see the course.
func (db *DB) FindCourseProgress(ctx context.Context, userID, courseID string) (map[string]*lectern.Progress, error) {
	var rows []struct {
		progressRow
		DurationMS int64 `db:"duration_ms"`
		Threshold  int   `db:"completion_threshold"`
	}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT `+qualified(progressColumns, "p")+`,
				l.duration_ms, c.completion_threshold
			FROM lesson_progress p
			JOIN lessons l ON l.id = p.lesson_id
			JOIN courses c ON c.id = l.course_id
			WHERE p.user_id = ? AND l.course_id = ?`, userID, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find course progress: %w", err)
	}
	out := make(map[string]*lectern.Progress, len(rows))
	for i := range rows {
		r := &rows[i]
		out[r.LessonID] = toProgress(&r.progressRow, &lessonAccess{
			UserID: userID, LessonID: r.LessonID, DurationMS: r.DurationMS, Threshold: r.Threshold,
		})
	}
	return out, nil
}

// FindCourseCompletionThreshold returns the percentage of a lesson a
// student of the course must watch to complete it. It returns ENOTFOUND
// when there is no such course.
func (db *DB) FindCourseCompletionThreshold(ctx context.Context, courseID string) (int, error) {
	var pct int
	err := db.read(ctx, func(t tx) error {
		err := t.get(ctx, &pct, `SELECT completion_threshold FROM courses WHERE id = ?`, courseID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "course not found")
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("find completion threshold: %w", err)
	}
	return pct, nil
}

// UpdateCourseCompletionThreshold sets the percentage of a lesson a
// student of the course must watch to complete it. Students who already
// reach a lowered threshold are completed now; raising it completes no one
// and un-completes no one. It returns ENOTFOUND when there is no such
// course; the caller has checked that the user teaches it.
func (db *DB) UpdateCourseCompletionThreshold(ctx context.Context, courseID string, pct int) error {
	if err := lectern.ValidateCompletionThreshold(pct); err != nil {
		return err
	}
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE courses SET completion_threshold = ? WHERE id = ?`, pct, courseID)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "course not found")
		}
		// The same test as lectern.ReachesThreshold, in SQL: covered
		// seconds × 100 ≥ threshold × the lesson's started seconds.
		_, err = t.exec(ctx, `UPDATE lesson_progress SET completed_at = ?
			WHERE completed_at IS NULL AND lesson_id IN (
				SELECT l.id FROM lessons l
				WHERE l.course_id = ? AND l.duration_ms > 0
					AND lesson_progress.covered_secs * 100 >= ? * ((l.duration_ms + 999) / 1000))`,
			db.now(), courseID, pct)
		return err
	})
	if err != nil {
		return fmt.Errorf("update completion threshold: %w", err)
	}
	return nil
}
