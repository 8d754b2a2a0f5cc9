package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// A lesson is a draft (published_at NULL) until its teacher publishes it,
// or scheduled (published_at in the future) until its time comes. Until
// then its course's students see nothing of it: not the lesson, its media,
// comments, captions, chapters or search hits, nor its place in the
// course. The course's staff (any role but student) and admins see it all.
//
// lessonShown is that rule, and every read made for a user applies it.

// lessonShown returns the SQL condition, over the lesson alias l and the
// viewer's membership vm in the lesson's course (a LEFT JOIN of
// course_members; vm.role is NULL for a non-member), that the viewer may
// see the lesson at now, and its arguments. admin is whether the viewer
// is an admin, who sees every lesson.
func lessonShown(l string, admin bool, now time.Time) (string, []any) {
	if admin {
		return `1=1`, nil
	}
	return `(` + l + `.published_at <= ? OR vm.role <> 'student')`, []any{now}
}

// lessonShownTo is lessonShown for viewer at the database's now.
func (db *DB) lessonShownTo(l string, viewer *lectern.User) (string, []any) {
	return lessonShown(l, viewer.IsAdmin(), db.now())
}

// SetLessonPublication sets lesson id's publication (its PublishedAt and
// WatchBy, nil to clear) and returns the lesson. It returns ENOTFOUND when
// there is no such lesson (or it is in the trash). The caller has checked
// that the user teaches the course.
func (db *DB) SetLessonPublication(ctx context.Context, id string, p lectern.Publication) (*lectern.Lesson, error) {
	var l lectern.Lesson
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE lessons SET published_at = ?, watch_by = ?, updated_at = ?
			WHERE id = ? AND deleted_at IS NULL`, utcPtr(p.PublishedAt), utcPtr(p.WatchBy), db.now(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		return getLesson(ctx, t, &l, id)
	})
	if err != nil {
		return nil, fmt.Errorf("set lesson publication: %w", err)
	}
	return &l, nil
}

// utcPtr is t in UTC to the microsecond (as the database keeps times), nil
// for nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
