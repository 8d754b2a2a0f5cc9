package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// a11yWorld is a small class with something on every page: a course with
// a ready lesson that has captions, chapters, a question answered and one
// open, a student's watching, and an API token.
type a11yWorld struct {
	l                      *lectern
	courseID, lesson       string
	teacherAPI, studentAPI *http.Client
	shots                  string
}

const (
	a11yAdmin, a11yAdminPassword     = "admin@example.org", "admin password 1"
	a11yTeacher, a11yTeacherPassword = "ada@example.org", "teacher password 1"
	a11yStudent, a11yStudentPassword = "sam@example.org", "student password 1"
)

// newA11yWorld starts lectern and fills it through the API. With
// captionsOn the student has chosen English captions.
func newA11yWorld(t *testing.T, captionsOn bool) *a11yWorld {
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
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Sounds of English", "description": "Vowels, then consonants."}, &lesson, http.StatusCreated)
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
	// Paused at 12 s: the watch page offers to resume.
	l.beat(t, studentAPI, lesson.ID, "a11y-session", 1, 0, 12)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/tokens", map[string]string{"name": "laptop"}, nil, http.StatusCreated)
	if captionsOn {
		apiCall(t, studentAPI, "PUT", l.URL+"/api/v1/me/preferences", map[string]string{"caption_lang": "en"}, nil, http.StatusOK)
	}
	return &a11yWorld{l: l, courseID: course.ID, lesson: lesson.ID, teacherAPI: teacherAPI, studentAPI: studentAPI, shots: shots}
}

