package db_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestCourses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("Create", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			now := clock.Peek()
			c := &lectern.Course{Title: "Physics", Description: "waves", OwnerID: teacher.ID}
			if err := d.CreateCourse(ctx, c); err != nil {
				t.Fatal(err)
			}
			want := &lectern.Course{ID: c.ID, Title: "Physics", Description: "waves", JoinCode: c.JoinCode,
				OwnerID: teacher.ID, CreatedAt: stored(now), TimeZone: "UTC", MyRole: lectern.MemberTeacher}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("CreateCourse filled (-want +got):\n%s", diff)
			}
			if len(c.JoinCode) != 8 || strings.Trim(c.JoinCode, "ABCDEFGHJKMNPQRSTUVWXYZ23456789") != "" {
				t.Errorf("join code %q is not 8 unambiguous uppercase characters", c.JoinCode)
			}
			got, err := d.FindCourse(ctx, c.ID, teacher)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindCourse by its owner (-want +got):\n%s", diff)
			}
		})
		t.Run("CreateInvalid", func(t *testing.T) {
			err := d.CreateCourse(ctx, &lectern.Course{Title: "  ", OwnerID: newUser(t, d, lectern.RoleTeacher).ID})
			wantCode(t, err, lectern.EINVALID)
			err = d.CreateCourse(ctx, &lectern.Course{Title: "Orphan", OwnerID: "nosuchuser"})
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("JoinCodesDiffer", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			seen := map[string]bool{}
			for range 20 {
				c := newCourse(t, d, teacher)
				if seen[c.JoinCode] {
					t.Fatalf("join code %s given to two courses", c.JoinCode)
				}
				seen[c.JoinCode] = true
			}
		})
		t.Run("Join", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			student := newUser(t, d, lectern.RoleStudent)
			joined, err := d.JoinCourse(ctx, "  "+strings.ToLower(c.JoinCode)+"\n", student.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			want.MyRole = lectern.MemberStudent
			if diff := cmp.Diff(&want, joined); diff != "" {
				t.Errorf("JoinCourse (-want +got):\n%s", diff)
			}
			got, err := d.FindCourse(ctx, c.ID, student)
			if err != nil {
				t.Fatalf("FindCourse by a student who joined: %v", err)
			}
			if got.MyRole != lectern.MemberStudent {
				t.Errorf("MyRole = %q, want student", got.MyRole)
			}
		})
		t.Run("JoinTwice", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			student := newUser(t, d, lectern.RoleStudent)
			join(t, d, c, student)
			again, err := d.JoinCourse(ctx, c.JoinCode, student.ID)
			if err != nil {
				t.Fatalf("second JoinCourse: %v", err)
			}
			if again.MyRole != lectern.MemberStudent {
				t.Errorf("MyRole after joining twice = %q, want student", again.MyRole)
			}
			if members, _ := d.FindCourseMembers(ctx, c.ID); len(members) != 2 {
				t.Errorf("course has %d members after one student joined twice, want 2", len(members))
			}
		})
		t.Run("JoinTwiceAtOnce", func(t *testing.T) {
			// A double-clicked join button sends two requests at once.
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			student := newUser(t, d, lectern.RoleStudent)
			var wg sync.WaitGroup
			errs := make([]error, 8)
			roles := make([]lectern.MemberRole, len(errs))
			for i := range errs {
				wg.Go(func() {
					var got *lectern.Course
					got, errs[i] = d.JoinCourse(ctx, c.JoinCode, student.ID)
					if got != nil {
						roles[i] = got.MyRole
					}
				})
			}
			wg.Wait()
			for i := range errs {
				if errs[i] != nil || roles[i] != lectern.MemberStudent {
					t.Errorf("concurrent JoinCourse #%d = role %q, %v; want student, nil", i, roles[i], errs[i])
				}
			}
			if members, _ := d.FindCourseMembers(ctx, c.ID); len(members) != 2 {
				t.Errorf("course has %d members, want 2", len(members))
			}
		})
		t.Run("JoinUnknownCode", func(t *testing.T) {
			_, err := d.JoinCourse(ctx, "ZZZZZZZZ", newUser(t, d, lectern.RoleStudent).ID)
			wantCode(t, err, lectern.ENOTFOUND)
			if got, want := lectern.ErrorMessage(err), "no course with this join code"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
		t.Run("JoinUnknownUser", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			_, err := d.JoinCourse(ctx, c.JoinCode, "nosuchuser")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("TeacherStaysTeacherOnJoin", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, teacher)
			joined, err := d.JoinCourse(ctx, c.JoinCode, teacher.ID)
			if err != nil {
				t.Fatal(err)
			}
			if joined.MyRole != lectern.MemberTeacher {
				t.Errorf("JoinCourse by its teacher: MyRole = %q, want teacher", joined.MyRole)
			}
			if got, _ := d.FindCourse(ctx, c.ID, teacher); got == nil || got.MyRole != lectern.MemberTeacher {
				t.Errorf("FindCourse after teacher joined = %+v, want MyRole teacher", got)
			}
		})
		t.Run("MembershipScoping", func(t *testing.T) {
			a := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			b := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			student := newUser(t, d, lectern.RoleStudent)
			join(t, d, a, student)

			_, err := d.FindCourse(ctx, b.ID, student)
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.FindCourse(ctx, a.ID, nil)
			wantCode(t, err, lectern.ENOTFOUND)

			admin := newUser(t, d, lectern.RoleAdmin)
			got, err := d.FindCourse(ctx, b.ID, admin)
			if err != nil {
				t.Fatalf("FindCourse by an admin: %v", err)
			}
			if got.ID != b.ID || got.MyRole != "" {
				t.Errorf("FindCourse by a non-member admin = %s with MyRole %q, want %s with no role", got.ID, got.MyRole, b.ID)
			}
			_, err = d.FindCourse(ctx, "nosuchcourse", admin)
			wantCode(t, err, lectern.ENOTFOUND)

			mine, err := d.FindCourses(ctx, student)
			if err != nil {
				t.Fatal(err)
			}
			want := *a
			want.MyRole = lectern.MemberStudent
			if diff := cmp.Diff([]*lectern.Course{&want}, mine); diff != "" {
				t.Errorf("FindCourses of a student of one course (-want +got):\n%s", diff)
			}
			if courses, err := d.FindCourses(ctx, admin); err != nil || len(courses) != 0 {
				t.Errorf("FindCourses of an admin in no course = %d courses, %v; want none", len(courses), err)
			}
		})
		t.Run("FindCoursesNewestFirst", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			other := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			first, second := newCourse(t, d, teacher), newCourse(t, d, teacher)
			join(t, d, other, teacher)
			got, err := d.FindCourses(ctx, teacher)
			if err != nil {
				t.Fatal(err)
			}
			var ids, roles []string
			for _, c := range got {
				ids = append(ids, c.ID)
				roles = append(roles, string(c.MyRole))
			}
			if diff := cmp.Diff([]string{second.ID, first.ID, other.ID}, ids); diff != "" {
				t.Errorf("FindCourses ids, newest first (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"teacher", "teacher", "student"}, roles); diff != "" {
				t.Errorf("FindCourses roles (-want +got):\n%s", diff)
			}
		})
	})
}

func TestCourseMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("AddCoTeacherAndChangeRole", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			co := newUser(t, d, lectern.RoleTeacher)
			if err := d.AddCourseMember(ctx, c.ID, co.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			if got, err := d.FindCourse(ctx, c.ID, co); err != nil || got.MyRole != lectern.MemberTeacher {
				t.Errorf("co-teacher's FindCourse = %+v, %v; want MyRole teacher", got, err)
			}
			student := newUser(t, d, lectern.RoleStudent)
			join(t, d, c, student)
			if err := d.AddCourseMember(ctx, c.ID, student.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			if got, err := d.FindCourse(ctx, c.ID, student); err != nil || got.MyRole != lectern.MemberTeacher {
				t.Errorf("promoted student's FindCourse = %+v, %v; want MyRole teacher", got, err)
			}
			if err := d.AddCourseMember(ctx, c.ID, student.ID, lectern.MemberStudent); err != nil {
				t.Fatal(err)
			}
			if got, err := d.FindCourse(ctx, c.ID, student); err != nil || got.MyRole != lectern.MemberStudent {
				t.Errorf("demoted teacher's FindCourse = %+v, %v; want MyRole student", got, err)
			}
		})
		t.Run("AddInvalid", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			u := newUser(t, d, lectern.RoleStudent)
			wantCode(t, d.AddCourseMember(ctx, c.ID, u.ID, "owner"), lectern.EINVALID)
			wantCode(t, d.AddCourseMember(ctx, "nosuchcourse", u.ID, lectern.MemberStudent), lectern.ENOTFOUND)
			wantCode(t, d.AddCourseMember(ctx, c.ID, "nosuchuser", lectern.MemberStudent), lectern.ENOTFOUND)
		})
		t.Run("ListTeachersFirstThenByName", func(t *testing.T) {
			owner := newNamedUser(t, d, lectern.RoleTeacher, "Zoe")
			c := newCourse(t, d, owner)
			bea := newNamedUser(t, d, lectern.RoleStudent, "Bea")
			joinedAt := stored(clock.Peek())
			join(t, d, c, bea)
			amy := newNamedUser(t, d, lectern.RoleStudent, "Amy")
			join(t, d, c, amy)
			maxi := newNamedUser(t, d, lectern.RoleTeacher, "Max")
			if err := d.AddCourseMember(ctx, c.ID, maxi.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			got, err := d.FindCourseMembers(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.Name+":"+string(m.Role))
			}
			if diff := cmp.Diff([]string{"Max:teacher", "Zoe:teacher", "Amy:student", "Bea:student"}, names); diff != "" {
				t.Errorf("FindCourseMembers (-want +got):\n%s", diff)
			}
			wantBea := &lectern.CourseMember{CourseID: c.ID, UserID: bea.ID, Name: "Bea", Email: bea.Email,
				Role: lectern.MemberStudent, JoinedAt: joinedAt}
			if len(got) == 4 {
				if diff := cmp.Diff(wantBea, got[3]); diff != "" {
					t.Errorf("member Bea (-want +got):\n%s", diff)
				}
			}
		})
		t.Run("UnknownCourse", func(t *testing.T) {
			_, err := d.FindCourseMembers(ctx, "nosuchcourse")
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}
