package browsertest

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/testenv"
)

// TestChapterSuggestionsOnTheLessonPage: a teacher uploads a slide lecture
// (five slides, changing every 6 s); once it is processed, the lesson's
// page lists a suggested chapter at each slide change; the teacher renames
// and adds one, discards one, adds one as it is and types a chapter of
// their own, and the lesson's chapters are exactly those; the card passes
// axe; the student sees the chapters under the video and never the
// suggestions. Screenshot: chapter-suggestions.
func TestChapterSuggestionsOnTheLessonPage(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
	)
	shots := artifactsDir(t)
	slides := testenv.SlideLecture(t, 5, 6)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")
	teacherAPI := l.apiLogin(t, teacherEmail, teacherPassword)
	studentAPI := l.apiLogin(t, studentEmail, studentPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Linear algebra"}, &course, http.StatusCreated)
	var lesson struct{ ID string }
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Eigenvalues"}, &lesson, http.StatusCreated)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	l.uploadAndWait(t, teacherAPI, lesson.ID, slides)

	teacher := newTab(t, l.URL, "teacher", shots)
	student := newTab(t, l.URL, "student", shots)
	const suggestionTimes = `[...document.querySelectorAll("#suggestion-rows li a")].map(a => a.textContent)`
	const chapterRows = `[...document.querySelectorAll("#chapter-rows li")].map(li => li.querySelector(".chapter-start").value + " " + li.querySelector(".chapter-title").value)`
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"SuggestionsAtTheSlideChanges", func(t *testing.T) {
			tb := teacher.use(t)
			tb.login(teacherEmail, teacherPassword)
			tb.open("/lessons/" + lesson.ID + "/upload")
			tb.waitFor("the suggestions", `document.querySelectorAll("#suggestion-rows li").length > 0`, stepTimeout)
			if diff := cmp.Diff([]string{"0:06", "0:12", "0:18", "0:24"}, eval[[]string](tb, suggestionTimes)); diff != "" {
				t.Errorf("suggested chapter starts (-want +got):\n%s", diff)
			}
			if got := eval[bool](tb, `document.getElementById("chapters-empty").hidden`); got {
				t.Errorf("the card does not say the lesson has no chapters yet")
			}
			for _, f := range axeCheck(tb) {
				t.Errorf("axe: %s", f)
			}
			tb.shot("chapter-suggestions")
		}},
		{"RenameAndAddOneDiscardOneAddOneAsItIs", func(t *testing.T) {
			tb := teacher.use(t)
			first := `#suggestion-rows li:first-child`
			tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("`+first+` input").value = ""`),
				chromedp.SendKeys(chromedp.CSS(first+" input"), "Characteristic polynomial"),
				chromedp.Click(chromedp.CSS(first+" button:not(.btn-quiet)")))
			tb.waitFor("the renamed chapter", `document.querySelectorAll("#chapter-rows li").length === 1 && document.querySelectorAll("#suggestion-rows li").length === 3`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(first + " button.btn-quiet")))
			tb.waitFor("the discarded suggestion gone", `document.querySelectorAll("#suggestion-rows li").length === 2`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(first + " button:not(.btn-quiet)")))
			tb.waitFor("the chapter as suggested", `document.querySelectorAll("#chapter-rows li").length === 2`, stepTimeout)
			if diff := cmp.Diff([]string{"0:06 Characteristic polynomial", "0:18 Slide at 0:18"}, eval[[]string](tb, chapterRows)); diff != "" {
				t.Errorf("chapter rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"0:24"}, eval[[]string](tb, suggestionTimes)); diff != "" {
				t.Errorf("suggestions left (-want +got):\n%s", diff)
			}
		}},
		{"TypesAChapterOfTheirOwnAndSaves", func(t *testing.T) {
			tb := teacher.use(t)
			tb.do(chromedp.Click(chromedp.CSS("#chapter-add")))
			tb.waitFor("a new row with the focus", `document.activeElement === document.querySelector("#chapter-rows li:last-child .chapter-start")`, stepTimeout)
			tb.do(chromedp.SendKeys(chromedp.CSS("#chapter-rows li:last-child .chapter-start"), "0:00"),
				chromedp.SendKeys(chromedp.CSS("#chapter-rows li:last-child .chapter-title"), "Introduction"),
				chromedp.Click(chromedp.CSS("#chapters-form button[type=submit]")))
			tb.waitFor("the saved chapters, sorted", `document.querySelector("#chapter-rows li .chapter-title").value === "Introduction"`, stepTimeout)
			var resp struct {
				Chapters []struct {
					StartMS int64  `json:"start_ms"`
					Title   string `json:"title"`
				}
			}
			apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID+"/chapters", nil, &resp, http.StatusOK)
			var got []string
			for _, c := range resp.Chapters {
				got = append(got, clock(c.StartMS)+" "+c.Title)
			}
			if diff := cmp.Diff([]string{"0:00 Introduction", "0:06 Characteristic polynomial", "0:18 Slide at 0:18"}, got); diff != "" {
				t.Errorf("the lesson's chapters (-want +got):\n%s", diff)
			}
		}},
		{"StudentSeesChaptersNotSuggestions", func(t *testing.T) {
			tb := student.use(t)
			tb.login(studentEmail, studentPassword)
			tb.open("/watch/" + lesson.ID)
			tb.waitFor("the chapter list", `document.querySelectorAll("#chapter-list-items li").length === 3`, time.Minute)
			apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID+"/chapter-suggestions", nil, nil, http.StatusForbidden)
			tb.open("/lessons/" + lesson.ID + "/upload")
			if eval[bool](tb, `!!document.getElementById("suggestion-rows")`) {
				t.Errorf("a student opened the lesson's page with its suggestions")
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			break
		}
	}
}
