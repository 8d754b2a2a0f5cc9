package server_test

import (
	"context"
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
	for _, path := range []string{"/courses", "/courses/x", "/watch/x", "/lessons/x/upload", "/lessons/x/analytics", "/inbox", "/admin", "/admin/jobs"} {
		t.Run(path, func(t *testing.T) {
			r := c.do(t, "GET", path, nil).want(http.StatusSeeOther)
			if got, want := r.Header.Get("Location"), "/login?next="+strings.ReplaceAll(path, "/", "%2F"); got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
		})
	}
	t.Run("LoginPage", func(t *testing.T) {
		r := c.do(t, "GET", "/login?next=//evil.example/x", nil).want(http.StatusOK)
		if !strings.Contains(string(r.Body), `data-next=""`) {
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
		if !strings.Contains(body, lectern.FormatJoinCode(course.JoinCode)) {
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

func TestInboxAnalyticsAndAdminPages(t *testing.T) {
	ts := pageServer(t)
	teacher, lessonID := newLessonFor(t, ts)
	ready, duration := lectern.LessonReady, int64(120000)
	if _, err := ts.DB.UpdateLesson(context.Background(), lessonID, lectern.LessonUpdate{Status: &ready, DurationMS: &duration}); err != nil {
		t.Fatal(err)
	}
	var lesson struct {
		CourseID string `json:"course_id"`
	}
	teacher.do(t, "GET", "/api/v1/lessons/"+lessonID, nil).want(http.StatusOK).decode(&lesson)
	var course lectern.Course
	teacher.do(t, "GET", "/api/v1/courses/"+lesson.CourseID, nil).want(http.StatusOK).decode(&course)
	_, student := ts.loginNew(t, lectern.RoleStudent)
	student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}).want(http.StatusOK)
	student.do(t, "POST", "/api/v1/lessons/"+lessonID+"/comments", map[string]any{
		"at_ms": 61000, "body": "<img src=x> what is λ?", "kind": "question", "visibility": "class"}).want(http.StatusCreated)

	t.Run("InboxShowsTheQuestionEscaped", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/inbox", nil).want(http.StatusOK).Body)
		if !strings.Contains(body, "&lt;img src=x&gt; what is λ?") || strings.Contains(body, "<img src=x>") {
			t.Errorf("inbox does not show the question as escaped text")
		}
		if !strings.Contains(body, "/watch/"+lessonID+"?t=61") {
			t.Errorf("inbox lacks the link to the question's moment")
		}
	})
	t.Run("AnalyticsForTeachersOnly", func(t *testing.T) {
		body := string(teacher.do(t, "GET", "/lessons/"+lessonID+"/analytics", nil).want(http.StatusOK).Body)
		if !strings.Contains(body, "<svg") && !strings.Contains(body, "No one has watched") {
			t.Errorf("analytics page has neither a chart nor its empty state")
		}
		student.do(t, "GET", "/lessons/"+lessonID+"/analytics", nil).want(http.StatusForbidden)
	})
	t.Run("AdminForAdminsOnly", func(t *testing.T) {
		teacher.do(t, "GET", "/admin", nil).want(http.StatusNotFound)
		teacher.do(t, "GET", "/admin/jobs", nil).want(http.StatusNotFound)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		body := string(admin.do(t, "GET", "/admin/jobs", nil).want(http.StatusOK).Body)
		if !strings.Contains(body, `href="/admin/queues"`) {
			t.Errorf("jobs page does not link the queue UI")
		}
		admin.do(t, "GET", "/admin", nil).want(http.StatusOK)
	})
}
