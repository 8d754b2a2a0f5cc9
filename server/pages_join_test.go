package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lectern/lectern"
)

func TestJoinCodeForms(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, teacher, "Optics")
		code := *course.JoinCode
		pretty := lectern.FormatJoinCode(code)
		if want := code[:4] + "-" + code[4:]; pretty != want {
			t.Fatalf("FormatJoinCode(%q) = %q, want %q", code, pretty, want)
		}
		for _, typed := range []string{code, pretty, strings.ToLower(pretty), "  " + strings.ToLower(code) + "\n",
			code[:4] + " " + code[4:], code[:4] + "\u2013" + code[4:]} {
			t.Run(typed, func(t *testing.T) {
				_, student := ts.loginNew(t, lectern.RoleStudent)
				var joined lectern.Course
				student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": typed}).want(http.StatusOK).decode(&joined)
				if joined.ID != course.ID || joined.MyRole != lectern.MemberStudent {
					t.Errorf("joined %s as %q, want %s as student", joined.ID, joined.MyRole, course.ID)
				}
			})
		}
		t.Run("WrongCodeSaysSoAndChangesNothing", func(t *testing.T) {
			_, student := ts.loginNew(t, lectern.RoleStudent)
			msg := student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": "zzzz-zzzz"}).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if !strings.Contains(msg, "ZZZZ-ZZZZ") || !strings.Contains(msg, "teacher") {
				t.Errorf("message %q does not name the code and what to do", msg)
			}
			for _, typed := range []string{"", " - ", strings.Repeat("A", 65)} {
				student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": typed}).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			var list struct{ Courses []lectern.Course }
			student.do(t, "GET", "/api/v1/courses", nil).want(http.StatusOK).decode(&list)
			if len(list.Courses) != 0 {
				t.Errorf("after failed joins the student is in %d courses", len(list.Courses))
			}
		})
	})
}

func TestJoinLink(t *testing.T) {
	ts := pageServer(t)
	_, teacher := ts.loginNew(t, lectern.RoleTeacher)
	course := createCourse(t, teacher, "Acoustics & <waves>")
	pretty := lectern.FormatJoinCode(*course.JoinCode)
	link := "/join/" + pretty

	t.Run("CoursePageShowsCodeAndLink", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusOK).Body)
		for _, want := range []string{`id="join-code-value">` + pretty + `<`, `href="` + link + `"`, `data-copy="join-code-value"`, `data-copy="join-link"`} {
			if !strings.Contains(body, want) {
				t.Errorf("course page lacks %s", want)
			}
		}
	})
	t.Run("LoggedOutGoesThroughLoginAndBack", func(t *testing.T) {
		c := ts.client(t).noRedirects()
		r := c.do(t, "GET", "/join/"+strings.ToLower(pretty), nil).want(http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if want := "/login?next=" + url.QueryEscape("/join/"+strings.ToLower(pretty)); loc != want {
			t.Fatalf("Location = %q, want %q", loc, want)
		}
		login := string(c.do(t, "GET", loc, nil).want(http.StatusOK).Body)
		if !strings.Contains(login, `data-next="/join/`+strings.ToLower(pretty)+`"`) {
			t.Errorf("login page does not come back to the join link")
		}
	})
	t.Run("StudentIsOfferedToJoin", func(t *testing.T) {
		_, student := ts.loginNew(t, lectern.RoleStudent)
		body := string(student.do(t, "GET", "/join/"+strings.ToLower(*course.JoinCode), nil).want(http.StatusOK).Body)
		if !strings.Contains(body, "Acoustics &amp; &lt;waves&gt;") || !strings.Contains(body, `data-code="`+pretty+`"`) ||
			!strings.Contains(body, "Join the course") {
			t.Errorf("join page does not offer to join the course:\n%s", body)
		}
		// Looking changes nothing: a GET never joins.
		var list struct{ Courses []lectern.Course }
		student.do(t, "GET", "/api/v1/courses", nil).want(http.StatusOK).decode(&list)
		if len(list.Courses) != 0 {
			t.Fatalf("opening the join link joined %d courses", len(list.Courses))
		}
		student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": pretty}).want(http.StatusOK)
		student.noRedirects()
		r := student.do(t, "GET", link, nil).want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/courses/"+course.ID {
			t.Errorf("a member opening the join link goes to %q, want the course", loc)
		}
	})
	t.Run("UnknownCode", func(t *testing.T) {
		_, student := ts.loginNew(t, lectern.RoleStudent)
		body := string(student.do(t, "GET", "/join/NOPE-NOPE", nil).want(http.StatusNotFound).Body)
		if !strings.Contains(body, "This join link does not work") || !strings.Contains(body, `id="join-form"`) {
			t.Errorf("unknown code page does not say so or offer the form:\n%s", body)
		}
	})
}

func TestLoginLanding(t *testing.T) {
	ts := pageServer(t)
	_, admin := ts.loginNew(t, lectern.RoleAdmin)
	_, student := ts.loginNew(t, lectern.RoleStudent)
	admin.noRedirects()
	student.noRedirects()
	for _, tc := range []struct {
		name string
		c    *client
		path string
		want string
	}{
		{"AdminHome", admin, "/", "/admin"},
		{"AdminLogin", admin, "/login", "/admin"},
		{"AdminLoginWithNext", admin, "/login?next=%2Fcourses%2Fx", "/courses/x"},
		{"StudentHome", student, "/", "/courses"},
		{"StudentLogin", student, "/login", "/courses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do(t, "GET", tc.path, nil).want(http.StatusSeeOther)
			if got := r.Header.Get("Location"); got != tc.want {
				t.Errorf("Location = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("NextStaysOnThisSite", func(t *testing.T) {
		anon := ts.client(t)
		for _, next := range []string{"//evil.example", "/\\evil.example", "/%09/evil.example", "/\t/evil.example", "/\n/evil.example",
			"https:evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example", "/\\/evil.example"} {
			body := string(anon.do(t, "GET", "/login?next="+url.QueryEscape(next), nil).want(http.StatusOK).Body)
			if !strings.Contains(body, `data-next=""`) {
				t.Errorf("next=%q kept on the login page", next)
			}
		}
		body := string(anon.do(t, "GET", "/login?next="+url.QueryEscape("/join/AB-CD?x=1"), nil).want(http.StatusOK).Body)
		if !strings.Contains(body, `data-next="/join/AB-CD?x=1"`) {
			t.Errorf("a path on this site was not kept as next")
		}
	})
}

func TestAdminUsersPageShowsPasswordRules(t *testing.T) {
	ts := pageServer(t)
	_, admin := ts.loginNew(t, lectern.RoleAdmin)
	body := string(admin.do(t, "GET", "/admin", nil).want(http.StatusOK).Body)
	for _, want := range []string{`aria-describedby="user-password-hint"`, "At least 8 characters", `minlength="8"`, `id="user-created"`} {
		if !strings.Contains(body, want) {
			t.Errorf("admin users page lacks %s", want)
		}
	}
}
