package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

var pageDataRE = regexp.MustCompile(`(?s)<script type="application/json" id="page-data">(.*?)</script>`)

// pageData decodes the JSON a page hands to its script.
func pageData(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	m := pageDataRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no page-data block")
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatalf("page-data is not JSON: %v\n%s", err, m[1])
	}
	return data
}

// sameJSON reports how two JSON documents differ, ignoring formatting.
func sameJSON(t *testing.T, want, got []byte) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(w, g)
}

// stateFixture is a course with a lesson that has nothing playable and a
// queued transcode, a lesson that has been published, and a student.
type stateFixture struct {
	ts                  *testServer
	teacher, student    *client
	courseID            string
	pendingID, playable string
}

func newStateFixture(t *testing.T) *stateFixture {
	t.Helper()
	ts := pageServer(t)
	_, teacher := ts.loginNew(t, lectern.RoleTeacher)
	course := createCourse(t, teacher, "Signals")
	lesson := func(title string) string {
		var l struct{ ID string }
		teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": title}).
			want(http.StatusCreated).decode(&l)
		return l.ID
	}
	fx := &stateFixture{ts: ts, teacher: teacher, courseID: course.ID, pendingID: lesson("Pending"), playable: lesson("Published")}
	ctx := context.Background()
	if _, _, _, err := ts.DB.StartTranscode(ctx, fx.pendingID, lectern.SourceKey(fx.pendingID, "up1")); err != nil {
		t.Fatal(err)
	}
	ready, prefix, dur := lectern.LessonReady, lectern.LessonPrefix(fx.playable)+"out/1/", int64(90000)
	if _, err := ts.DB.UpdateLesson(ctx, fx.playable, lectern.LessonUpdate{Status: &ready, OutputPrefix: &prefix, DurationMS: &dur}); err != nil {
		t.Fatal(err)
	}
	_, fx.student = ts.loginNew(t, lectern.RoleStudent)
	fx.student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
	return fx
}

// TestPagesRenderTheLessonJSON: the upload and watch pages hand their
// script the lesson exactly as the API shows it to the viewer, so their
// first paint and their polls say the same thing, and the upload page
// never waits on a "Checking…" of its own.
func TestPagesRenderTheLessonJSON(t *testing.T) {
	fx := newStateFixture(t)
	for _, tc := range []struct {
		name, path string
		c          *client
	}{
		{"UploadPage", "/lessons/" + fx.pendingID + "/upload", fx.teacher},
		{"WatchPageForTheTeacher", "/watch/" + fx.pendingID, fx.teacher},
		{"WatchPageForAStudent", "/watch/" + fx.pendingID, fx.student},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := string(tc.c.do(t, "GET", tc.path, nil).want(http.StatusOK).Body)
			api := tc.c.do(t, "GET", "/api/v1/lessons/"+fx.pendingID, nil).want(http.StatusOK).Body
			if diff := sameJSON(t, api, pageData(t, body)["lesson"]); diff != "" {
				t.Errorf("page-data lesson differs from the API's (-api +page):\n%s", diff)
			}
			if strings.Contains(body, "Checking") {
				t.Errorf("page says Checking…")
			}
		})
	}
}

// TestWatchPageComingSoon: a lesson with nothing playable shows the
// "coming soon" panel from the first paint, without player controls; a
// published one shows the player.
func TestWatchPageComingSoon(t *testing.T) {
	fx := newStateFixture(t)
	t.Run("StudentOnAPendingLesson", func(t *testing.T) {
		body := string(fx.student.do(t, "GET", "/watch/"+fx.pendingID, nil).want(http.StatusOK).Body)
		for _, want := range []string{`data-state="unavailable"`, "not ready yet — coming soon", `id="controls" hidden`} {
			if !strings.Contains(body, want) {
				t.Errorf("watch page lacks %s", want)
			}
		}
		if strings.Contains(body, "/lessons/"+fx.pendingID+"/upload") {
			t.Errorf("a student's watch page links to the upload page")
		}
	})
	t.Run("TeacherOnAPendingLessonGetsTheUploadPage", func(t *testing.T) {
		body := string(fx.teacher.do(t, "GET", "/watch/"+fx.pendingID, nil).want(http.StatusOK).Body)
		if !strings.Contains(body, `<p id="player-message-link"><a class="btn btn-small" href="/lessons/`+fx.pendingID+`/upload">`) {
			t.Errorf("teacher's coming-soon panel does not link the upload page")
		}
	})
	t.Run("StudentOnAPublishedLesson", func(t *testing.T) {
		body := string(fx.student.do(t, "GET", "/watch/"+fx.playable, nil).want(http.StatusOK).Body)
		if !strings.Contains(body, `data-state="loading"`) || strings.Contains(body, "coming soon") || strings.Contains(body, `id="controls" hidden`) {
			t.Errorf("a published lesson's watch page is not the player")
		}
	})
}

