package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// a11yWorld is a small class with something on every page: a course with
// a ready lesson that has captions, chapters, a question answered and one
// open, a student's watching, and an API token.
type a11yWorld struct {
	l                *lectern
	courseID, lesson string
	admin, teacher   *tab
	student, visitor *tab
	searchPhrase     string
}

const (
	a11yAdmin, a11yAdminPassword     = "admin@example.org", "admin password 1"
	a11yTeacher, a11yTeacherPassword = "ada@example.org", "teacher password 1"
	a11yStudent, a11yStudentPassword = "sam@example.org", "student password 1"
)

// newA11yWorld starts lectern and fills it through the API.
func newA11yWorld(t *testing.T) *a11yWorld {
	t.Helper()
	shots := artifactsDir(t)
	clip := makeLongClip(t, 20)
	l := startLectern(t, a11yAdmin, a11yAdminPassword)
	adminAPI := l.apiLogin(t, a11yAdmin, a11yAdminPassword)
	l.createUser(t, adminAPI, a11yTeacher, "Ada Lovelace", a11yTeacherPassword, "teacher")
	l.createUser(t, adminAPI, a11yStudent, "Sam Student", a11yStudentPassword, "student")
	teacherAPI := l.apiLogin(t, a11yTeacher, a11yTeacherPassword)
	studentAPI := l.apiLogin(t, a11yStudent, a11yStudentPassword)

	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Phonetics", "description": "Sounds, and how we make them."}, &course, http.StatusCreated)
	var lesson struct{ ID string }
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"title": "Sounds of English", "description": "Vowels, then consonants."}, &lesson, http.StatusCreated)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	l.uploadAndWait(t, teacherAPI, lesson.ID, clip)
	putCaptions(t, teacherAPI, l.URL, lesson.ID, "en", "?default=true", lessonVTT)
	putCaptions(t, teacherAPI, l.URL, lesson.ID, "fr", "?label=Fran%C3%A7ais", "WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nBienvenue\n\n00:00:09.000 --> 00:00:12.000\nLes consonnes\n")
	apiCall(t, teacherAPI, "PUT", l.URL+"/api/v1/lessons/"+lesson.ID+"/chapters", []map[string]any{
		{"start_ms": 0, "title": "Welcome"}, {"start_ms": 8000, "title": "Consonants"}, {"start_ms": 14000, "title": "Summary"},
	}, nil, http.StatusOK)

	var q1, q2 struct{ ID string }
	base := l.URL + "/api/v1/lessons/" + lesson.ID + "/comments"
	apiCall(t, studentAPI, "POST", base, map[string]any{"at_ms": 4000, "body": "Why do vowels come first?", "kind": "question", "visibility": "class"}, &q1, http.StatusCreated)
	apiCall(t, studentAPI, "POST", base, map[string]any{"at_ms": 10000, "body": "Is a glide a consonant?", "kind": "question", "visibility": "class"}, &q2, http.StatusCreated)
	apiCall(t, studentAPI, "POST", base, map[string]any{"at_ms": 12000, "body": "Revise this part.", "kind": "note", "visibility": "private"}, nil, http.StatusCreated)
	apiCall(t, teacherAPI, "POST", base, map[string]any{"parent_id": q1.ID, "body": "They carry the syllable."}, nil, http.StatusCreated)
	l.beat(t, studentAPI, lesson.ID, "a11y-session", 1, 0, 12)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/tokens", map[string]string{"name": "laptop"}, nil, http.StatusCreated)
	// Captions on, for the watch page.
	apiCall(t, studentAPI, "PUT", l.URL+"/api/v1/me/preferences", map[string]string{"caption_lang": "en"}, nil, http.StatusOK)

	w := &a11yWorld{l: l, courseID: course.ID, lesson: lesson.ID, searchPhrase: "consonants",
		admin: newTab(t, l.URL, "admin", shots), teacher: newTab(t, l.URL, "teacher", shots),
		student: newTab(t, l.URL, "student", shots), visitor: newTab(t, l.URL, "visitor", shots)}
	w.admin.open("/login")
	w.admin.loginTo(a11yAdmin, a11yAdminPassword, "/admin")
	w.teacher.login(a11yTeacher, a11yTeacherPassword)
	w.student.login(a11yStudent, a11yStudentPassword)
	return w
}

// watchReady is true once the player has loaded the lesson with English
// captions over the video, at 1 s (inside the first cue).
const watchReady = `(() => {
	const v = document.getElementById("video");
	return v.readyState >= 1 && !document.getElementById("big-play").hidden &&
		document.getElementById("captions-btn").classList.contains("is-on") &&
		!document.getElementById("captions-overlay").hidden && document.querySelector("#conv-list .entry");
})()`

