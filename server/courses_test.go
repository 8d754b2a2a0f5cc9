package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lectern/lectern"
)

// courseJSON is a course as the API returns it.
type courseJSON struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	JoinCode    *string `json:"join_code"`
	OwnerID     string  `json:"owner_id"`
	MyRole      string  `json:"my_role"`
}

func createCourse(t *testing.T, c *client, title string) courseJSON {
	t.Helper()
	var course courseJSON
	c.do(t, "POST", "/api/v1/courses", map[string]string{"title": title, "description": "About " + title}).
		want(http.StatusCreated).decode(&course)
	return course
}

func listCourses(t *testing.T, c *client) map[string]courseJSON {
	t.Helper()
	var resp struct{ Courses []courseJSON }
	c.do(t, "GET", "/api/v1/courses", nil).want(http.StatusOK).decode(&resp)
	m := make(map[string]courseJSON)
	for _, course := range resp.Courses {
		m[course.ID] = course
	}
	return m
}

func TestCourses(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		teacher, tc := ts.loginNew(t, lectern.RoleTeacher)
		_, sc := ts.loginNew(t, lectern.RoleStudent)
		_, outsider := ts.loginNew(t, lectern.RoleStudent)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)

		course := createCourse(t, tc, "  Algebra I ")
		t.Run("TeacherCreates", func(t *testing.T) {
			if course.ID == "" || course.Title != "Algebra I" || course.OwnerID != teacher.ID || course.MyRole != "teacher" {
				t.Errorf("course = %+v; want an id, trimmed title, owner %s, my_role teacher", course, teacher.ID)
			}
			if course.JoinCode == nil || len(*course.JoinCode) != 8 {
				t.Errorf("join_code = %v, want 8 characters", course.JoinCode)
			}
		})
		t.Run("AdminCreates", func(t *testing.T) {
			createCourse(t, admin, "Admin's course")
		})
		t.Run("StudentForbidden", func(t *testing.T) {
			sc.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Mine"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		})
		t.Run("Invalid", func(t *testing.T) {
			for name, body := range map[string]map[string]string{
				"NoTitle":         {"title": "  "},
				"LongTitle":       {"title": strings.Repeat("t", 201)},
				"LongDescription": {"title": "T", "description": strings.Repeat("d", 5001)},
			} {
				t.Run(name, func(t *testing.T) {
					tc.do(t, "POST", "/api/v1/courses", body).wantError(http.StatusBadRequest, lectern.EINVALID)
				})
			}
			tc.do(t, "POST", "/api/v1/courses", map[string]string{"title": strings.Repeat("é", 200)}).want(http.StatusCreated)
		})

		t.Run("NonMemberGets404", func(t *testing.T) {
			sc.do(t, "GET", "/api/v1/courses/"+course.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			sc.do(t, "GET", "/api/v1/courses/no-such-course", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})

		t.Run("JoinByCodeAnyCase", func(t *testing.T) {
			var joined courseJSON
			sc.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": " " + strings.ToLower(*course.JoinCode) + " "}).
				want(http.StatusOK).decode(&joined)
			if joined.ID != course.ID || joined.MyRole != "student" || joined.JoinCode != nil {
				t.Errorf("joined = %+v; want course %s, my_role student, no join_code", joined, course.ID)
			}
			// Joining again changes nothing.
			sc.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
			var got courseJSON
			sc.do(t, "GET", "/api/v1/courses/"+course.ID, nil).want(http.StatusOK).decode(&got)
			if got.MyRole != "student" || got.JoinCode != nil {
				t.Errorf("member view = %+v; want my_role student and no join_code", got)
			}
		})
		t.Run("JoinUnknownCode", func(t *testing.T) {
			outsider.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": "ZZZZZZZZ"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			outsider.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": ""}).wantError(http.StatusBadRequest, lectern.EINVALID)
		})

		t.Run("List", func(t *testing.T) {
			mine := listCourses(t, sc)
			if got, ok := mine[course.ID]; !ok || got.JoinCode != nil || got.MyRole != "student" {
				t.Errorf("student's courses = %+v; want %s as student without join_code", mine, course.ID)
			}
			taught := listCourses(t, tc)
			if got := taught[course.ID]; got.JoinCode == nil || *got.JoinCode != *course.JoinCode {
				t.Errorf("teacher's course = %+v; want join_code %s", got, *course.JoinCode)
			}
			if others := listCourses(t, outsider); len(others) != 0 {
				t.Errorf("outsider's courses = %+v, want none", others)
			}
		})

		t.Run("AdminSeesAnyCourse", func(t *testing.T) {
			var got courseJSON
			admin.do(t, "GET", "/api/v1/courses/"+course.ID, nil).want(http.StatusOK).decode(&got)
			if got.JoinCode == nil {
				t.Errorf("admin's view has no join_code")
			}
		})
	})
}
