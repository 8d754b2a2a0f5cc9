package db_test

import (
	"context"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestRemoveCourseMemberKeepsATeacher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		owner := newUser(t, d, lectern.RoleTeacher)
		c := newCourse(t, d, owner)
		co1, co2 := newUser(t, d, lectern.RoleTeacher), newUser(t, d, lectern.RoleTeacher)
		for _, u := range []*lectern.User{co1, co2} {
			if err := d.AddCourseMember(ctx, c.ID, u.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
		}
		// An owner who no longer teaches (made a student of their own
		// course) leaves the co-teachers as the course's only teachers.
		if err := d.AddCourseMember(ctx, c.ID, owner.ID, lectern.MemberStudent); err != nil {
			t.Fatal(err)
		}
		if err := d.RemoveCourseMember(ctx, c.ID, co1.ID); err != nil {
			t.Fatalf("removing one of two teachers: %v", err)
		}
		wantCode(t, d.RemoveCourseMember(ctx, c.ID, co2.ID), lectern.ECONFLICT)
		if got, err := d.FindCourse(ctx, c.ID, co2); err != nil || got.MyRole != lectern.MemberTeacher {
			t.Errorf("last teacher after the refused removal: %+v, %v; want still a teacher", got, err)
		}
	})
}

func TestCheckLessonAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		owner := newUser(t, d, lectern.RoleTeacher)
		c := newCourse(t, d, owner)
		l := newLesson(t, d, c)
		student, outsider := newUser(t, d, lectern.RoleStudent), newUser(t, d, lectern.RoleStudent)
		admin := newUser(t, d, lectern.RoleAdmin)
		join(t, d, c, student)

		for name, id := range map[string]string{"Owner": owner.ID, "Student": student.ID, "AdminNotAMember": admin.ID} {
			if err := d.CheckLessonAccess(ctx, l.ID, id); err != nil {
				t.Errorf("%s: %v; want access", name, err)
			}
		}
		wantCode(t, d.CheckLessonAccess(ctx, l.ID, outsider.ID), lectern.ENOTFOUND)
		wantCode(t, d.CheckLessonAccess(ctx, l.ID, "nosuchuser"), lectern.ENOTFOUND)
		wantCode(t, d.CheckLessonAccess(ctx, "nosuchlesson", student.ID), lectern.ENOTFOUND)

		if err := d.RemoveCourseMember(ctx, c.ID, student.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, d.CheckLessonAccess(ctx, l.ID, student.ID), lectern.ENOTFOUND)
		join(t, d, c, student)
		if err := d.CheckLessonAccess(ctx, l.ID, student.ID); err != nil {
			t.Errorf("after joining again: %v; want access", err)
		}
		if err := d.DeleteLesson(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, d.CheckLessonAccess(ctx, l.ID, owner.ID), lectern.ENOTFOUND)
	})
}
