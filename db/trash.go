package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// A deleted course or lesson goes to the trash first: deleted_at is set
// and every read made for a user leaves it out, as if it were gone, while
// its rows and media stay. Restoring clears deleted_at and brings it back
// whole. Once the retention has passed, the purge removes the media (the
// server's part) and then the rows.

// liveLesson is the SQL condition, over lessons l, that the lesson is
// not in the trash, by itself or with its course.
const liveLesson = `(l.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM courses tc
	WHERE tc.id = l.course_id AND tc.deleted_at IS NOT NULL))`

// liveComment is the SQL condition, over comments c, that the comment's
// lesson and course are not in the trash.
const liveComment = `NOT EXISTS (SELECT 1 FROM lessons tl JOIN courses tc ON tc.id = tl.course_id
	WHERE tl.id = c.lesson_id AND (tl.deleted_at IS NOT NULL OR tc.deleted_at IS NOT NULL))`

// UpdateCourse changes the settings of upd that are set: the title (not
// blank), the description and the time zone (an IANA name). It returns
// ENOTFOUND when the course does not exist or is in the trash, EINVALID
// for a bad value; then nothing changes.
func (db *DB) UpdateCourse(ctx context.Context, id string, upd lectern.CourseUpdate) error {
	var set setClause
	if upd.Title != nil {
		if *upd.Title == "" {
			return lectern.Errorf(lectern.EINVALID, "course title is required")
		}
		set.add("title", *upd.Title)
	}
	if upd.Description != nil {
		set.add("description", *upd.Description)
	}
	if upd.TimeZone != nil {
		if err := lectern.ValidTimeZone(*upd.TimeZone); err != nil {
			return err
		}
		set.add("time_zone", *upd.TimeZone)
	}
	if len(set.cols) == 0 {
		return lectern.Errorf(lectern.EINVALID, "nothing to change")
	}
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE courses SET `+set.sql()+` WHERE id = ? AND deleted_at IS NULL`,
			append(set.args, id)...)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "course not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("update course: %w", err)
	}
	return nil
}

// SetCourseArchived archives the course (read-only, hidden from the main
// list) or, with archived false, restores it from the archive. Doing it
// twice changes nothing. It returns ENOTFOUND when the course does not
// exist or is in the trash.
func (db *DB) SetCourseArchived(ctx context.Context, id string, archived bool) error {
	q := `UPDATE courses SET archived_at = NULL WHERE id = ? AND deleted_at IS NULL`
	args := []any{id}
	if archived {
		q = `UPDATE courses SET archived_at = COALESCE(archived_at, ?) WHERE id = ? AND deleted_at IS NULL`
		args = []any{db.now(), id}
	}
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, q, args...)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "course not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("archive course: %w", err)
	}
	return nil
}

// ArchivedCourseOf reports whether the course of a course, lesson or
// comment (kind is lectern.TrashCourse, lectern.TrashLesson or "comment")
// with this id is archived and viewer is a member of it or an admin: what
// write routes check before they change anything. An id that does not
// exist, or that viewer may not see, is not archived (the route answers
// 404 itself), so that the answer tells a stranger nothing.
func (db *DB) ArchivedCourseOf(ctx context.Context, kind, id string, viewer *lectern.User) (bool, error) {
	var q string
	switch kind {
	case string(lectern.TrashCourse):
		q = `SELECT COUNT(*) FROM courses c WHERE c.id = ? AND c.archived_at IS NOT NULL`
	case string(lectern.TrashLesson):
		q = `SELECT COUNT(*) FROM lessons l JOIN courses c ON c.id = l.course_id
			WHERE l.id = ? AND c.archived_at IS NOT NULL`
	case "comment":
		q = `SELECT COUNT(*) FROM comments m JOIN courses c ON c.id = m.course_id
			WHERE m.id = ? AND c.archived_at IS NOT NULL`
	default:
		return false, fmt.Errorf("archived course of %s: unknown kind", kind)
	}
	q += ` AND (? OR EXISTS (SELECT 1 FROM course_members vm WHERE vm.course_id = c.id AND vm.user_id = ?))`
	var n int
	if err := db.read(ctx, func(t tx) error { return t.get(ctx, &n, q, id, viewer.IsAdmin(), viewer.ID) }); err != nil {
		return false, fmt.Errorf("archived course of %s: %w", kind, err)
	}
	return n > 0, nil
}

// TrashCourse moves a course to the trash, by userID. It returns
// ENOTFOUND when the course does not exist or is in the trash already.
func (db *DB) TrashCourse(ctx context.Context, id, userID string) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE courses SET deleted_at = ?, deleted_by = ?
			WHERE id = ? AND deleted_at IS NULL`, db.now(), userID, id)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "course not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("trash course: %w", err)
	}
	return nil
}