// TestCoursePageComingSoon: students get a Watch link only for lessons
// that can be played and see the others as "Coming soon"; teachers' pages
// carry every lesson's JSON, as the lessons API shows it, for the live
// states.
func TestCoursePageComingSoon(t *testing.T) {
	fx := newStateFixture(t)
	rowOf := func(t *testing.T, body, id string) string {
		t.Helper()
		i := strings.Index(body, `data-lesson-id="`+id+`"`)
		if i < 0 {
			t.Fatalf("course page has no row for lesson %s", id)
		}
		end := strings.Index(body[i:], "</li>")
		return body[i : i+end]
	}
	t.Run("Student", func(t *testing.T) {
		body := string(fx.student.do(t, "GET", "/courses/"+fx.courseID, nil).want(http.StatusOK).Body)
		pending, published := rowOf(t, body, fx.pendingID), rowOf(t, body, fx.playable)
		if !strings.Contains(pending, "Coming soon") || strings.Contains(pending, "/watch/") {
			t.Errorf("pending lesson's row is not coming soon without a link:\n%s", pending)
		}
		if !strings.Contains(published, `href="/watch/`+fx.playable+`"`) || strings.Contains(published, "Coming soon") {
			t.Errorf("published lesson's row has no Watch link:\n%s", published)
		}
		if _, ok := pageData(t, body)["lessons"]; ok {
			t.Errorf("a student's course page carries the lessons' processing state")
		}
	})
	t.Run("Teacher", func(t *testing.T) {
		body := string(fx.teacher.do(t, "GET", "/courses/"+fx.courseID, nil).want(http.StatusOK).Body)
		// (The new-lesson form's help mentions what students see, “Coming
		// soon”; the rows are what must not say it.)
		for _, id := range []string{fx.pendingID, fx.playable} {
			if row := rowOf(t, body, id); strings.Contains(row, "Coming soon") {
				t.Errorf("teacher's course page says Coming soon instead of the state:\n%s", row)
			}
		}
		var api struct{ Lessons json.RawMessage }
		fx.teacher.do(t, "GET", "/api/v1/courses/"+fx.courseID+"/lessons", nil).want(http.StatusOK).decode(&api)
		if diff := sameJSON(t, api.Lessons, pageData(t, body)["lessons"]); diff != "" {
			t.Errorf("page-data lessons differ from the API's (-api +page):\n%s", diff)
		}
	})
}

// TestAdminJobsPage: the jobs page hands its script the jobs as the API
// lists them, filters by every state (retrying too), and refuses an
// unknown one.
func TestAdminJobsPage(t *testing.T) {
	fx := newStateFixture(t)
	_, admin := fx.ts.loginNew(t, lectern.RoleAdmin)
	for _, q := range []string{"", "?state=queued", "?state=retrying", "?state=failed"} {
		t.Run("Filter"+q, func(t *testing.T) {
			body := string(admin.do(t, "GET", "/admin/jobs"+q, nil).want(http.StatusOK).Body)
			var api struct{ Jobs json.RawMessage }
			admin.do(t, "GET", "/api/v1/admin/jobs"+q, nil).want(http.StatusOK).decode(&api)
			if diff := sameJSON(t, api.Jobs, pageData(t, body)["jobs"]); diff != "" {
				t.Errorf("page-data jobs differ from the API's (-api +page):\n%s", diff)
			}
			if q == "?state=retrying" && !strings.Contains(body, `aria-current="page">Retrying</a>`) {
				t.Errorf("jobs page does not mark the Retrying filter as current")
			}
		})
	}
	t.Run("UnknownState", func(t *testing.T) {
		body := string(admin.do(t, "GET", "/admin/jobs?state=sleeping", nil).want(http.StatusBadRequest).Body)
		if !strings.Contains(html.UnescapeString(body), "retrying") {
			t.Errorf("the error does not list the states one may choose")
		}
	})
}
