package browsertest

import (
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// makeMoovlessMP4 cuts a real MP4 (ffmpeg writes its index, the moov box,
// after the media) just before the moov box: the file starts like any MP4,
// so it passes the upload's early checks, and only the worker finds that
// it cannot be read, the way a recording that was never finished looks.
func makeMoovlessMP4(t *testing.T, clip string) string {
	t.Helper()
	b, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	var boxes []string
	moov := -1
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		boxes = append(boxes, typ)
		if typ == "moov" {
			moov = off
			break
		}
		if size < 8 {
			break
		}
		off += size
	}
	if len(boxes) == 0 || boxes[0] != "ftyp" || moov < 0 || !strings.Contains(strings.Join(boxes, " "), "mdat") {
		t.Fatalf("clip's top-level boxes are %v: want ftyp first and moov after mdat", boxes)
	}
	out := filepath.Join(t.TempDir(), "unfinished-recording.mp4")
	if err := os.WriteFile(out, b[:moov], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// processingWords is what the upload page's processing card says, as a
// person sees it.
const processingWords = `["transcode-title", "transcode-message", "transcode-advice", "transcode-note"]
	.map(id => document.getElementById(id)).filter(e => !e.hidden).map(e => e.textContent).join(" | ")`

// TestFailedUploadIsShownWhereItMatters: a teacher's upload of a text file
// is refused with its reason in the upload card; then the teacher uploads,
// through the upload page, a recording that passes the upload's checks but that the
// worker cannot read. The teacher sees why and what to do on the upload
// page, the same after a reload, and the failure on the course page; a
// student sees the lesson as "Coming soon" on the course page and on its
// watch page (no player controls); the admin's jobs page, on a phone,
// shows the failed job without a Retry button (a retry cannot mend the
// file). When the teacher then uploads a good recording, the student's
// open watch page starts the player by itself. Screenshots go to
// LECTERN_TEST_ARTIFACTS.
func TestFailedUploadIsShownWhereItMatters(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
		lessonTitle                   = "Recording that never finished"
		reason                        = "damaged or incomplete"
	)
	shots := artifactsDir(t)
	clip := makeClip(t)
	broken := makeMoovlessMP4(t, clip)
	notes := filepath.Join(t.TempDir(), "lecture-notes.mp4")
	if err := os.WriteFile(notes, []byte("Lecture 3: convolution, the impulse response, and why it matters.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")

	teacher := newTab(t, l.URL, "teacher", shots)
	var joinCode, lessonID, courseID, failedText string
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"TeacherSeesWhyOnTheUploadPage", func(t *testing.T) {
			tb := teacher.use(t)
			tb.login(teacherEmail, teacherPassword)
			tb.do(chromedp.SendKeys(chromedp.CSS("#course-title"), "Signals"),
				chromedp.Click(chromedp.CSS("#course-form button[type=submit]")))
			tb.waitFor("the new course's page", `document.querySelector(".code-big")`, stepTimeout)
			joinCode = strings.TrimSpace(tb.text(".code-big"))
			courseID = strings.Split(tb.path(), "/")[2]
			tb.do(chromedp.SendKeys(chromedp.CSS("#lesson-title"), lessonTitle),
				chromedp.Click(chromedp.CSS("#lesson-publish")),
				chromedp.Click(chromedp.CSS("#lesson-form button[type=submit]")))
			tb.waitFor("the upload page", `location.pathname.endsWith("/upload")`, stepTimeout)
			lessonID = strings.Split(tb.path(), "/")[2]

			// First a file the upload refuses at once: its reason shows in
			// the upload card, and nothing says processing started.
			tb.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{notes}))
			tb.waitFor("the refusal in the upload card", `!document.getElementById("upload-error").hidden`, time.Minute)
			if got := tb.text("#upload-error"); !strings.Contains(got, "Unsupported file type (text)") {
				t.Errorf("upload card says %q, want the reason the file was refused", got)
			}
			if got := eval[string](tb, processingWords); eval[string](tb, `document.getElementById("transcode-card").dataset.state`) != "awaiting_upload" ||
				strings.Contains(got, "Queued") || strings.Contains(tb.text(".toast"), "complete") {
				t.Errorf("after a refused upload the page says %q (toast %q), want it still waiting for a recording", got, tb.text(".toast"))
			}
			tb.shot("upload-refused")

			tb.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{broken}))
			tb.waitFor("the upload to finish", `document.getElementById("upload-eta").textContent === "Upload complete."`, time.Minute)
			tb.waitFor("the failure on the processing card", `document.getElementById("transcode-card").dataset.state === "failed"`, 2*time.Minute)
			failedText = eval[string](tb, processingWords)
			if !strings.Contains(failedText, reason) {
				t.Errorf("processing card says %q, want the reason (%q)", failedText, reason)
			}
			if advice := tb.text("#transcode-advice"); strings.TrimSpace(advice) == "" || !eval[bool](tb, `!document.getElementById("transcode-advice").hidden`) {
				t.Errorf("processing card shows no advice")
			}
			if page := tb.text("main"); strings.Contains(page, "Processing has started") || strings.Contains(page, "Checking") {
				t.Errorf("upload page claims processing started or is still checking beside the failure: %q", page)
			}
			if badge := tb.text("#lesson-status"); badge != "Failed" {
				t.Errorf("status badge = %q, want Failed", badge)
			}
			if eval[bool](tb, `!document.getElementById("transcode-done").hidden || !document.getElementById("head-watch").hidden`) {
				t.Errorf("upload page offers to watch a lesson that has nothing to play")
			}
			tb.shot("upload-failed")
		}},
		{"TheSameAfterAReload", func(t *testing.T) {
			tb := teacher.use(t)
			tb.do(chromedp.Reload())
			tb.waitFor("the reloaded upload page", `document.getElementById("transcode-card").dataset.state`, stepTimeout)
			if got := eval[string](tb, processingWords); got != failedText {
				t.Errorf("after a reload the processing card says %q, want what it said before: %q", got, failedText)
			}
		}},
		{"TeacherSeesTheFailureOnTheCoursePage", func(t *testing.T) {
			tb := teacher.use(t)
			tb.open("/courses/" + courseID)
			row := `document.querySelector('.lesson-row[data-lesson-id="` + lessonID + `"]')`
			tb.waitFor("the lesson's state on the course page", row+`.querySelector(".lesson-state .badge-failed")`, stepTimeout)
			if got := eval[string](tb, row+`.querySelector(".lesson-state").textContent`); !strings.Contains(got, reason) {
				t.Errorf("course page says %q for the lesson, want the reason (%q)", got, reason)
			}
			if got := eval[string](tb, row+`.querySelector(".lesson-state a")?.getAttribute("href") ?? ""`); got != "/lessons/"+lessonID+"/upload" {
				t.Errorf("failure links to %q, want the upload page", got)
			}
			tb.shot("course-teacher-failed")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}

	student := newTab(t, l.URL, "student", shots)
	steps = []struct {
		name string
		run  func(t *testing.T)
	}{
		{"StudentSeesComingSoonOnTheCoursePage", func(t *testing.T) {
			tb := student.use(t)
			tb.login(studentEmail, studentPassword)
			tb.do(chromedp.SendKeys(chromedp.CSS("#join-code"), joinCode),
				chromedp.Click(chromedp.CSS("#join-form button[type=submit]")))
			tb.waitFor("the course page", `location.pathname === "/courses/`+courseID+`"`, stepTimeout)
			row := `document.querySelector('.lesson-row[data-lesson-id="` + lessonID + `"]')`
			if got := eval[string](tb, row+`.textContent`); !strings.Contains(got, "Coming soon") || !strings.Contains(got, lessonTitle) {
				t.Errorf("student's row says %q, want the title and Coming soon", got)
			}
			if eval[bool](tb, `!!document.querySelector('a[href="/watch/`+lessonID+`"]')`) {
				t.Errorf("student gets a link to watch a lesson that has nothing to play")
			}
			if got := eval[string](tb, row+`.textContent`); strings.Contains(got, reason) {
				t.Errorf("student sees the teacher's failure reason: %q", got)
			}
			tb.shot("course-student-coming-soon")
		}},
		{"StudentSeesComingSoonOnTheWatchPage", func(t *testing.T) {
			tb := student.use(t)
			tb.open("/watch/" + lessonID)
			tb.waitFor("the watch page", `document.getElementById("player")`, stepTimeout)
			if got := tb.text("#player-message-title"); !strings.Contains(got, "coming soon") {
				t.Errorf("watch page says %q, want that the lesson is coming soon", got)
			}
			visible := func(sel string) bool {
				return eval[bool](tb, `(() => { const e = document.querySelector(`+jsString(sel)+`);
					return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; })()`)
			}
			for _, sel := range []string{"#controls", "#big-play", "#play", "#timeline", ".player-message .spinner"} {
				if visible(sel) {
					t.Errorf("%s is shown on a lesson that has nothing to play", sel)
				}
			}
			if !eval[bool](tb, `document.getElementById("ask-btn").disabled`) {
				t.Errorf("student may ask a question about a lesson that has nothing to play")
			}
			tb.shot("watch-coming-soon")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}

	phone := newTab(t, l.URL, "admin", shots)
	t.Run("AdminSeesTheFailedJobOnAPhone", func(t *testing.T) {
		tb := phone.use(t)
		tb.phone()
		tb.open("/admin/jobs")
		tb.loginTo(adminEmail, adminPassword, "/admin/jobs")
		row := `document.querySelector('#jobs-body tr[data-state="failed"]')`
		tb.waitFor("the failed job", row, stepTimeout)
		if got := eval[string](tb, row+`.textContent`); !strings.Contains(got, lessonTitle) || !strings.Contains(got, reason) {
			t.Errorf("failed job's row says %q, want the lesson and the reason", got)
		}
		if eval[bool](tb, row+`.querySelector('[data-job-action="retry"]') !== null`) {
			t.Errorf("the jobs page offers to retry a file that a retry cannot mend")
		}
		if !strings.Contains(eval[string](tb, row+`.querySelector(".job-actions").textContent`), "Needs a new upload") {
			t.Errorf("the failed job's actions do not say that it needs a new upload")
		}
		if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the jobs page is %v px wide on a 390 px phone", w)
		}
		if r := eval[float64](tb, row+`.getBoundingClientRect().right`); r > 390 {
			t.Errorf("the failed job's card ends at %v px, beyond the 390 px screen", r)
		}
		tb.shot("admin-jobs-phone")
	})

	t.Run("StudentsPlayerStartsOnceTheLessonIsReady", func(t *testing.T) {
		// The student's watch page is still open when the teacher uploads
		// a good recording; it starts the player by itself.
		putSource(t, l.apiLogin(t, teacherEmail, teacherPassword), l.URL, lessonID, clip)
		tb := student.use(t)
		tb.waitFor("the player with its controls", `(() => {
			const p = document.getElementById("player"), c = document.getElementById("controls");
			return p.dataset.state !== "unavailable" && !c.hidden && !document.getElementById("ask-btn").disabled;
		})()`, 3*time.Minute)
		tb.waitFor("the play button", `!document.getElementById("big-play").hidden`, stepTimeout)
	})
}

// putSource uploads the recording at path as lesson id's source, the way
// a script would (PUT /api/v1/lessons/{id}/source).
func putSource(t *testing.T, c *http.Client, base, id, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequest("PUT", base+"/api/v1/lessons/"+id+"/source", f)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "video/mp4")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload %s: %s %s", path, resp.Status, b)
	}
}