// TrashLesson moves a lesson to the trash, by userID, and counts a change
// to its course's outline. It returns ENOTFOUND when the lesson does not
// exist or is in the trash already (by itself or with its course).
func (db *DB) TrashLesson(ctx context.Context, id, userID string) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE lessons SET deleted_at = ?, deleted_by = ?
			WHERE id = ? AND deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM courses tc
				WHERE tc.id = lessons.course_id AND tc.deleted_at IS NOT NULL)`, db.now(), userID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		_, err = t.exec(ctx, `UPDATE courses SET outline_version = outline_version + 1
			WHERE id = (SELECT course_id FROM lessons WHERE id = ?)`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("trash lesson: %w", err)
	}
	return nil
}

// trashColumns select a trash item from lessons l (or NULL) and courses c.
const trashCourseSelect = `SELECT 'course' AS kind, c.id, c.title, c.id AS course_id,
		c.title AS course_title, c.deleted_at, c.deleted_by
	FROM courses c`
const trashLessonSelect = `SELECT 'lesson' AS kind, l.id, l.title, c.id AS course_id,
		c.title AS course_title, l.deleted_at, l.deleted_by
	FROM lessons l JOIN courses c ON c.id = l.course_id`

// teachesCourse is the SQL condition, with viewer's ID as its argument,
// that viewer teaches course c.
const teachesCourse = `EXISTS (SELECT 1 FROM course_members tm
	WHERE tm.course_id = c.id AND tm.user_id = ? AND tm.role = 'teacher')`

// FindTrash returns what viewer may restore from the trash, most recently
// deleted first: the trashed courses they teach and the trashed lessons of
// the courses they teach that are not in the trash themselves; for an
// admin, everything. Items are listed whatever their age: the purge
// removes the expired ones.
func (db *DB) FindTrash(ctx context.Context, viewer *lectern.User) ([]*lectern.TrashItem, error) {
	items := []*lectern.TrashItem{}
	if viewer == nil {
		return items, nil
	}
	cond, args := teachesCourse, []any{viewer.ID, viewer.ID}
	if viewer.IsAdmin() {
		cond, args = `1=1`, nil
	}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &items, trashCourseSelect+` WHERE c.deleted_at IS NOT NULL AND `+cond+`
			UNION ALL `+trashLessonSelect+` WHERE l.deleted_at IS NOT NULL AND c.deleted_at IS NULL AND `+cond+`
			ORDER BY deleted_at DESC, id`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("find trash: %w", err)
	}
	return items, nil
}

// FindTrashItem returns the trashed course or lesson id if viewer may
// restore it (see FindTrash), ENOTFOUND otherwise.
func (db *DB) FindTrashItem(ctx context.Context, kind lectern.TrashKind, id string, viewer *lectern.User) (*lectern.TrashItem, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "%s not found in the trash", kind)
	}
	cond, args := teachesCourse, []any{id, viewer.ID}
	if viewer.IsAdmin() {
		cond, args = `1=1`, []any{id}
	}
	var q string
	switch kind {
	case lectern.TrashCourse:
		q = trashCourseSelect + ` WHERE c.id = ? AND c.deleted_at IS NOT NULL AND ` + cond
	case lectern.TrashLesson:
		q = trashLessonSelect + ` WHERE l.id = ? AND l.deleted_at IS NOT NULL AND c.deleted_at IS NULL AND ` + cond
	default:
		return nil, lectern.Errorf(lectern.EINVALID, "the trash holds courses and lessons")
	}
	var item lectern.TrashItem
	err := db.read(ctx, func(t tx) error { return t.get(ctx, &item, q, args...) })
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "%s not found in the trash", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("find trash item: %w", err)
	}
	return &item, nil
}

// RestoreFromTrash brings a trashed course or lesson back as it was,
// provided it went to the trash at or after since (older items are the
// purge's: restoring one could race with the removal of its media). It
// returns ENOTFOUND when it is not in the trash or is older; a restored
// lesson counts a change to its course's outline.
func (db *DB) RestoreFromTrash(ctx context.Context, kind lectern.TrashKind, id string, since time.Time) error {
	table := "courses"
	if kind == lectern.TrashLesson {
		table = "lessons"
	}
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE `+table+` SET deleted_at = NULL, deleted_by = ''
			WHERE id = ? AND deleted_at IS NOT NULL AND deleted_at >= ?`, id, normTime(since))
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "%s not found in the trash", kind)
		}
		if kind == lectern.TrashLesson {
			_, err = t.exec(ctx, `UPDATE courses SET outline_version = outline_version + 1
				WHERE id = (SELECT course_id FROM lessons WHERE id = ?)`, id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("restore from trash: %w", err)
	}
	return nil
}

