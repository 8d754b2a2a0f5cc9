package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

// addMember adds email to the course as role through the API, as by.
func (m *memberClass) addMember(t *testing.T, by *client, email, role string) *response {
	t.Helper()
	return by.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/members", map[string]string{"email": email, "role": role})
}

func TestTeachingAssistant(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMemberClass(t, fx)
		ta, taC := m.ts.loginNew(t, lectern.RoleStudent)
		var added struct {
			Member  memberRow
			Invited bool
			Message string
		}
		m.addMember(t, m.ownerC, strings.ToUpper(ta.Email), "ta").want(http.StatusCreated).decode(&added)
		if added.Invited || added.Member.UserID != ta.ID || added.Member.Role != "ta" {
			t.Errorf("added = %+v", added)
		}
		if got := members(t, m.ownerC, m.course.ID)[ta.ID]; got.Role != "ta" || !got.Removable {
			t.Errorf("the TA in the member list = %+v", got)
		}
		lesson := readyLesson(t, m.ts, m.course.ID, "Carnot", 60_000)
		var q commentJSON
		m.studentC.do(t, "POST", "/api/v1/lessons/"+lesson+"/comments",
			map[string]any{"kind": "question", "visibility": "teachers", "at_ms": 1000, "body": "what is a reservoir?"}).
			want(http.StatusCreated).decode(&q)

		// What a TA may do: see the question meant for teachers, in the
		// inbox too, answer it, and see the analytics.
		if got := inbox(t, taC, ""); len(got.Questions) != 1 || got.Questions[0].ID != q.ID {
			t.Fatalf("TA's inbox = %+v; want the question", got)
		}
		taC.do(t, "POST", "/api/v1/lessons/"+lesson+"/comments",
			map[string]any{"parent_id": q.ID, "body": "a body that stays at one temperature"}).want(http.StatusCreated)
		if got := inbox(t, taC, "?status=answered"); len(got.Questions) != 1 || got.Questions[0].Status != "answered" {
			t.Errorf("the TA's reply did not answer the question: %+v", got)
		}
		taC.do(t, "GET", "/api/v1/lessons/"+lesson+"/analytics", nil).want(http.StatusOK)
		taC.do(t, "GET", "/api/v1/lessons/"+lesson+"/analytics.csv", nil).want(http.StatusOK)
		taC.do(t, "GET", "/lessons/"+lesson+"/analytics", nil).want(http.StatusOK)
		if page := string(taC.do(t, "GET", "/courses/"+m.course.ID, nil).want(http.StatusOK).Body); strings.Contains(page, `id="member-list"`) ||
			strings.Contains(page, "/lessons/"+lesson+"/upload") || strings.Contains(page, `id="join-code-rotate"`) {
			t.Errorf("the TA's course page offers the member list, editing or the join code")
		}
		// A student may not see analytics.
		m.studentC.do(t, "GET", "/api/v1/lessons/"+lesson+"/analytics", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)

		// What a TA may not do: 403, and nothing changes.
		course := "/api/v1/courses/" + m.course.ID
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"POST", course + "/lessons", map[string]string{"title": "Mine"}},
			{"PATCH", "/api/v1/lessons/" + lesson, map[string]string{"title": "Renamed"}},
			{"DELETE", "/api/v1/lessons/" + lesson, nil},
			{"PUT", "/api/v1/lessons/" + lesson + "/captions/en", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n"},
			{"PUT", "/api/v1/lessons/" + lesson + "/chapters", map[string]any{"chapters": []any{}}},
			{"POST", course + "/sections", map[string]string{"title": "Week 1"}},
			{"PATCH", course, map[string]string{"title": "Taken over"}},
			{"DELETE", course, nil},
			{"GET", course + "/members", nil},
			{"POST", course + "/members", map[string]string{"email": "x@example.com"}},
			{"PATCH", course + "/members/" + m.student.ID, map[string]string{"role": "ta"}},
			{"DELETE", course + "/members/" + m.student.ID, nil},
			{"POST", course + "/join-code", nil},
		} {
			taC.do(t, r.method, r.path, r.body).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		}
		var l struct{ Title string }
		m.ownerC.do(t, "GET", "/api/v1/lessons/"+lesson, nil).want(http.StatusOK).decode(&l)
		if l.Title != "Carnot" {
			t.Errorf("lesson title after the TA's refused edit = %q", l.Title)
		}
		if got := members(t, m.ownerC, m.course.ID)[m.student.ID]; got.Role != "student" {
			t.Errorf("student after the TA's refused changes = %+v", got)
		}
	})
}

