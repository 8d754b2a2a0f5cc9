package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
)

// pageServer is a test server over a fresh SQLite database.
func pageServer(t *testing.T) *testServer {
	t.Helper()
	return newServer(t, openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db")))
}

// noRedirects makes c report redirects instead of following them.
func (c *client) noRedirects() *client {
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func TestPagesNeedALogin(t *testing.T) {
	ts := pageServer(t)
	c := ts.client(t).noRedirects()
	for _, path := range []string{"/courses", "/courses/x", "/watch/x", "/lessons/x/upload"} {
		t.Run(path, func(t *testing.T) {
			r := c.do(t, "GET", path, nil).want(http.StatusSeeOther)
			if got, want := r.Header.Get("Location"), "/login?next="+strings.ReplaceAll(path, "/", "%2F"); got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
		})
	}
	t.Run("LoginPage", func(t *testing.T) {
		r := c.do(t, "GET", "/login?next=//evil.example/x", nil).want(http.StatusOK)
		if !strings.Contains(string(r.Body), `data-next="/courses"`) {
			t.Errorf("login page keeps an off-site next: %s", r.Body)
		}
	})
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	ts := pageServer(t)
	r := ts.client(t).do(t, "GET", "/login", nil).want(http.StatusOK)
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "worker-src 'self' blob:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(string(r.Body), "<script>") {
		t.Errorf("page has an inline script, which the policy would block")
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

func TestCoursePageEscapesAndHidesJoinCodeFromStudents(t *testing.T) {
	ts := pageServer(t)
	_, teacher := ts.loginNew(t, lectern.RoleTeacher)
	var course lectern.Course
	teacher.do(t, "POST", "/api/v1/courses", map[string]string{
		"title": `<script>alert(1)</script> Algebra`, "description": "x"}).want(http.StatusCreated).decode(&course)
	_, student := ts.loginNew(t, lectern.RoleStudent)
	student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}).want(http.StatusOK)

	t.Run("Teacher", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusOK).Body)
		if strings.Contains(body, "<script>alert(1)") {
			t.Errorf("course title rendered as HTML")
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt; Algebra") {
			t.Errorf("escaped course title missing from page")
		}
		if !strings.Contains(body, course.JoinCode) {
			t.Errorf("teacher does not see the join code")
		}
	})
	t.Run("Student", func(t *testing.T) {
		body := string(student.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusOK).Body)
		if strings.Contains(body, course.JoinCode) {
			t.Errorf("student sees the join code")
		}
	})
	t.Run("OtherUserGets404Page", func(t *testing.T) {
		_, other := ts.loginNew(t, lectern.RoleStudent)
		r := other.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusNotFound)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want an HTML page", ct)
		}
	})
}

func TestStaticFiles(t *testing.T) {
	ts := pageServer(t)
	c := ts.client(t)
	page := string(c.do(t, "GET", "/login", nil).want(http.StatusOK).Body)
	i := strings.Index(page, "/static/css/app.css?v=")
	if i < 0 {
		t.Fatalf("login page does not link the stylesheet with a version")
	}
	url := page[i : i+strings.IndexByte(page[i:], '"')]
	r := c.do(t, "GET", url, nil).want(http.StatusOK)
	if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned asset Cache-Control = %q, want immutable", got)
	}
	for _, vendored := range []string{"/static/vendor/hls.min.js", "/static/vendor/tus.min.js"} {
		r := c.do(t, "GET", vendored, nil).want(http.StatusOK)
		if len(r.Body) < 10000 {
			t.Errorf("%s is only %d bytes", vendored, len(r.Body))
		}
	}
}

func TestLessonPages(t *testing.T) {
	ts := pageServer(t)
	teacher, lessonID := newLessonFor(t, ts)
	_, outsider := ts.loginNew(t, lectern.RoleStudent)
	t.Run("WatchShowsThePlayer", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/watch/"+lessonID, nil).want(http.StatusOK).Body)
		for _, want := range []string{`id="video"`, "/static/vendor/hls.min.js?v=", `"lesson_id":"` + lessonID + `"`, `"status":"awaiting_upload"`} {
			if !strings.Contains(body, want) {
				t.Errorf("watch page lacks %s", want)
			}
		}
	})
	t.Run("UploadUsesTus", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/lessons/"+lessonID+"/upload", nil).want(http.StatusOK).Body)
		if !strings.Contains(body, "/static/vendor/tus.min.js?v=") {
			t.Errorf("upload page does not load tus-js-client")
		}
	})
	t.Run("OutsiderGets404", func(t *testing.T) {
		outsider.do(t, "GET", "/watch/"+lessonID, nil).want(http.StatusNotFound)
		outsider.do(t, "GET", "/lessons/"+lessonID+"/upload", nil).want(http.StatusNotFound)
	})
}
