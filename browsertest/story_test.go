package browsertest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// clock formats ms the way the pages do (m:ss).
func clock(ms int64) string { return fmt.Sprintf("%d:%02d", ms/60000, ms/1000%60) }

// TestLessonStory is the web app's "done when" story: a teacher uploads a
// clip through the upload page and waits until it is ready; a student
// watches it (the video plays and a quality level loads), asks a question
// at the current moment and sees its marker, reloads and is offered to
// resume where they paused; the teacher answers from the inbox, and the
// student's panel shows the answer without a reload. Screenshots of the
// watch page, the inbox and the analytics go to LECTERN_TEST_ARTIFACTS.
func TestLessonStory(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
		question                      = "Why does the eigenvector keep its direction?"
		answer                        = "Because A only stretches it: Av = λv."
	)
	shots := artifactsDir(t)
	clip := makeClip(t)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")

	teacher := newTab(t, l.URL, "teacher", shots)
	student := newTab(t, l.URL, "student", shots)

	var joinCode, lessonID string
	var pausedMS int64
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"TeacherUploadsAClipThroughThePage", func(t *testing.T) {
			tb := teacher.use(t)
			tb.login(teacherEmail, teacherPassword)
			tb.do(chromedp.SendKeys(chromedp.CSS("#course-title"), "Linear algebra"),
				chromedp.Click(chromedp.CSS("#course-form button[type=submit]")))
			tb.waitFor("the new course's page", `document.querySelector(".code-big")`, stepTimeout)
			joinCode = strings.TrimSpace(tb.text(".code-big"))
			tb.do(chromedp.SendKeys(chromedp.CSS("#lesson-title"), "Eigenvectors, visually"),
				chromedp.Click(chromedp.CSS("#lesson-publish")),
				chromedp.Click(chromedp.CSS("#lesson-form button[type=submit]")))
			tb.waitFor("the upload page", `location.pathname.endsWith("/upload")`, stepTimeout)
			lessonID = strings.Split(tb.path(), "/")[2]
			tb.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{clip}))
			tb.waitFor("the upload to finish", `document.getElementById("upload-percent").textContent === "100%"`, time.Minute)
			tb.waitFor("the lesson to be ready", `!document.getElementById("transcode-done").hidden`, 3*time.Minute)
			tb.do(chromedp.SendKeys(chromedp.CSS("#details-description"), "Why some vectors only stretch."),
				chromedp.Click(chromedp.CSS("#details-form button[type=submit]")))
			tb.waitFor("the edited description on the page",
				`document.getElementById("lesson-description").textContent === "Why some vectors only stretch."`, stepTimeout)
			tb.shot("upload")
		}},
		{"StudentWatchesAndTheVideoPlays", func(t *testing.T) {
			tb := student.use(t)
			tb.login(studentEmail, studentPassword)
			tb.do(chromedp.SendKeys(chromedp.CSS("#join-code"), joinCode),
				chromedp.Click(chromedp.CSS("#join-form button[type=submit]")))
			tb.waitFor("the course page", `location.pathname.startsWith("/courses/")`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(`a.btn-primary[href="/watch/` + lessonID + `"]`)))
			tb.waitFor("the player", `location.pathname.startsWith("/watch/") && !document.getElementById("big-play").hidden`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS("#big-play")))
			tb.waitFor("the video to play past 2.5 s with a quality level loaded", `(() => {
				const v = document.getElementById("video"), h = window.lecternPlayer.hls;
				return v.currentTime > 2.5 && v.videoHeight > 0 && h && h.currentLevel >= 0 && !!h.levels[h.currentLevel].details;
			})()`, time.Minute)
		}},
		{"StudentAsksAQuestionAtTheCurrentTime", func(t *testing.T) {
			tb := student.use(t)
			tb.do(chromedp.Click(chromedp.CSS("#ask-btn")))
			tb.waitFor("the video to pause", `document.getElementById("video").paused`, stepTimeout)
			pausedMS = int64(math.Round(eval[float64](tb, `document.getElementById("video").currentTime`) * 1000))
			if got := eval[string](tb, `document.getElementById("conv-at").value`); got != clock(pausedMS) {
				t.Errorf("question time field = %q, want the current time %s", got, clock(pausedMS))
			}
			tb.do(chromedp.SendKeys(chromedp.CSS("#conv-body"), question),
				chromedp.Click(chromedp.CSS("#conv-submit")))
			tb.waitFor("the question in the panel", `[...document.querySelectorAll(".entry.kind-question .entry-body")].some(e => e.textContent === `+jsString(question)+`)`, stepTimeout)
			tb.waitFor("the question's marker on the timeline", `document.querySelector(".marker.marker-question.status-open")`, stepTimeout)
			title := eval[string](tb, `document.querySelector(".marker.marker-question").title`)
			if !strings.HasPrefix(title, clock(pausedMS/1000*1000)) && !strings.HasPrefix(title, clock(pausedMS/1000*1000-1000)) {
				t.Errorf("marker title %q does not start at the question's time %s", title, clock(pausedMS))
			}
		}},
		{"ReloadOffersToResume", func(t *testing.T) {
			tb := student.use(t)
			// The pause sent a heartbeat; wait until the server has it.
			tb.waitFor("the paused position to be saved", fmt.Sprintf(
				`fetch("/api/v1/lessons/%s/progress").then(r => r.json()).then(p => Math.abs(p.position_ms - %d) < 1000)`, lessonID, pausedMS),
				stepTimeout)
			tb.do(chromedp.Reload())
			tb.waitFor("the resume prompt", `!document.getElementById("resume-prompt").hidden`, stepTimeout)
			at := eval[float64](tb, `Number(document.getElementById("resume-prompt").dataset.positionMs)`)
			if math.Abs(at-float64(pausedMS)) > 1000 {
				t.Errorf("resume prompt offers %v ms, want the saved position %d ms", at, pausedMS)
			}
			if text := tb.text("#resume-text"); !strings.Contains(text, clock(int64(at))) {
				t.Errorf("resume prompt says %q, want it to name %s", text, clock(int64(at)))
			}
			tb.waitFor("the question after the reload", `document.querySelector(".marker.marker-question")`, stepTimeout)
			tb.shot("watch-resume")
			tb.do(chromedp.Click(chromedp.CSS("#resume-yes")))
			tb.waitFor("playback to resume at the saved position", fmt.Sprintf(
				`!document.getElementById("video").paused && document.getElementById("video").currentTime >= %f`, float64(pausedMS)/1000-0.5), stepTimeout)
		}},
		{"TeacherAnswersFromTheInbox", func(t *testing.T) {
			tb := teacher.use(t)
			tb.open("/inbox")
			tb.waitFor("the question in the inbox", `[...document.querySelectorAll(".question-card .question-body")].some(e => e.textContent === `+jsString(question)+`)`, stepTimeout)
			tb.shot("inbox")
			tb.do(chromedp.SendKeys(chromedp.CSS(".question-card textarea"), answer),
				chromedp.Click(chromedp.CSS(".question-card .answer-form button[type=submit]")))
			tb.waitFor("the answer to be posted", `!document.querySelector(".question-card .answered-note").hidden`, stepTimeout)
		}},
		{"StudentSeesTheAnswerWithoutReload", func(t *testing.T) {
			tb := student.use(t)
			tb.waitFor("the answer in the student's panel", `[...document.querySelectorAll(".reply .entry-body")].some(e => e.textContent === `+jsString(answer)+`)`, stepTimeout)
			tb.waitFor("the question marked answered", `document.querySelector(".entry.kind-question.status-answered")`, stepTimeout)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			tb.shot("watch")
		}},
		{"StudentFindsTheAnswerOnTheCoursesPage", func(t *testing.T) {
			tb := student.use(t)
			tb.open("/courses")
			tb.waitFor("the answer among the new answers", `document.getElementById("answers")?.textContent.includes(`+jsString(answer)+`)`, stepTimeout)
			tb.shot("courses")
		}},
		{"TeacherSeesTheAnalytics", func(t *testing.T) {
			tb := teacher.use(t)
			tb.open("/lessons/" + lessonID + "/analytics")
			tb.waitFor("the retention chart", `document.querySelector(".chart svg path.line")`, stepTimeout)
			if rows := tb.text(".table tbody"); !strings.Contains(rows, "Sam Student") {
				t.Errorf("analytics students table %q lacks the student", rows)
			}
			tb.shot("analytics")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}