// TestAccessibilityAxe runs axe-core (vendored, testdata/axe) on every
// page of Lectern in the light and the dark colour scheme: login, my
// courses and a course (as a teacher and as a student), the watch page
// with captions on (and its CC menu open, and its transcript tab), upload,
// the inbox (a teacher's and a student's), analytics, the caption editor,
// search results, API tokens, and the admin's users, jobs and queue
// dashboard. Any serious or critical finding fails the page's subtest with
// its rule, impact, element, advice and help URL, and a screenshot
// (axe-<page>-<scheme>.png).
func TestAccessibilityAxe(t *testing.T) {
	w := newA11yWorld(t)
	t.Run("TheVendoredAxeIsThePinnedOne", func(t *testing.T) {
		tb := w.visitor.use(t)
		tb.open("/login")
		want := strings.Fields(axeVersionLine)[1]
		if got := axeVersion(tb); got != want {
			t.Errorf("axe in the page is %s, testdata/axe/VERSION says %s", got, want)
		}
	})
	t.Run("TheCheckCatchesANamelessButton", func(t *testing.T) {
		// The check itself can fail: a button with nothing to say is found.
		tb := w.visitor.use(t)
		tb.open("/login")
		tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("main").append(Object.assign(document.createElement("button"), { id: "nameless" }))`))
		found := axeCheck(tb)
		if len(found) != 1 || found[0].Rule != "button-name" || found[0].Impact != "critical" || strings.Join(found[0].Target, " ") != "#nameless" {
			t.Errorf("axe found %v, want button-name (critical) at #nameless alone", found)
		}
	})
	lesson, course := w.lesson, w.courseID
	watch := "/watch/" + lesson + "?t=1"
	pages := []axePage{
		{name: "login", tab: w.visitor, path: "/login", ready: `!!document.getElementById("login-form")`},
		{name: "courses (student)", tab: w.student, path: "/courses", ready: `!!document.getElementById("answers")`},
		{name: "courses (teacher)", tab: w.teacher, path: "/courses", ready: `!!document.getElementById("course-form")`},
		{name: "course (teacher)", tab: w.teacher, path: "/courses/" + course,
			ready: `document.querySelectorAll("#member-rows tr[data-member-id]").length > 0 && document.querySelector("#student-progress td[data-cell]").textContent !== "–"`},
		{name: "course (student)", tab: w.student, path: "/courses/" + course, ready: `!!document.querySelector(".lesson-row")`},
		{name: "watch with captions on", tab: w.student, path: watch, ready: watchReady},
		{name: "watch, captions menu open", tab: w.student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#captions-btn")))
			tb.waitFor("the captions menu", `!document.getElementById("captions-menu").hidden`, stepTimeout)
		}},
		{name: "watch, transcript", tab: w.student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#tab-transcript")))
			tb.waitFor("the transcript", `document.querySelectorAll("#transcript-list .transcript-line").length === 4`, stepTimeout)
		}},
		{name: "watch (teacher)", tab: w.teacher, path: "/watch/" + lesson, ready: `!document.getElementById("big-play").hidden && document.querySelector("#conv-list .entry")`},
		{name: "upload", tab: w.teacher, path: "/lessons/" + lesson + "/upload", ready: `!document.getElementById("transcode-done").hidden`},
		{name: "inbox (teacher)", tab: w.teacher, path: "/inbox", ready: `!!document.querySelector(".question-card")`},
		{name: "inbox, answered (teacher)", tab: w.teacher, path: "/inbox?status=answered", ready: `!!document.querySelector(".question-card")`},
		{name: "inbox (student)", tab: w.student, path: "/inbox", ready: `!!document.getElementById("answers-heading")`},
		{name: "analytics", tab: w.teacher, path: "/lessons/" + lesson + "/analytics", ready: `!!document.querySelector(".chart svg path.line")`},
		{name: "caption editor", tab: w.teacher, path: "/lessons/" + lesson + "/captions",
			ready: `document.querySelectorAll("#cue-list .cue").length === 4 && document.getElementById("video").readyState >= 1`},
		{name: "search", tab: w.student, path: "/search?q=" + w.searchPhrase, ready: `!!document.querySelector(".search-hit mark")`},
		{name: "tokens", tab: w.student, path: "/account/tokens", ready: `document.querySelectorAll("#token-rows tr").length === 1`},
		{name: "admin users", tab: w.admin, path: "/admin", ready: `!!document.getElementById("user-form")`},
		{name: "admin jobs", tab: w.admin, path: "/admin/jobs", ready: `document.querySelectorAll("#jobs-body tr").length > 0`},
		{name: "admin queues", tab: w.admin, path: "/admin/queues",
			ready: `document.body.innerText.includes("Queue Size") && document.body.innerText.includes("Latency")`},
	}
	checkPages(t, pages)
}
