package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// Where a lesson's chapters come from (lessons.chapters_origin).
const (
	chaptersFromTeacher = "teacher"
	chaptersFromFile    = "file"
)

// SetChapters makes chs the lesson's chapters, replacing any it had (an
// empty list removes them all), and returns them as stored: checked and
// sorted by lectern.NormalizeChapters against the lesson's duration. It
// returns ENOTFOUND when there is no such lesson, and EINVALID for
// chapters that do not fit the lesson (or a lesson whose duration is not
// known yet). The caller has checked that the user may change the lesson.
//
// Chapters set here are the teacher's: a later upload's own chapters never
// replace them (see PublishLesson), even when the teacher removed them all.
func (db *DB) SetChapters(ctx context.Context, lessonID string, chs []lectern.Chapter) ([]lectern.Chapter, error) {
	var out []lectern.Chapter
	err := db.write(ctx, func(t tx) error {
		duration, err := db.lockedDuration(ctx, t, lessonID)
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
		return replaceChapters(ctx, t, lessonID, out, chaptersFromTeacher)
	})
	if err != nil {
		return nil, fmt.Errorf("set chapters: %w", err)
	}
	return out, nil
}

// lockedDuration reads the lesson's duration, holding its row until t
// ends (on PostgreSQL; SQLite's writes are one at a time anyway), so that
// chapter writes of one lesson happen one after the other.
func (db *DB) lockedDuration(ctx context.Context, t tx, lessonID string) (int64, error) {
	var duration int64
	err := t.get(ctx, &duration, `SELECT duration_ms FROM lessons WHERE id = ?`+db.forUpdate(), lessonID)
	if notFound(err) {
		return 0, lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	return duration, err
}

// replaceChapters makes chs, already normalised, the lesson's chapters
// and search entries in t, and records where they came from. It is the
// one way chapters are written: by a teacher (SetChapters) and from an
// uploaded file (importChapters).
func replaceChapters(ctx context.Context, t tx, lessonID string, chs []lectern.Chapter, origin string) error {
	if _, err := t.exec(ctx, `DELETE FROM chapters WHERE lesson_id = ?`, lessonID); err != nil {
		return err
	}
	// Search sees the chapters in the same transaction (none clears them).
	if err := replaceChapterEntries(ctx, t, lessonID, chs); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `UPDATE lessons SET chapters_origin = ? WHERE id = ?`, origin, lessonID); err != nil {
		return err
	}
	if len(chs) == 0 {
		return nil
	}
	rows := make([]string, len(chs))
	args := make([]any, 0, 3*len(chs))
	for i := range chs {
		chs[i].LessonID = lessonID
		rows[i] = "(?, ?, ?)"
		args = append(args, lessonID, chs[i].StartMS, chs[i].Title)
	}
	// At most lectern.MaxChapters rows of 3 parameters: one statement.
	_, err := t.exec(ctx, `INSERT INTO chapters (lesson_id, start_ms, title) VALUES `+strings.Join(rows, ", "), args...)
	return err
}

// importChapters makes the chapters of a newly published recording of
// durationMS, as its file states them, the lesson's, unless its teacher
// has set chapters: they are cleaned (lectern.ImportedChapters) and
// written as a teacher's would be. Chapters imported from an earlier
// upload are replaced, or removed when the new file has none.
func importChapters(ctx context.Context, t tx, lessonID string, durationMS int64, fromFile []lectern.Chapter) error {
	var origin string
	if err := t.get(ctx, &origin, `SELECT chapters_origin FROM lessons WHERE id = ?`, lessonID); err != nil {
		return err
	}
	chs := lectern.ImportedChapters(fromFile, durationMS)
	if origin == chaptersFromTeacher || (origin == "" && len(chs) == 0) {
		return nil
	}
	// ImportedChapters makes what this accepts; checked all the same, so
	// that a file can never write chapters a teacher could not. Should it
	// ever refuse them, the lesson keeps what it had: chapters are not
	// worth failing a publication over.
	chs, err := lectern.NormalizeChapters(chs, durationMS)
	if err != nil {
		return nil
	}
	origin = chaptersFromFile
	if len(chs) == 0 {
		origin = ""
	}
	return replaceChapters(ctx, t, lessonID, chs, origin)
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
