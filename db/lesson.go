package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

const lessonColumns = `l.id, l.course_id, l.title, l.description, l.status, l.duration_ms,
	l.source_key, l.output_prefix, l.renditions, l.poster, l.thumbnails, l.attempt, l.error,
	l.created_at, l.updated_at, COALESCE(l.section_id, '') AS section_id, l.position,
	l.published_at, l.watch_by`

func validLessonStatus(s lectern.LessonStatus) bool {
	switch s {
	case lectern.LessonAwaitingUpload, lectern.LessonQueued, lectern.LessonProcessing,
		lectern.LessonReady, lectern.LessonFailed:
		return true
	}
	return false
}

// CreateLesson stores l in its course, filling l.ID, l.CreatedAt and
// l.UpdatedAt and setting l.Status to awaiting_upload. It keeps
// l.PublishedAt and l.WatchBy: a lesson created without PublishedAt is a
// draft. The lesson goes at
// the end of section l.SectionID, or, when that is "", at the end of the
// course's last section (of the lessons in no section when the course has
// no sections); l.SectionID and l.Position say where it went. It returns
// ENOTFOUND when the course (or the section, in this course) does not
// exist; the caller has checked that the user may add lessons to it.
func (db *DB) CreateLesson(ctx context.Context, l *lectern.Lesson) error {
	if strings.TrimSpace(l.Title) == "" {
		return lectern.Errorf(lectern.EINVALID, "lesson title is required")
	}
	nl := *l
	nl.ID = newID()
	nl.Status = lectern.LessonAwaitingUpload
	nl.CreatedAt = db.now()
	nl.UpdatedAt = nl.CreatedAt
	nl.PublishedAt = utcPtr(nl.PublishedAt)
	nl.WatchBy = utcPtr(nl.WatchBy)
	if nl.Renditions == nil {
		nl.Renditions = lectern.Renditions{}
	}
	err := db.write(ctx, func(t tx) error {
		if err := courseExists(ctx, t, nl.CourseID); err != nil {
			return err
		}
		if err := placeNewLesson(ctx, t, &nl); err != nil {
			return err
		}
		_, err := t.named(ctx, `INSERT INTO lessons (id, course_id, title, description, status,
				duration_ms, source_key, output_prefix, renditions, poster, thumbnails, attempt, error,
				created_at, updated_at, section_id, position, published_at, watch_by)
			VALUES (:id, :course_id, :title, :description, :status,
				:duration_ms, :source_key, :output_prefix, :renditions, :poster, :thumbnails, :attempt, :error,
				:created_at, :updated_at, NULLIF(:section_id, ''), :position, :published_at, :watch_by)`, &nl)
		if err != nil {
			return err
		}
		return bumpOutline(ctx, t, nl.CourseID)
	})
	if err != nil {
		return fmt.Errorf("create lesson: %w", err)
	}
	*l = nl
	return nil
}

// lessonWithRole is a lesson and the viewer's role in its course.
type lessonWithRole struct {
	lectern.Lesson
	MyRole lectern.MemberRole `db:"my_role"`
}

// FindLesson returns the lesson with the given id and viewer's role in its
// course. It returns ENOTFOUND unless viewer is a member of the lesson's
// course or an admin (the role is "" for an admin who is not a member),
// and, as for a lesson that does not exist, when viewer is a student and
// the lesson is a draft or not yet published (see lessonShown).
func (db *DB) FindLesson(ctx context.Context, id string, viewer *lectern.User) (*lectern.Lesson, lectern.MemberRole, error) {
	if viewer == nil {
		return nil, "", lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	var l lessonWithRole
	shown, args := db.lessonShownTo("l", viewer)
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &l, `SELECT `+lessonColumns+`, COALESCE(vm.role, '') AS my_role
			FROM lessons l LEFT JOIN course_members vm ON vm.course_id = l.course_id AND vm.user_id = ?
			WHERE l.id = ? AND `+liveLesson+` AND `+shown, append([]any{viewer.ID, id}, args...)...)
	})
	if notFound(err) || (err == nil && l.MyRole == "" && !viewer.IsAdmin()) {
		return nil, "", lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	if err != nil {
		return nil, "", fmt.Errorf("find lesson: %w", err)
	}
	return &l.Lesson, l.MyRole, nil
}