func TestMemberRoles(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMemberClass(t, fx)
		path := m.memberPath(m.student.ID)
		var got memberRow
		m.coTeacherC.do(t, "PATCH", path, map[string]string{"role": "ta"}).want(http.StatusOK).decode(&got)
		if got.Role != "ta" || got.UserID != m.student.ID {
			t.Errorf("PATCH answered %+v", got)
		}
		// Effective at once: the new TA sees analytics.
		lesson := readyLesson(t, m.ts, m.course.ID, "Carnot", 60_000)
		m.studentC.do(t, "GET", "/api/v1/lessons/"+lesson+"/analytics", nil).want(http.StatusOK)
		m.ownerC.do(t, "PATCH", path, map[string]string{"role": "student"}).want(http.StatusOK)
		m.studentC.do(t, "GET", "/api/v1/lessons/"+lesson+"/analytics", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)

		m.ownerC.do(t, "PATCH", path, map[string]string{"role": "dean"}).wantError(http.StatusBadRequest, lectern.EINVALID)
		m.ownerC.do(t, "PATCH", path, `{"role":`).wantError(http.StatusBadRequest, lectern.EINVALID)
		m.ownerC.do(t, "PATCH", m.memberPath("nobody"), map[string]string{"role": "ta"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		m.studentC.do(t, "PATCH", path, map[string]string{"role": "teacher"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		m.outsiderC.do(t, "PATCH", path, map[string]string{"role": "teacher"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		m.otherTeC.do(t, "PATCH", path, map[string]string{"role": "teacher"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		if got := members(t, m.ownerC, m.course.ID)[m.student.ID]; got.Role != "student" {
			t.Errorf("role after refused changes = %q", got.Role)
		}

		// The owner stays a teacher, and so does the last teacher.
		msg := m.coTeacherC.do(t, "PATCH", m.memberPath(m.owner.ID), map[string]string{"role": "student"}).
			wantError(http.StatusConflict, lectern.ECONFLICT)
		if !strings.Contains(msg, "created this course") {
			t.Errorf("demoting the owner: %q", msg)
		}
		m.ownerC.do(t, "PATCH", m.memberPath(m.coTeacher.ID), map[string]string{"role": "ta"}).want(http.StatusOK)
		msg = m.adminC.do(t, "PATCH", m.memberPath(m.owner.ID), map[string]string{"role": "ta"}).
			wantError(http.StatusConflict, lectern.ECONFLICT)
		if msg == "" {
			t.Error("no message for the last teacher")
		}
		if got := members(t, m.ownerC, m.course.ID)[m.owner.ID]; got.Role != "teacher" || got.Removable {
			t.Errorf("owner after refused demotion = %+v", got)
		}
		// A co-teacher demoted to TA loses teaching at once.
		m.coTeacherC.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/lessons", map[string]string{"title": "x"}).
			wantError(http.StatusForbidden, lectern.EFORBIDDEN)
	})
}

func TestMemberAddByEmail(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		t.Run("ExistingAccounts", func(t *testing.T) {
			m := newMemberClass(t, fx)
			newbie, newbieC := m.ts.loginNew(t, lectern.RoleStudent)
			m.addMember(t, m.ownerC, " "+newbie.Email+" ", "").want(http.StatusCreated)
			if got := members(t, m.ownerC, m.course.ID)[newbie.ID]; got.Role != "student" {
				t.Errorf("added without a role: %+v; want a student", got)
			}
			newbieC.do(t, "GET", "/api/v1/courses/"+m.course.ID, nil).want(http.StatusOK)
			msg := m.addMember(t, m.ownerC, m.student.Email, "teacher").wantError(http.StatusConflict, lectern.ECONFLICT)
			if !strings.Contains(msg, "already in this course") {
				t.Errorf("adding a member twice: %q", msg)
			}
			if got := members(t, m.ownerC, m.course.ID)[m.student.ID]; got.Role != "student" {
				t.Errorf("re-adding changed the role: %+v", got)
			}
			m.addMember(t, m.ownerC, "not an address", "student").wantError(http.StatusBadRequest, lectern.EINVALID)
			m.addMember(t, m.ownerC, newbie.Email, "owner").wantError(http.StatusBadRequest, lectern.EINVALID)
			m.addMember(t, m.studentC, newbie.Email, "ta").wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.addMember(t, m.otherTeC, newbie.Email, "ta").wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("NoMailConfigured", func(t *testing.T) {
			m := newMemberClass(t, fx)
			msg := m.addMember(t, m.ownerC, "stranger@example.com", "student").wantError(http.StatusServiceUnavailable, lectern.EUNAVAILABLE)
			if !strings.Contains(msg, "cannot send mail") || !strings.Contains(msg, "join link") {
				t.Errorf("no-mail message: %q", msg)
			}
			if q, err := fx.DB.FindQueuedMail(t.Context()); err != nil || len(q) != 0 {
				t.Errorf("queued mail = %v, %v; want none", q, err)
			}
		})
	})
}

func TestCourseInvitationByMail(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		owner, ownerC := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, ownerC, "Optics")
		email := "newcomer-" + strings.ToLower(owner.ID) + "@example.com"
		var res struct {
			Invited bool
			Message string
		}
		ownerC.do(t, "POST", "/api/v1/courses/"+course.ID+"/members", map[string]string{"email": email, "role": "ta"}).
			want(http.StatusAccepted).decode(&res)
		if !res.Invited || !strings.Contains(res.Message, "invitation") {
			t.Errorf("answer = %+v", res)
		}
		msgs := mta.WaitMessages(t, 1, 10*time.Second)
		waitOutboxEmpty(t, fx)
		hdr, body := msgs[0].Parse(t)
		if msgs[0].To[0] != email || !strings.Contains(hdr.Get("Subject"), "Optics") || !strings.Contains(body, owner.Name) ||
			!strings.Contains(body, "teaching assistant") {
			t.Errorf("invitation mail to %v, subject %q:\n%s", msgs[0].To, hdr.Get("Subject"), body)
		}
		link := linkPath(t, msgs[0].Link(t, mailPublicURL+"/invitation?token="))
		token, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])

		anon := ts.client(t)
		page := string(anon.do(t, "GET", link, nil).want(http.StatusOK).Body)
		if !strings.Contains(page, `id="invitation-form"`) || !strings.Contains(page, "Optics") || !strings.Contains(page, email) {
			t.Errorf("invitation page:\n%s", page)
		}
		accept := map[string]string{"token": token.Get("token"), "name": "Nour", "password": "short"}
		anon.do(t, "POST", "/api/v1/invitations/accept", accept).wantError(http.StatusBadRequest, lectern.EINVALID)
		accept["password"] = "a long enough password"
		accept["name"] = " "
		anon.do(t, "POST", "/api/v1/invitations/accept", accept).wantError(http.StatusBadRequest, lectern.EINVALID)
		if _, err := fx.DB.FindUserByEmail(t.Context(), email); lectern.ErrorCode(err) != lectern.ENOTFOUND {
			t.Fatalf("a refused acceptance made an account: %v", err)
		}
		accept["name"] = "Nour"
		var done struct {
			User     struct{ Email, Name, Role string }
			CourseID string `json:"course_id"`
		}
		anon.do(t, "POST", "/api/v1/invitations/accept", accept).want(http.StatusOK).decode(&done)
		if done.CourseID != course.ID || done.User.Email != email || done.User.Name != "Nour" || done.User.Role != "student" {
			t.Errorf("accepted = %+v", done)
		}
		// Logged in, in the course as a TA.
		var c struct {
			MyRole string `json:"my_role"`
		}
		anon.do(t, "GET", "/api/v1/courses/"+course.ID, nil).want(http.StatusOK).decode(&c)
		if c.MyRole != "ta" {
			t.Errorf("the invitee's role = %q; want ta", c.MyRole)
		}
		// The link works once.
		msg := ts.client(t).do(t, "POST", "/api/v1/invitations/accept", accept).wantError(http.StatusBadRequest, lectern.EINVALID)
		if !strings.Contains(msg, "expired or was already used") {
			t.Errorf("reused invitation: %q", msg)
		}
		if page := string(ts.client(t).do(t, "GET", link, nil).want(http.StatusOK).Body); !strings.Contains(page, `id="invitation-invalid"`) {
			t.Errorf("a used invitation's page still offers the form")
		}
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": email, "password": accept["password"]}).want(http.StatusOK)
	})
}

func TestJoinCodeRotate(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMemberClass(t, fx)
		old := *m.course.JoinCode
		var res struct {
			JoinCode string `json:"join_code"`
			JoinPath string `json:"join_path"`
		}
		m.coTeacherC.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/join-code", nil).want(http.StatusOK).decode(&res)
		if res.JoinCode == "" || lectern.NormalizeJoinCode(res.JoinCode) == lectern.NormalizeJoinCode(old) || res.JoinPath != "/join/"+res.JoinCode {
			t.Fatalf("rotate answered %+v (old %q)", res, old)
		}
		_, late := m.ts.loginNew(t, lectern.RoleStudent)
		late.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": old}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		late.do(t, "GET", "/join/"+old, nil).want(http.StatusNotFound)
		late.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": res.JoinCode}).want(http.StatusOK)
		// Those already in stay.
		m.studentC.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK)
		m.studentC.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/join-code", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		m.otherTeC.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/join-code", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	})
}

