package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// SetChapters makes chs the lesson's chapters, replacing any it had (an
// empty list removes them all), and returns them as stored: checked and
// sorted by lectern.NormalizeChapters against the lesson's duration. It
// returns ENOTFOUND when there is no such lesson, and EINVALID for
// chapters that do not fit the lesson (or a lesson whose duration is not
// known yet). The caller has checked that the user may change the lesson.
//
// It is the one way chapters are written: the chapter API, and later the
// transcoder importing a file's chapters, call it.
func (db *DB) SetChapters(ctx context.Context, lessonID string, chs []lectern.Chapter) ([]lectern.Chapter, error) {
	var out []lectern.Chapter
	err := db.write(ctx, func(t tx) error {
		var duration int64
		err := t.get(ctx, &duration, `SELECT duration_ms FROM lessons WHERE id = ?`+db.forUpdate(), lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		if err != nil {
			return err
		}
		if duration <= 0 && len(chs) > 0 {
			return lectern.Errorf(lectern.EINVALID,
				"chapters need the lesson's length: set them once its recording has been processed")
		}
		if out, err = lectern.NormalizeChapters(chs, duration); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM chapters WHERE lesson_id = ?`, lessonID); err != nil {
			return err
		}
		// Search sees the chapters in the same transaction (none clears them).
		if err := replaceChapterEntries(ctx, t, lessonID, out); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		rows := make([]string, len(out))
		args := make([]any, 0, 3*len(out))
		for i := range out {
			out[i].LessonID = lessonID
			rows[i] = "(?, ?, ?)"
			args = append(args, lessonID, out[i].StartMS, out[i].Title)
		}
		// At most lectern.MaxChapters rows of 3 parameters: one statement.
		_, err = t.exec(ctx, `INSERT INTO chapters (lesson_id, start_ms, title) VALUES `+strings.Join(rows, ", "), args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set chapters: %w", err)
	}
	return out, nil
}

// FindChapters returns a lesson's chapters by start; none when it has none
// (or there is no such lesson). The caller has checked that the viewer may
// see the lesson.
func (db *DB) FindChapters(ctx context.Context, lessonID string) ([]lectern.Chapter, error) {
	chs := []lectern.Chapter{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &chs, `SELECT lesson_id, start_ms, title FROM chapters
			WHERE lesson_id = ? ORDER BY start_ms`, lessonID)
	})
	if err != nil {
		return nil, fmt.Errorf("find chapters: %w", err)
	}
	return chs, nil
}

// FindCourseChapters returns the chapters of every lesson of a course that
// has some, by lesson ID, each list by start: one query for a lesson list.
// The caller has checked that the viewer may see the course.
func (db *DB) FindCourseChapters(ctx context.Context, courseID string) (map[string][]lectern.Chapter, error) {
	var chs []lectern.Chapter
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &chs, `SELECT c.lesson_id, c.start_ms, c.title FROM chapters c
			JOIN lessons l ON l.id = c.lesson_id
			WHERE l.course_id = ? ORDER BY c.lesson_id, c.start_ms`, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find course chapters: %w", err)
	}
	byLesson := map[string][]lectern.Chapter{}
	for _, c := range chs {
		byLesson[c.LessonID] = append(byLesson[c.LessonID], c)
	}
	return byLesson, nil
}