// ExpiredTrash is a course or lesson to purge.
type ExpiredTrash struct {
	Kind lectern.TrashKind `db:"kind"`
	ID   string            `db:"id"`
}

// FindExpiredTrash returns the courses and lessons that went to the trash
// before before, oldest first, at most limit of each.
func (db *DB) FindExpiredTrash(ctx context.Context, before time.Time, limit int) ([]ExpiredTrash, error) {
	var out []ExpiredTrash
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &out, `SELECT kind, id FROM (
				SELECT 'course' AS kind, id, deleted_at FROM courses
				WHERE deleted_at IS NOT NULL AND deleted_at < ? ORDER BY deleted_at, id LIMIT ?) ec
			UNION ALL SELECT kind, id FROM (
				SELECT 'lesson' AS kind, id, deleted_at FROM lessons
				WHERE deleted_at IS NOT NULL AND deleted_at < ? ORDER BY deleted_at, id LIMIT ?) el`,
			normTime(before), limit, normTime(before), limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find expired trash: %w", err)
	}
	return out, nil
}

// trashEpoch is the deletion time ExpireTrash gives: long past any
// retention.
var trashEpoch = time.Unix(0, 0).UTC()

// ExpireTrash makes a trashed course or lesson (or, with kind "",
// everything in the trash) past its retention at once: it can no longer
// be restored, and the next purge removes it. An admin's "remove now"
// expires first, so that a teacher restoring it meanwhile cannot get back
// an item whose media is being removed. It returns how many it expired.
func (db *DB) ExpireTrash(ctx context.Context, kind lectern.TrashKind, id string) (int64, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		for _, table := range []struct {
			kind lectern.TrashKind
			name string
		}{{lectern.TrashCourse, "courses"}, {lectern.TrashLesson, "lessons"}} {
			if kind != "" && kind != table.kind {
				continue
			}
			q, args := `UPDATE `+table.name+` SET deleted_at = ? WHERE deleted_at IS NOT NULL`, []any{trashEpoch}
			if kind != "" {
				q, args = q+` AND id = ?`, append(args, id)
			}
			m, err := t.exec(ctx, q, args...)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire trash: %w", err)
	}
	return n, nil
}

// FindTrashLessonIDs returns the lessons whose media goes when a trashed
// course (all its lessons, trashed or not) or lesson (itself) is purged.
func (db *DB) FindTrashLessonIDs(ctx context.Context, kind lectern.TrashKind, id string) ([]string, error) {
	ids := []string{}
	q := `SELECT id FROM lessons WHERE id = ? AND deleted_at IS NOT NULL`
	if kind == lectern.TrashCourse {
		q = `SELECT l.id FROM lessons l JOIN courses c ON c.id = l.course_id
			WHERE c.id = ? AND c.deleted_at IS NOT NULL ORDER BY l.id`
	}
	if err := db.read(ctx, func(t tx) error { return t.sel(ctx, &ids, q, id) }); err != nil {
		return nil, fmt.Errorf("find trashed lessons: %w", err)
	}
	return ids, nil
}

// PurgeTrash removes the rows of a trashed course (with its lessons and
// everything under them) or lesson for good, if it went to the trash
// before before. It reports whether it removed anything: false when
// another process purged it first, or it was restored. The media is the
// caller's to remove first.
func (db *DB) PurgeTrash(ctx context.Context, kind lectern.TrashKind, id string, before time.Time) (bool, error) {
	table := "courses"
	if kind == lectern.TrashLesson {
		table = "lessons"
	}
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `DELETE FROM `+table+` WHERE id = ? AND deleted_at IS NOT NULL AND deleted_at < ?`,
			id, normTime(before))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("purge %s: %w", kind, err)
	}
	return n > 0, nil
}