func TestAdminDeactivatesAccount(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		admin, adminC := ts.loginNew(t, lectern.RoleAdmin)
		u, password := ts.createUser(t, lectern.RoleTeacher)
		uC := ts.login(t, u, password)
		course := createCourse(t, uC, "Acoustics")
		var tok struct{ Token string }
		uC.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "cli"}).want(http.StatusCreated).decode(&tok)
		bearer := ts.client(t)
		bearer.header.Set("Authorization", "Bearer "+tok.Token)
		// Both credentials are in use, and so in the server's memory.
		uC.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		bearer.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)

		var got struct{ Active bool }
		adminC.do(t, "POST", "/api/v1/users/"+u.ID+"/deactivate", nil).want(http.StatusOK).decode(&got)
		if got.Active {
			t.Error("deactivate answered an active user")
		}
		uC.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		bearer.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		if page := string(uC.do(t, "GET", "/courses", nil).want(http.StatusOK).Body); !strings.Contains(page, `id="login-form"`) {
			t.Errorf("their next page load is not the login page:\n%s", page)
		}
		msg := ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": password}).
			wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		if !strings.Contains(msg, "deactivated") {
			t.Errorf("login of a deactivated account: %q", msg)
		}
		// A wrong password tells nothing.
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": "wrong password"}).
			wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		// Their data stays.
		adminC.do(t, "GET", "/api/v1/courses/"+course.ID, nil).want(http.StatusOK)
		var list struct {
			Users []struct {
				ID     string
				Active bool
			}
		}
		adminC.do(t, "GET", "/api/v1/users", nil).want(http.StatusOK).decode(&list)
		for _, x := range list.Users {
			if x.ID == u.ID && x.Active {
				t.Error("the user list shows the deactivated account as active")
			}
		}

		adminC.do(t, "POST", "/api/v1/users/"+u.ID+"/reactivate", nil).want(http.StatusOK).decode(&got)
		if !got.Active {
			t.Error("reactivate answered an inactive user")
		}
		again := ts.login(t, u, password)
		again.do(t, "GET", "/api/v1/courses/"+course.ID, nil).want(http.StatusOK)
		// The old token stays ended.
		bearer.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)

		// Refusals.
		adminC.do(t, "POST", "/api/v1/users/"+admin.ID+"/deactivate", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
		adminC.do(t, "POST", "/api/v1/users/nobody/deactivate", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		again.do(t, "POST", "/api/v1/users/"+admin.ID+"/deactivate", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		adminC.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
	})
}

func TestAdminUserRolesAndDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		admin, adminC := ts.loginNew(t, lectern.RoleAdmin)
		u, uC := ts.loginNew(t, lectern.RoleStudent)
		uC.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Mine"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		var got struct{ Role string }
		adminC.do(t, "PATCH", "/api/v1/users/"+u.ID, map[string]string{"role": "teacher"}).want(http.StatusOK).decode(&got)
		if got.Role != "teacher" {
			t.Errorf("role = %q", got.Role)
		}
		// At once, for their open session too.
		course := createCourse(t, uC, "Mine")
		adminC.do(t, "PATCH", "/api/v1/users/"+u.ID, map[string]string{"role": "wizard"}).wantError(http.StatusBadRequest, lectern.EINVALID)
		adminC.do(t, "PATCH", "/api/v1/users/nobody", map[string]string{"role": "teacher"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		uC.do(t, "PATCH", "/api/v1/users/"+admin.ID, map[string]string{"role": "student"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)

		lesson := readyLesson(t, ts, course.ID, "One", 1000)
		uC.do(t, "POST", "/api/v1/lessons/"+lesson+"/comments",
			map[string]any{"kind": "comment", "visibility": "class", "at_ms": 0, "body": "first"}).want(http.StatusCreated)
		var detail struct {
			User     struct{ ID string }
			Holdings struct {
				Courses []struct {
					ID      string
					Owner   bool
					Lessons int
				}
				Lessons  int
				Comments int
			}
		}
		adminC.do(t, "GET", "/api/v1/users/"+u.ID, nil).want(http.StatusOK).decode(&detail)
		if detail.User.ID != u.ID || len(detail.Holdings.Courses) != 1 || detail.Holdings.Courses[0].ID != course.ID ||
			!detail.Holdings.Courses[0].Owner || detail.Holdings.Lessons != 1 || detail.Holdings.Comments != 1 {
			t.Errorf("detail = %+v", detail)
		}
		page := string(adminC.do(t, "GET", "/admin/users/"+u.ID, nil).want(http.StatusOK).Body)
		if !strings.Contains(page, `id="delete-blocked"`) || !strings.Contains(page, "Mine") || strings.Contains(page, `id="user-delete"`) {
			t.Errorf("the admin's page of a course owner should show the course and refuse deletion:\n%s", page)
		}
		uC.do(t, "GET", "/admin/users/"+u.ID, nil).want(http.StatusNotFound)
		uC.do(t, "GET", "/api/v1/users/"+u.ID, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		adminC.do(t, "GET", "/api/v1/users/nobody", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)

		msg := adminC.do(t, "DELETE", "/api/v1/users/"+u.ID, nil).wantError(http.StatusConflict, lectern.ECONFLICT)
		if !strings.Contains(msg, "course") {
			t.Errorf("deleting a course owner: %q", msg)
		}
		uC.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		s, sC := ts.loginNew(t, lectern.RoleStudent)
		adminC.do(t, "DELETE", "/api/v1/users/"+s.ID, nil).want(http.StatusNoContent)
		sC.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		adminC.do(t, "DELETE", "/api/v1/users/"+admin.ID, nil).wantError(http.StatusConflict, lectern.ECONFLICT)
	})
}
