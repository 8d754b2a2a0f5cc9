package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// RemoveCourseMember takes userID out of courseID (un-enrolment, or a
// co-teacher leaving). The course's owner cannot be removed: a course
// always keeps the teacher who created it (ECONFLICT). It returns
// ENOTFOUND when the user is not a member of the course.
func (db *DB) RemoveCourseMember(ctx context.Context, courseID, userID string) error {
	err := db.write(ctx, func(t tx) error {
		var owner string
		err := t.get(ctx, &owner, `SELECT owner_id FROM courses WHERE id = ?`, courseID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "course member not found")
		}
		if err != nil {
			return err
		}
		if owner == userID {
			return lectern.Errorf(lectern.ECONFLICT, "the course's owner cannot be removed from it")
		}
		n, err := t.exec(ctx, `DELETE FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "course member not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("remove course member: %w", err)
	}
	return nil
}
