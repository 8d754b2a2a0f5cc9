package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// RemoveCourseMember takes userID out of courseID (un-enrolment, or a
// co-teacher leaving). The course's owner cannot be removed, and neither
// can its last teacher: a course always keeps someone who teaches it
// (ECONFLICT). It returns ENOTFOUND when the user is not a member of the
// course. What the member wrote and watched stays; joining again brings
// it back.
func (db *DB) RemoveCourseMember(ctx context.Context, courseID, userID string) error {
	err := db.write(ctx, func(t tx) error {
		// Locking the course row makes removals from one course take turns
		// on PostgreSQL, so that two teachers removing each other cannot
		// both see the other still there (SQLite writers take turns anyway).
		owner, err := db.lockCourseOwner(ctx, t, courseID)
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return lectern.Errorf(lectern.ENOTFOUND, "course member not found")
		}
		if err != nil {
			return err
		}
		var role lectern.MemberRole
		err = t.get(ctx, &role, `SELECT role FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "course member not found")
		}
		if err != nil {
			return err
		}
		if owner == userID {
			return lectern.Errorf(lectern.ECONFLICT, "the course's owner cannot be removed from it")
		}
		if role == lectern.MemberTeacher {
			if err := keepATeacher(ctx, t, courseID, "the course's last teacher cannot be removed from it"); err != nil {
				return err
			}
		}
		_, err = t.exec(ctx, `DELETE FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove course member: %w", err)
	}
	return nil
}

// CheckLessonAccess reports whether userID may still see lessonID: nil
// when the user is a member of the lesson's course or an admin, ENOTFOUND
// otherwise (also when the lesson or the user no longer exists). Media
// delivery asks it on every request, so that a student removed from a
// course loses the playback links they were given at once; it is one
// indexed read.
func (db *DB) CheckLessonAccess(ctx context.Context, lessonID, userID string) error {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM lessons l
			JOIN users u ON u.id = ?
			LEFT JOIN course_members m ON m.course_id = l.course_id AND m.user_id = u.id
			WHERE l.id = ? AND (m.user_id IS NOT NULL OR u.role = 'admin') AND `+liveLesson, userID, lessonID)
	})
	if err != nil {
		return fmt.Errorf("check lesson access: %w", err)
	}
	if n == 0 {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	return nil
}