// FindLessonByID returns the lesson with the given id whoever asks. Only
// the worker uses it; request handlers use FindLesson.
func (db *DB) FindLessonByID(ctx context.Context, id string) (*lectern.Lesson, error) {
	var l lectern.Lesson
	err := db.read(ctx, func(t tx) error { return getLesson(ctx, t, &l, id) })
	if err != nil {
		return nil, fmt.Errorf("find lesson: %w", err)
	}
	return &l, nil
}

func getLesson(ctx context.Context, t tx, l *lectern.Lesson, id string) error {
	err := t.get(ctx, l, `SELECT `+lessonColumns+` FROM lessons l WHERE l.id = ?`, id)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	return err
}

// FindLessons returns the lessons of a course that viewer may see (see
// lessonShown) in the course's order (see lectern.Outline). The caller has
// checked that the viewer is a member of the course.
func (db *DB) FindLessons(ctx context.Context, courseID string, viewer *lectern.User) ([]*lectern.Lesson, error) {
	lessons := []*lectern.Lesson{}
	shown, args := db.lessonShownTo("l", viewer)
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &lessons, `SELECT `+lessonColumns+` FROM lessons l `+lessonOrderJoin+`
			LEFT JOIN course_members vm ON vm.course_id = l.course_id AND vm.user_id = ?
			WHERE l.course_id = ? AND l.deleted_at IS NULL AND `+shown+` ORDER BY `+lessonOrder,
			append([]any{viewer.ID, courseID}, args...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("find lessons: %w", err)
	}
	return lessons, nil
}

// setClause collects "column = ?" assignments for a partial update.
type setClause struct {
	cols []string
	args []any
}

func (s *setClause) add(col string, v any) {
	s.cols = append(s.cols, col+" = ?")
	s.args = append(s.args, v)
}

// sql returns the assignments joined with commas.
func (s *setClause) sql() string { return strings.Join(s.cols, ", ") }

func lessonSet(upd lectern.LessonUpdate) (*setClause, error) {
	var s setClause
	if upd.Title != nil {
		if strings.TrimSpace(*upd.Title) == "" {
			return nil, lectern.Errorf(lectern.EINVALID, "lesson title is required")
		}
		s.add("title", *upd.Title)
	}
	if upd.Description != nil {
		s.add("description", *upd.Description)
	}
	if upd.Status != nil {
		if !validLessonStatus(*upd.Status) {
			return nil, lectern.Errorf(lectern.EINVALID, "unknown lesson status %q", *upd.Status)
		}
		s.add("status", *upd.Status)
	}
	if upd.DurationMS != nil {
		if *upd.DurationMS < 0 {
			return nil, lectern.Errorf(lectern.EINVALID, "lesson duration must not be negative")
		}
		s.add("duration_ms", *upd.DurationMS)
	}
	if upd.SourceKey != nil {
		s.add("source_key", *upd.SourceKey)
	}
	if upd.OutputPrefix != nil {
		s.add("output_prefix", *upd.OutputPrefix)
	}
	if upd.Error != nil {
		s.add("error", *upd.Error)
	}
	if upd.Renditions != nil {
		s.add("renditions", *upd.Renditions)
	}
	if upd.Poster != nil {
		s.add("poster", *upd.Poster)
	}
	if upd.Thumbnails != nil {
		s.add("thumbnails", *upd.Thumbnails)
	}
	return &s, nil
}

// UpdateLesson changes the fields of upd that are set, sets UpdatedAt, and
// returns the updated lesson. It returns ENOTFOUND when there is no such
// lesson.
func (db *DB) UpdateLesson(ctx context.Context, id string, upd lectern.LessonUpdate) (*lectern.Lesson, error) {
	set, err := lessonSet(upd)
	if err != nil {
		return nil, err
	}
	set.add("updated_at", db.now())
	var l lectern.Lesson
	err = db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE lessons SET `+set.sql()+` WHERE id = ?`, append(set.args, id)...)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		return getLesson(ctx, t, &l, id)
	})
	if err != nil {
		return nil, fmt.Errorf("update lesson: %w", err)
	}
	return &l, nil
}

// DeleteLesson removes a lesson and its transcode jobs, and counts a
// change to its course's outline. It returns ENOTFOUND when there is no
// such lesson. Stored media is the caller's to remove.
func (db *DB) DeleteLesson(ctx context.Context, id string) error {
	err := db.write(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `UPDATE courses SET outline_version = outline_version + 1
			WHERE id = (SELECT course_id FROM lessons WHERE id = ?)`, id); err != nil {
			return err
		}
		n, err := t.exec(ctx, `DELETE FROM lessons WHERE id = ?`, id)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete lesson: %w", err)
	}
	return nil
}
