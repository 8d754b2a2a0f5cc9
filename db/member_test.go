package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestRemoveCourseMember(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		memberIDs := func(t *testing.T, courseID string) []string {
			t.Helper()
			ms, err := d.FindCourseMembers(ctx, courseID)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.UserID)
			}
			return ids
		}
		t.Run("StudentLosesAccess", func(t *testing.T) {
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			l := &lectern.Lesson{CourseID: c.ID, Title: "Week 1", PublishedAt: new(time.Unix(0, 0))}
			if err := d.CreateLesson(ctx, l); err != nil {
				t.Fatal(err)
			}
			student, classmate := newUser(t, d, lectern.RoleStudent), newUser(t, d, lectern.RoleStudent)
			join(t, d, c, student)
			join(t, d, c, classmate)
			if err := d.RemoveCourseMember(ctx, c.ID, student.ID); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindCourse(ctx, c.ID, student)
			wantCode(t, err, lectern.ENOTFOUND)
			_, _, err = d.FindLesson(ctx, l.ID, student)
			wantCode(t, err, lectern.ENOTFOUND)
			if got, err := d.FindCourses(ctx, student); err != nil || len(got) != 0 {
				t.Errorf("FindCourses of the removed student = %v, %v; want none", got, err)
			}
			if diff := cmp.Diff([]string{owner.ID, classmate.ID}, memberIDs(t, c.ID)); diff != "" {
				t.Errorf("members after removal (-want +got):\n%s", diff)
			}
			wantCode(t, d.RemoveCourseMember(ctx, c.ID, student.ID), lectern.ENOTFOUND)
			join(t, d, c, student)
			if _, _, err := d.FindLesson(ctx, l.ID, student); err != nil {
				t.Errorf("FindLesson after joining again: %v", err)
			}
		})
		t.Run("CoTeacherLeaves", func(t *testing.T) {
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			co := newUser(t, d, lectern.RoleTeacher)
			if err := d.AddCourseMember(ctx, c.ID, co.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			if err := d.RemoveCourseMember(ctx, c.ID, co.ID); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{owner.ID}, memberIDs(t, c.ID)); diff != "" {
				t.Errorf("members after the co-teacher left (-want +got):\n%s", diff)
			}
		})
		t.Run("OwnerStays", func(t *testing.T) {
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			wantCode(t, d.RemoveCourseMember(ctx, c.ID, owner.ID), lectern.ECONFLICT)
			if got, err := d.FindCourse(ctx, c.ID, owner); err != nil || got.MyRole != lectern.MemberTeacher {
				t.Errorf("owner's FindCourse after refused removal = %+v, %v; want teacher", got, err)
			}
		})
		t.Run("NotAMember", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			outsider := newUser(t, d, lectern.RoleStudent)
			wantCode(t, d.RemoveCourseMember(ctx, c.ID, outsider.ID), lectern.ENOTFOUND)
			wantCode(t, d.RemoveCourseMember(ctx, c.ID, "nosuchuser"), lectern.ENOTFOUND)
			wantCode(t, d.RemoveCourseMember(ctx, "nosuchcourse", outsider.ID), lectern.ENOTFOUND)
		})
	})
}