// tab opens a browser for who ("admin", "teacher", "student" or
// "visitor"), logged in unless a visitor.
func (w *a11yWorld) tab(t *testing.T, who string) *tab {
	t.Helper()
	tb := newTab(t, w.l.URL, who, w.shots)
	switch who {
	case "admin":
		tb.open("/login")
		tb.loginTo(a11yAdmin, a11yAdminPassword, "/admin")
	case "teacher":
		tb.login(a11yTeacher, a11yTeacherPassword)
	case "student":
		tb.login(a11yStudent, a11yStudentPassword)
	}
	return tb
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
// with captions on (and its CC and chapter menus open, the question form
// and a thread open, the transcript tab, the resume prompt), upload,
// the inbox (a teacher's and a student's), analytics, the caption editor,
// search results, API tokens, and the admin's users, jobs and queue
// dashboard. Any serious or critical finding fails the page's subtest with
// its rule, impact, element, advice and help URL, and a screenshot
// (axe-<page>-<scheme>.png).
func TestAccessibilityAxe(t *testing.T) {
	w := newA11yWorld(t, true)
	admin, teacher, student, visitor := w.tab(t, "admin"), w.tab(t, "teacher"), w.tab(t, "student"), w.tab(t, "visitor")
	t.Run("TheVendoredAxeIsThePinnedOne", func(t *testing.T) {
		tb := visitor.use(t)
		tb.open("/login")
		want := strings.Fields(axeVersionLine)[1]
		if got := axeVersion(tb); got != want {
			t.Errorf("axe in the page is %s, testdata/axe/VERSION says %s", got, want)
		}
	})
	t.Run("TheCheckCatchesANamelessButton", func(t *testing.T) {
		// The check itself can fail: a button with nothing to say is found.
		tb := visitor.use(t)
		tb.open("/login")
		tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("main").append(Object.assign(document.createElement("button"), { id: "nameless" }))`))
		found := axeCheck(tb)
		if len(found) != 1 || found[0].Rule != "button-name" || found[0].Impact != "critical" || strings.Join(found[0].Target, " ") != "#nameless" {
			t.Errorf("axe found %v, want button-name (critical) at #nameless alone", found)
		}
	})
	lesson, course := w.lesson, w.courseID
	watch := "/watch/" + lesson + "?t=1"
	resumes := 0
	pages := []axePage{
		{name: "login", tab: visitor, path: "/login", ready: `!!document.getElementById("login-form")`},
		{name: "courses (student)", tab: student, path: "/courses", ready: `!!document.getElementById("answers")`},
		{name: "courses (teacher)", tab: teacher, path: "/courses", ready: `!!document.getElementById("course-form")`},
		{name: "course (teacher)", tab: teacher, path: "/courses/" + course,
			ready: `document.querySelectorAll("#member-rows tr[data-member-id]").length > 0 && document.querySelector("#student-progress td[data-cell]").textContent !== "–"`},
		{name: "course (student)", tab: student, path: "/courses/" + course, ready: `!!document.querySelector(".lesson-row")`},
		{name: "watch with captions on", tab: student, path: watch, ready: watchReady},
		{name: "watch, captions menu open", tab: student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#captions-btn")))
			tb.waitFor("the captions menu", `!document.getElementById("captions-menu").hidden`, stepTimeout)
		}},
		{name: "watch, chapter menu open", tab: student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#chapters-btn")))
			tb.waitFor("the chapter menu", `!document.getElementById("chapters-menu").hidden`, stepTimeout)
		}},
		{name: "watch, question form and thread open", tab: student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#ask-btn")),
				chromedp.Click(chromedp.CSS("#conv-list .entry.status-answered .entry-tools button")))
			tb.waitFor("the form and the answer", `!document.getElementById("conv-form").hidden && document.querySelector("#conv-list .reply .entry-body")`, stepTimeout)
		}},
		{name: "watch, transcript", tab: student, path: watch, ready: watchReady, setup: func(tb *tab) {
			tb.do(chromedp.Click(chromedp.CSS("#tab-transcript")))
			tb.waitFor("the transcript", `document.querySelectorAll("#transcript-list .transcript-line").length === 4`, stepTimeout)
		}},
		{name: "watch, resume prompt", tab: student, before: func(tb *tab) {
			// Leave the lesson first: its last heartbeat would move the position.
			tb.open("/courses")
			time.Sleep(time.Second)
			resumes++
			w.l.beat(tb.t, w.studentAPI, lesson, fmt.Sprintf("a11y-resume-%d", resumes), 1, 0, 12)
		}, path: "/watch/" + lesson, ready: `!document.getElementById("resume-prompt").hidden`},
		{name: "watch (teacher)", tab: teacher, path: "/watch/" + lesson, ready: `!document.getElementById("big-play").hidden && document.querySelector("#conv-list .entry")`},
		{name: "upload", tab: teacher, path: "/lessons/" + lesson + "/upload", ready: `!document.getElementById("transcode-done").hidden`},
		{name: "inbox (teacher)", tab: teacher, path: "/inbox", ready: `!!document.querySelector(".question-card")`},
		{name: "inbox, answered (teacher)", tab: teacher, path: "/inbox?status=answered", ready: `!!document.querySelector(".question-card")`},
		{name: "inbox (student)", tab: student, path: "/inbox", ready: `!!document.getElementById("answers-heading")`},
		{name: "analytics", tab: teacher, path: "/lessons/" + lesson + "/analytics", ready: `!!document.querySelector(".chart svg path.line")`},
		{name: "caption editor", tab: teacher, path: "/lessons/" + lesson + "/captions",
			ready: `document.querySelectorAll("#cue-list .cue").length === 4 && document.getElementById("video").readyState >= 1`},
		{name: "search", tab: student, path: "/search?q=consonants", ready: `!!document.querySelector(".search-hit mark")`},
		{name: "tokens", tab: student, path: "/account/tokens", ready: `document.querySelectorAll("#token-rows tr").length === 1`},
		{name: "admin users", tab: admin, path: "/admin", ready: `!!document.getElementById("user-form")`},
		{name: "admin jobs", tab: admin, path: "/admin/jobs", ready: `document.querySelectorAll("#jobs-body tr").length > 0`},
		{name: "admin queues", tab: admin, path: "/admin/queues",
			ready: `document.body.innerText.includes("Queue Size") && document.body.innerText.includes("Latency")`},
	}
	checkPages(t, pages)
}
