package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTrashRestoresALesson is a teacher's wrong click undone: she deletes
// a lesson from its page, it is gone for her student at once, she finds
// it in the Trash with the days left, restores it, and it plays again.
// On the way she renames the course and archives it from its settings
// (the student still watches an archived course) and restores it. Axe
// checks the Trash, the course settings and the archived courses list.
func TestTrashRestoresALesson(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
	)
	l := startLectern(t, adminEmail, adminPassword)
	shots := artifactsDir(t)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Byron", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Reed", studentPassword, "student")
	teacherAPI := l.apiLogin(t, teacherEmail, teacherPassword)
	studentAPI := l.apiLogin(t, studentEmail, studentPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Engines"}, &course, http.StatusCreated)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	var lesson struct{ ID string }
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "The difference engine"}, &lesson, http.StatusCreated)
	l.uploadAndWait(t, teacherAPI, lesson.ID, makeClip(t))
	coursePath := "/courses/" + course.ID

	ada := newTab(t, l.URL, "ada", shots)
	ada.login(teacherEmail, teacherPassword)
	adaDialogs := answerDialogs(ada)
	sam := newTab(t, l.URL, "sam", shots)
	sam.login(studentEmail, studentPassword)

	t.Run("TeacherDeletesTheLesson", func(t *testing.T) {
		ada.use(t).open("/lessons/" + lesson.ID + "/upload")
		ada.waitFor("the lesson page", `!document.getElementById("transcode-done").hidden`, stepTimeout)
		adaDialogs.next(true)
		ada.do(chromedp.Click(chromedp.CSS("#delete-lesson")))
		ada.waitFor("the course page", `location.pathname === `+jsString(coursePath), stepTimeout)
		if msg := adaDialogs.last(); !strings.Contains(msg, "trash") {
			t.Errorf("confirm message = %q, want it to say the lesson goes to the trash", msg)
		}
		if eval[bool](ada, `!!document.querySelector(`+jsString(`[data-lesson-id="`+lesson.ID+`"]`)+`)`) {
			t.Error("the course page still lists the deleted lesson")
		}
		sam.use(t).open("/watch/" + lesson.ID)
		sam.waitFor("the not-found page", `document.title.startsWith("Not found")`, stepTimeout)
		apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, nil, http.StatusNotFound)
	})

	t.Run("FindsItInTheTrash", func(t *testing.T) {
		ada.use(t).open("/courses")
		ada.do(chromedp.Click(chromedp.CSS(`a[href="/trash"]`)))
		ada.waitFor("the trash", `location.pathname === "/trash" && !!document.querySelector(".trash-item")`, stepTimeout)
		item := ada.text(".trash-item")
		if !strings.Contains(item, "The difference engine") || !strings.Contains(item, "in Engines") || !strings.Contains(item, "30 days left") {
			t.Errorf("trash item reads %q; want the lesson, its course and 30 days left", item)
		}
		ada.topShot("trash")
	})

	t.Run("Axe", func(t *testing.T) {
		checkPages(t, []axePage{
			{name: "trash", tab: ada, path: "/trash", ready: `!!document.querySelector(".trash-item")`},
			{name: "course settings", tab: ada, path: coursePath, ready: `!!document.getElementById("course-settings-form")`,
				setup: func(tb *tab) { tb.do(chromedp.ScrollIntoView(chromedp.CSS("#course-settings"))) }},
			{name: "archived courses (empty)", tab: sam, path: "/courses?archived=true", ready: `!!document.querySelector(".empty-state")`},
		})
	})

	t.Run("RestoresAndItPlaysAgain", func(t *testing.T) {
		ada.use(t).open("/trash")
		ada.waitFor("the trash", `!!document.querySelector(".trash-item [data-restore]")`, stepTimeout)
		ada.do(chromedp.Click(chromedp.CSS(".trash-item [data-restore]")))
		ada.waitFor("the restored note", `document.querySelector(".trash-item.restored")?.textContent.includes("Restored")`, stepTimeout)
		if got := eval[string](ada, `document.activeElement?.textContent ?? ""`); got != "Watch it" {
			t.Errorf("focus after restoring is on %q, want the Watch it link", got)
		}
		ada.do(chromedp.Click(chromedp.CSS(".trash-item.restored a")))
		ada.waitFor("the player", `location.pathname === `+jsString("/watch/"+lesson.ID)+` && !document.getElementById("big-play").hidden`, stepTimeout)
		sam.use(t).open("/watch/" + lesson.ID)
		sam.waitFor("the player", `!document.getElementById("big-play").hidden`, stepTimeout)
		sam.do(chromedp.Click(chromedp.CSS("#big-play")))
		sam.waitFor("the restored lesson to play past 1.5 s", `(() => {
			const v = document.getElementById("video");
			return v.currentTime > 1.5 && v.videoHeight > 0;
		})()`, time.Minute)
		sam.shot("restored-lesson-plays")
	})

	t.Run("CourseSettingsAndArchive", func(t *testing.T) {
		ada.use(t).open(coursePath)
		ada.waitFor("the settings", `!!document.getElementById("course-settings-form")`, stepTimeout)
		clear := func(id string) { eval[bool](ada, `(document.getElementById(`+jsString(id)+`).value = "", true)`) }
		clear("settings-title")
		clear("settings-time-zone")
		ada.do(chromedp.SendKeys(chromedp.CSS("#settings-title"), "Analytical engines"),
			chromedp.SendKeys(chromedp.CSS("#settings-time-zone"), "Mars/Olympus"),
			chromedp.Click(chromedp.CSS("#course-settings-form button[type=submit]")))
		ada.waitFor("the time zone error", `!document.querySelector("#course-settings-form .form-error").hidden`, stepTimeout)
		if got := ada.text("#course-settings-form .form-error"); !strings.Contains(got, "Mars/Olympus") {
			t.Errorf("error reads %q, want it to name the time zone", got)
		}
		clear("settings-time-zone")
		ada.do(chromedp.SendKeys(chromedp.CSS("#settings-time-zone"), "Europe/London"),
			chromedp.Click(chromedp.CSS("#course-settings-form button[type=submit]")))
		ada.waitFor("the new title", `document.querySelector("h1").textContent === "Analytical engines"`, stepTimeout)
		if got := eval[string](ada, `document.getElementById("settings-time-zone").value`); got != "Europe/London" {
			t.Errorf("time zone after saving = %q", got)
		}

		adaDialogs.next(true)
		ada.do(chromedp.Click(chromedp.CSS("#course-archive")))
		ada.waitFor("the archived notice", `!!document.getElementById("archived-notice") && !!document.getElementById("course-unarchive")`, stepTimeout)
		if eval[bool](ada, `!!document.getElementById("lesson-form") || !!document.querySelector("[data-move]") || !!document.getElementById("section-form")`) {
			t.Error("an archived course still offers to add or move lessons")
		}
		checkPages(t, []axePage{
			{name: "archived course (teacher)", tab: ada, path: coursePath, ready: `!!document.getElementById("course-unarchive")`},
			{name: "upload page, archived", tab: ada, path: "/lessons/" + lesson.ID + "/upload", ready: `!!document.getElementById("archived-notice")`},
		})
		sam.use(t).open("/courses")
		sam.waitFor("Sam's courses", `document.readyState === "complete"`, stepTimeout)
		if eval[bool](sam, `document.querySelector("main").textContent.includes("Analytical engines")`) {
			t.Error("the archived course is still on Sam's course list")
		}
		sam.do(chromedp.Click(chromedp.CSS(`a[href="/courses?archived=true"]`)))
		sam.waitFor("the archived list", `!!document.querySelector(`+jsString(`a[href="`+coursePath+`"]`)+`)`, stepTimeout)
		sam.shot("archived-courses")
		sam.open("/watch/" + lesson.ID)
		sam.waitFor("the player of an archived course", `document.getElementById("video").readyState >= 1`, stepTimeout)
		if !eval[bool](sam, `!!document.getElementById("conv-archived") && document.getElementById("ask-btn").offsetParent === null`) {
			t.Error("the watch page of an archived course still offers to ask a question")
		}

		ada.use(t).open(coursePath)
		ada.waitFor("the archived course", `!!document.getElementById("course-unarchive")`, stepTimeout)
		ada.do(chromedp.Click(chromedp.CSS("#course-unarchive")))
		ada.waitFor("the course restored from the archive", `!document.getElementById("archived-notice") && !!document.getElementById("lesson-form")`, stepTimeout)
	})
}
