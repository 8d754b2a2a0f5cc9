package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// memberRow is one member as GET /api/v1/courses/{id}/members lists it.
type memberRow struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	Owner     bool   `json:"owner"`
	Removable bool   `json:"removable"`
}

// members lists a course's members as c, by user ID.
func members(t *testing.T, c *client, courseID string) map[string]memberRow {
	t.Helper()
	var resp struct{ Members []memberRow }
	c.do(t, "GET", "/api/v1/courses/"+courseID+"/members", nil).want(http.StatusOK).decode(&resp)
	out := map[string]memberRow{}
	for _, m := range resp.Members {
		out[m.UserID] = m
	}
	return out
}

// memberClass is a course with its owner, a co-teacher, two students,
// an outsider, an admin and a teacher of another course.
type memberClass struct {
	ts                          *testServer
	course                      courseJSON
	owner, coTeacher            *lectern.User
	ownerC, coTeacherC          *client
	student, classmate          *lectern.User
	studentC, classmateC        *client
	outsiderC, adminC, otherTeC *client
	lessonID                    string
}

func newMemberClass(t *testing.T, fx *fixture) *memberClass {
	t.Helper()
	ts := newServer(t, fx)
	m := &memberClass{ts: ts}
	m.owner, m.ownerC = ts.loginNew(t, lectern.RoleTeacher)
	m.coTeacher, m.coTeacherC = ts.loginNew(t, lectern.RoleTeacher)
	m.student, m.studentC = ts.loginNew(t, lectern.RoleStudent)
	m.classmate, m.classmateC = ts.loginNew(t, lectern.RoleStudent)
	_, m.outsiderC = ts.loginNew(t, lectern.RoleStudent)
	_, m.adminC = ts.loginNew(t, lectern.RoleAdmin)
	_, m.otherTeC = ts.loginNew(t, lectern.RoleTeacher)
	createCourse(t, m.otherTeC, "Someone else's course")
	m.course = createCourse(t, m.ownerC, "Thermodynamics")
	if err := fx.DB.AddCourseMember(context.Background(), m.course.ID, m.coTeacher.ID, lectern.MemberTeacher); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{m.studentC, m.classmateC} {
		c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
	}
	var l struct{ ID string }
	m.ownerC.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Entropy"}).
		want(http.StatusCreated).decode(&l)
	m.lessonID = l.ID
	return m
}

func (m *memberClass) memberPath(userID string) string {
	return "/api/v1/courses/" + m.course.ID + "/members/" + userID
}

