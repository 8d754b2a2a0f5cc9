package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

func roleOf(t *testing.T, d *db.DB, courseID, userID string) lectern.MemberRole {
	t.Helper()
	ms, err := d.FindCourseMembers(context.Background(), courseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}

func TestCourseRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		t.Run("TeachingAssistant", func(t *testing.T) {
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			ta, student := newUser(t, d, lectern.RoleStudent), newUser(t, d, lectern.RoleStudent)
			if err := d.AddNewCourseMember(ctx, c.ID, ta.ID, lectern.MemberTA); err != nil {
				t.Fatal(err)
			}
			join(t, d, c, student)
			got, err := d.FindCourse(ctx, c.ID, ta)
			if err != nil || got.MyRole != lectern.MemberTA {
				t.Fatalf("TA's FindCourse = %+v, %v; want role ta", got, err)
			}
			// A question for teachers reaches the TA, who answers it.
			l := readyLesson(t, d, c, 60_000)
			q := post(t, d, student, lectern.Comment{LessonID: l.ID, Kind: lectern.KindQuestion, Body: "why?",
				Visibility: lectern.VisibilityTeachers})
			inbox, err := d.FindInbox(ctx, ta, lectern.InboxFilter{})
			if err != nil || len(inbox.Questions) != 1 || inbox.Questions[0].ID != q.ID {
				t.Fatalf("TA's inbox = %+v, %v; want the student's question", inbox, err)
			}
			post(t, d, ta, lectern.Comment{LessonID: l.ID, ParentID: q.ID, Body: "because"})
			inbox, err = d.FindInbox(ctx, ta, lectern.InboxFilter{})
			if err != nil || len(inbox.Questions) != 0 {
				t.Errorf("TA's inbox after answering = %+v, %v; want empty", inbox, err)
			}
			// Joining again with the code does not make the TA a student.
			join(t, d, c, ta)
			if r := roleOf(t, d, c.ID, ta.ID); r != lectern.MemberTA {
				t.Errorf("TA's role after using the join code = %q", r)
			}
			wantCode(t, d.AddNewCourseMember(ctx, c.ID, ta.ID, lectern.MemberStudent), lectern.ECONFLICT)
			wantCode(t, d.AddNewCourseMember(ctx, c.ID, ta.ID, "boss"), lectern.EINVALID)
		})
		t.Run("ChangeRoles", func(t *testing.T) {
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			co, s := newUser(t, d, lectern.RoleTeacher), newUser(t, d, lectern.RoleStudent)
			join(t, d, c, s)
			if err := d.SetCourseMemberRole(ctx, c.ID, s.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			if r := roleOf(t, d, c.ID, s.ID); r != lectern.MemberTeacher {
				t.Errorf("role after promotion = %q", r)
			}
			if err := d.SetCourseMemberRole(ctx, c.ID, s.ID, lectern.MemberTA); err != nil {
				t.Fatal(err)
			}
			// The owner stays a teacher.
			wantCode(t, d.SetCourseMemberRole(ctx, c.ID, owner.ID, lectern.MemberStudent), lectern.ECONFLICT)
			wantCode(t, d.SetCourseMemberRole(ctx, c.ID, co.ID, lectern.MemberTA), lectern.ENOTFOUND)
			wantCode(t, d.SetCourseMemberRole(ctx, c.ID, s.ID, "owner"), lectern.EINVALID)
			wantCode(t, d.SetCourseMemberRole(ctx, "nope", s.ID, lectern.MemberTA), lectern.ENOTFOUND)
			if r := roleOf(t, d, c.ID, owner.ID); r != lectern.MemberTeacher {
				t.Errorf("owner's role after refusals = %q", r)
			}
		})
		t.Run("LastTeacherStays", func(t *testing.T) {
			// A co-teacher steps down to TA, leaving the owner the only
			// teacher.
			owner := newUser(t, d, lectern.RoleTeacher)
			c := newCourse(t, d, owner)
			co := newUser(t, d, lectern.RoleTeacher)
			if err := d.AddNewCourseMember(ctx, c.ID, co.ID, lectern.MemberTeacher); err != nil {
				t.Fatal(err)
			}
			if err := d.SetCourseMemberRole(ctx, c.ID, co.ID, lectern.MemberTA); err != nil {
				t.Fatal(err)
			}
			// Now the owner is the last teacher: refused, as before.
			wantCode(t, d.SetCourseMemberRole(ctx, c.ID, owner.ID, lectern.MemberTA), lectern.ECONFLICT)
			wantCode(t, d.RemoveCourseMember(ctx, c.ID, owner.ID), lectern.ECONFLICT)
		})
		t.Run("RotateJoinCode", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			old := c.JoinCode
			code, err := d.RotateJoinCode(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if code == old || code == "" {
				t.Fatalf("new code %q, old %q", code, old)
			}
			s := newUser(t, d, lectern.RoleStudent)
			_, err = d.JoinCourse(ctx, old, s.ID)
			wantCode(t, err, lectern.ENOTFOUND)
			if got, err := d.JoinCourse(ctx, code, s.ID); err != nil || got.ID != c.ID {
				t.Errorf("JoinCourse with the new code = %+v, %v", got, err)
			}
			_, err = d.RotateJoinCode(ctx, "nope")
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}

func TestCourseInvitations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		owner := newUser(t, d, lectern.RoleTeacher)
		c := newCourse(t, d, owner)
		email := testenv.Name("invitee") + "@Example.com"
		inv := &db.CourseInvitation{TokenHash: "h-" + testenv.Name("t"), CourseID: c.ID, Email: email,
			Role: lectern.MemberTA, InvitedBy: &owner.ID, ExpiresAt: clock.Peek().Add(time.Hour)}
		if err := d.CreateCourseInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if n, err := d.CountCourseInvitations(ctx, c.ID, email, clock.Peek().Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("CountCourseInvitations = %d, %v", n, err)
		}
		found, err := d.FindCourseInvitation(ctx, inv.TokenHash)
		if err != nil || found.CourseTitle != c.Title || found.Role != lectern.MemberTA {
			t.Fatalf("FindCourseInvitation = %+v, %v", found, err)
		}
		u := &lectern.User{Name: "Ines", PasswordHash: "x"}
		if _, err := d.AcceptCourseInvitation(ctx, inv.TokenHash, u); err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Role != lectern.RoleStudent {
			t.Errorf("account made = %+v", u)
		}
		if r := roleOf(t, d, c.ID, u.ID); r != lectern.MemberTA {
			t.Errorf("invitee's role = %q; want ta", r)
		}
		// Used once only.
		_, err = d.AcceptCourseInvitation(ctx, inv.TokenHash, &lectern.User{Name: "Again", PasswordHash: "x"})
		wantCode(t, err, lectern.ENOTFOUND)
		_, err = d.FindCourseInvitation(ctx, inv.TokenHash)
		wantCode(t, err, lectern.ENOTFOUND)

		// An expired one does nothing.
		late := &db.CourseInvitation{TokenHash: "h-" + testenv.Name("t"), CourseID: c.ID, Email: testenv.Name("late") + "@example.com",
			Role: lectern.MemberStudent, ExpiresAt: clock.Peek().Add(time.Minute)}
		if err := d.CreateCourseInvitation(ctx, late); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Minute)
		_, err = d.AcceptCourseInvitation(ctx, late.TokenHash, &lectern.User{Name: "Late", PasswordHash: "x"})
		wantCode(t, err, lectern.ENOTFOUND)
		if _, err := d.FindUserByEmail(ctx, late.Email); lectern.ErrorCode(err) != lectern.ENOTFOUND {
			t.Errorf("an expired invitation made an account: %v", err)
		}
	})
}

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		t.Run("Deactivate", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleTeacher)
			sess := &lectern.Session{TokenHash: "s-" + testenv.Name("s"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
			if err := d.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			tok := &lectern.APIToken{UserID: u.ID, Name: "cli", TokenHash: "k-" + testenv.Name("k")}
			if err := d.CreateAPIToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			c := newCourse(t, d, u)
			ended, err := d.SetUserActive(ctx, u.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(ended) != 2 {
				t.Errorf("ended credentials = %v; want the session and the token", ended)
			}
			_, _, err = d.FindSessionCredential(ctx, sess.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
			_, _, err = d.FindAPITokenCredential(ctx, tok.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
			// No new session either, by any login.
			wantCode(t, d.CreateSession(ctx, &lectern.Session{TokenHash: "s-" + testenv.Name("s"), UserID: u.ID,
				ExpiresAt: time.Now().Add(time.Hour)}), lectern.EFORBIDDEN)
			got, err := d.FindUserByID(ctx, u.ID)
			if err != nil || got.DeactivatedAt == nil {
				t.Fatalf("deactivated user = %+v, %v", got, err)
			}
			// Data kept.
			if _, err := d.FindCourse(ctx, c.ID, u); err != nil {
				t.Errorf("their course after deactivation: %v", err)
			}
			if _, err := d.SetUserActive(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := d.CreateSession(ctx, &lectern.Session{TokenHash: "s-" + testenv.Name("s"), UserID: u.ID,
				ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Errorf("session after reactivation: %v", err)
			}
			_, err = d.SetUserActive(ctx, "nope", false)
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("RolesAndHoldings", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			if err := d.SetUserRole(ctx, u.ID, lectern.RoleTeacher); err != nil {
				t.Fatal(err)
			}
			wantCode(t, d.SetUserRole(ctx, u.ID, "king"), lectern.EINVALID)
			c := newCourse(t, d, u)
			other := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			if err := d.AddNewCourseMember(ctx, other.ID, u.ID, lectern.MemberTA); err != nil {
				t.Fatal(err)
			}
			l := readyLesson(t, d, c, 1000)
			post(t, d, u, lectern.Comment{LessonID: l.ID, Kind: lectern.KindComment, Body: "hi", Visibility: lectern.VisibilityClass})
			if err := d.RecordLessonStorage(ctx, db.LessonStorage{LessonID: l.ID, SourceKey: l.SourceKey, SourceBytes: 1234,
				OutputPrefix: l.OutputPrefix}); err != nil {
				t.Fatal(err)
			}
			h, err := d.FindUserHoldings(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Courses) != 2 || h.Courses[0].ID != c.ID || !h.Courses[0].Owner || h.Courses[0].Lessons != 1 ||
				h.Courses[1].ID != other.ID || h.Courses[1].Role != lectern.MemberTA || h.Courses[1].Owner {
				t.Errorf("holdings courses = %+v", h.Courses)
			}
			if h.Lessons != 1 || h.Comments != 1 || h.StorageBytes != 1234 || h.Memberships != 2 {
				t.Errorf("holdings = %+v", h)
			}
			// An owner of a course is not deleted; someone who owns none is.
			_, err = d.DeleteUser(ctx, u.ID)
			wantCode(t, err, lectern.ECONFLICT)
			s := newUser(t, d, lectern.RoleStudent)
			join(t, d, c, s)
			if _, err := d.DeleteUser(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			_, err = d.FindUserByID(ctx, s.ID)
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.DeleteUser(ctx, s.ID)
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}