func TestCourseMembers(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		t.Run("List", func(t *testing.T) {
			m := newMemberClass(t, fx)
			got := members(t, m.ownerC, m.course.ID)
			want := map[string]memberRow{
				m.owner.ID:     {m.owner.ID, m.owner.Name, m.owner.Email, "teacher", true, false},
				m.coTeacher.ID: {m.coTeacher.ID, m.coTeacher.Name, m.coTeacher.Email, "teacher", false, true},
				m.student.ID:   {m.student.ID, m.student.Name, m.student.Email, "student", false, true},
				m.classmate.ID: {m.classmate.ID, m.classmate.Name, m.classmate.Email, "student", false, true},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, members(t, m.adminC, m.course.ID)); diff != "" {
				t.Errorf("members as an admin (-want +got):\n%s", diff)
			}
			path := "/api/v1/courses/" + m.course.ID + "/members"
			m.studentC.do(t, "GET", path, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.outsiderC.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.otherTeC.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.ts.client(t).do(t, "GET", path, nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("TeacherRemovesAStudent", func(t *testing.T) {
			m := newMemberClass(t, fx)
			m.studentC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK)
			m.coTeacherC.do(t, "DELETE", m.memberPath(m.student.ID), nil).want(http.StatusNoContent)
			// Everything in the course is gone for them at once.
			m.studentC.do(t, "GET", "/api/v1/courses/"+m.course.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.studentC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.studentC.do(t, "GET", "/courses/"+m.course.ID, nil).want(http.StatusNotFound)
			if _, ok := listCourses(t, m.studentC)[m.course.ID]; ok {
				t.Error("the removed student's course list still has the course")
			}
			if _, ok := members(t, m.ownerC, m.course.ID)[m.student.ID]; ok {
				t.Error("the member list still has the removed student")
			}
			msg := m.ownerC.do(t, "DELETE", m.memberPath(m.student.ID), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if msg != "That person is not a member of this course." {
				t.Errorf("removing twice: message %q", msg)
			}
			m.ownerC.do(t, "DELETE", m.memberPath("nosuchuser"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			// The classmate is untouched, and the student can join again.
			m.classmateC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK)
			m.studentC.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
			m.studentC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK)
		})

		t.Run("AdminRemovesAStudent", func(t *testing.T) {
			m := newMemberClass(t, fx)
			m.adminC.do(t, "DELETE", m.memberPath(m.classmate.ID), nil).want(http.StatusNoContent)
			m.classmateC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})

		t.Run("OwnerAndLastTeacherStay", func(t *testing.T) {
			m := newMemberClass(t, fx)
			msg := m.coTeacherC.do(t, "DELETE", m.memberPath(m.owner.ID), nil).wantError(http.StatusConflict, lectern.ECONFLICT)
			if msg != "The teacher who created this course cannot be removed from it." {
				t.Errorf("removing the owner: message %q", msg)
			}
			m.adminC.do(t, "DELETE", m.memberPath(m.owner.ID), nil).wantError(http.StatusConflict, lectern.ECONFLICT)
			m.ownerC.do(t, "DELETE", m.memberPath(m.coTeacher.ID), nil).want(http.StatusNoContent)
			m.coTeacherC.do(t, "GET", "/api/v1/courses/"+m.course.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if got := members(t, m.ownerC, m.course.ID)[m.owner.ID]; !got.Owner || got.Removable {
				t.Errorf("owner row = %+v; want owner and not removable", got)
			}
			msg = m.ownerC.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/membership", nil).
				wantError(http.StatusConflict, lectern.ECONFLICT)
			if msg != "You created this course, so you cannot leave it." {
				t.Errorf("owner leaving: message %q", msg)
			}
			m.ownerC.do(t, "GET", "/api/v1/courses/"+m.course.ID, nil).want(http.StatusOK)
		})

		t.Run("OnlyTeachersRemove", func(t *testing.T) {
			m := newMemberClass(t, fx)
			m.studentC.do(t, "DELETE", m.memberPath(m.classmate.ID), nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.studentC.do(t, "DELETE", m.memberPath(m.owner.ID), nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.outsiderC.do(t, "DELETE", m.memberPath(m.classmate.ID), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.otherTeC.do(t, "DELETE", m.memberPath(m.classmate.ID), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.ts.client(t).do(t, "DELETE", m.memberPath(m.classmate.ID), nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			if len(members(t, m.ownerC, m.course.ID)) != 4 {
				t.Error("a refused removal removed someone")
			}
		})

		t.Run("StudentLeaves", func(t *testing.T) {
			m := newMemberClass(t, fx)
			leave := "/api/v1/courses/" + m.course.ID + "/membership"
			m.studentC.do(t, "DELETE", leave, nil).want(http.StatusNoContent)
			m.studentC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.studentC.do(t, "DELETE", leave, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.outsiderC.do(t, "DELETE", leave, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			// An admin sees every course but is in none of them.
			m.adminC.do(t, "DELETE", leave, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.coTeacherC.do(t, "DELETE", leave, nil).want(http.StatusNoContent)
			got := members(t, m.ownerC, m.course.ID)
			if _, ok := got[m.student.ID]; ok || len(got) != 2 {
				t.Errorf("members after two left: %v; want the owner and the classmate", got)
			}
		})
	})
}
