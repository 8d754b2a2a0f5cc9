package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/testenv"
)

// TestPlayWhileProcessing is issue 13's player story: a lecture encoded
// in chunks is published once its audio and opening chunk are stored; a
// student opens it while it is still processing, it plays from 0:00 with
// its whole length on the timeline, and a seek far beyond what is encoded
// plays after a short wait, with no error shown at any time. The page says
// how much is ready, the figure grows, and the line goes once all is.
func TestPlayWhileProcessing(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
		seconds                       = 60
		seekTo                        = 50
	)
	shots := artifactsDir(t)
	clip := makeChunkyClip(t, seconds)
	// One-segment chunks, one at a time: the encoder stays well behind the
	// student's seek.
	l := startLectern(t, adminEmail, adminPassword, "LECTERN_CHUNK_SECONDS=4", "LECTERN_WORKER_CONCURRENCY=1")
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")
	teacher := l.apiLogin(t, teacherEmail, teacherPassword)
	studentAPI := l.apiLogin(t, studentEmail, studentPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Long lectures"}, &course, http.StatusCreated)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	var lesson struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		Playable     bool   `json:"playable"`
		DurationMS   int64  `json:"duration_ms"`
		ReadyUntilMS *int64 `json:"ready_until_ms"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "A long lecture"}, &lesson, http.StatusCreated)
	// The teacher's browser is started now: later, while the lesson is
	// still being prepared, there is no time to lose.
	teacherTab := newTab(t, l.URL, "teacher", shots)
	teacherTab.login(teacherEmail, teacherPassword)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, _ := http.NewRequest("PUT", l.URL+"/api/v1/lessons/"+lesson.ID+"/source", f)
	resp, err := teacher.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %s", resp.Status)
	}
	for deadline := time.Now().Add(3 * time.Minute); !lesson.Playable; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the lesson was not playable within 3 minutes (status %s)", lesson.Status)
		}
		apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, &lesson, http.StatusOK)
	}
	if lesson.Status != "processing" {
		t.Fatalf("the lesson became playable as %q; want it still processing", lesson.Status)
	}

	tb := newTab(t, l.URL, "student", shots)
	tb.login(studentEmail, studentPassword)
	tb.open("/watch/" + lesson.ID)
	// Record any error the player shows, however briefly.
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
		window.playerFailed = "";
		const root = document.getElementById("player");
		new MutationObserver(() => {
			if (root.dataset.state === "failed") window.playerFailed = document.getElementById("player-message").textContent;
		}).observe(root, { attributes: true });
	})()`))
	tb.waitFor("the player", `!document.getElementById("big-play").hidden`, stepTimeout)
	first := checkReadyLine(t, tb, seconds)
	apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, &lesson, http.StatusOK)
	if lesson.ReadyUntilMS == nil || int64(first)*1000 > *lesson.ReadyUntilMS {
		t.Errorf("the page says the first %d s are ready; the lesson JSON says ready until %v ms", first, lesson.ReadyUntilMS)
	}
	tb.do(chromedp.Click(chromedp.CSS("#big-play")))
	tb.waitFor("the video to play from 0:00 past 2 s", `document.getElementById("video").currentTime > 2`, time.Minute)
	tb.waitFor("the whole length on the timeline",
		fmt.Sprintf(`Math.abs(document.getElementById("video").duration - %d) < 1`, seconds), stepTimeout)
	apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, &lesson, http.StatusOK)
	if lesson.Status != "processing" {
		t.Fatalf("the lesson is %s before the seek; the test needs it still processing", lesson.Status)
	}
	// Chunk 13 (after the audio's piece 0) holds 0:48–0:52.
	if chunkDone(l.logText(), 13) {
		t.Fatal("the chunk at 0:50 was encoded before the seek; the test needs it still to come")
	}
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.lecternPlayer.seek(%d)`, seekTo*1000)))
	tb.waitFor("the video to play after the seek beyond the encoded part",
		fmt.Sprintf(`(() => { const v = document.getElementById("video"); return !v.paused && v.currentTime > %d; })()`, seekTo+1),
		2*time.Minute)
	tb.shot("play-while-processing")
	if !chunkDone(l.logText(), 13) || chunkDone(l.logText(), 12) {
		t.Errorf("when the video played at 0:50, chunk 13 done %v, chunk 12 done %v; want the sought chunk first",
			chunkDone(l.logText(), 13), chunkDone(l.logText(), 12))
	}
	if failed := eval[string](tb, `window.playerFailed`); failed != "" {
		t.Errorf("the player showed an error: %q", failed)
	}

	checkTeacherSeesReadyPart(t, teacherTab, course.ID, lesson.ID, func() *int64 {
		apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, &lesson, http.StatusOK)
		if lesson.Status == "ready" {
			return nil
		}
		return lesson.ReadyUntilMS
	})

	// The ready part grew while the student watched, and the line goes
	// once all of the lesson is ready.
	for deadline := time.Now().Add(5 * time.Minute); lesson.Status != "ready"; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("the lesson was not ready within 5 minutes (status %s)", lesson.Status)
		}
		apiCall(t, studentAPI, "GET", l.URL+"/api/v1/lessons/"+lesson.ID, nil, &lesson, http.StatusOK)
	}
	tb.waitFor("the ready line and range to go", `document.getElementById("ready-note").hidden
		&& document.getElementById("timeline-ready").hidden`, 20*time.Second)
	seen := eval[[]int](tb, `window.readySeen`)
	t.Logf("the ready line said %d s, then %v (-1: gone)", first, seen)
	if slices.Max(append(seen, first)) <= first {
		t.Errorf("the ready line said %v after the first %d s; want it to grow", seen, first)
	}
}

// readyAt is a script giving the seconds the watch page's ready line says
// are ready ("the first 0:12 of 1:00"), -1 while the line is hidden and -2
// for a line that says something else.
const readyAt = `(() => {
	const n = document.getElementById("ready-note");
	if (n.hidden) return -1;
	const m = /the first (\d+):(\d\d) of 1:00 is ready to watch/.exec(n.textContent);
	return m ? Number(m[1]) * 60 + Number(m[2]) : -2;
})()`

// checkReadyLine checks that the watch page of a lesson still being
// prepared says how much of it is ready, in words and as a range on the
// timeline of the same length, that axe finds nothing against it in the
// light or dark scheme, and starts recording what the line says next
// (window.readySeen). It returns the seconds said ready.
func checkReadyLine(t *testing.T, tb *tab, seconds int) int {
	t.Helper()
	tb.waitFor("the ready line", readyAt+` > 0`, stepTimeout)
	first := eval[int](tb, readyAt)
	if first >= seconds {
		t.Fatalf("the ready line says %d s of %d are ready; the test needs the lesson still processing", first, seconds)
	}
	width := eval[float64](tb, `parseFloat(document.getElementById("timeline-ready").style.width)`)
	if want := float64(first) / float64(seconds) * 100; width < want-1 || width > want+4 {
		t.Errorf("the ready range covers %.1f%% of the timeline; the line says %d s of %d (%.1f%%)", width, first, seconds, want)
	}
	if got := eval[string](tb, `document.getElementById("timeline").getAttribute("aria-describedby")`); got != "ready-note" {
		t.Errorf("the seek slider is described by %q; want the ready line", got)
	}
	for _, scheme := range []string{"dark", "light"} {
		tb.colorScheme(scheme)
		if found := axeCheck(tb); len(found) > 0 {
			t.Errorf("axe, %s scheme, on the watch page while processing: %v", scheme, found)
		}
	}
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
		window.readySeen = [];
		const n = document.getElementById("ready-note");
		new MutationObserver(() => window.readySeen.push(` + readyAt + `))
			.observe(n, { attributes: true, childList: true, characterData: true, subtree: true });
	})()`))
	return first
}

// makeChunkyClip is seconds of 1280×720 video with a tone: three rungs to
// encode, so that chunks take a while.
func makeChunkyClip(t *testing.T, seconds int) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "lecture.mp4")
	d := fmt.Sprint(seconds)
	cmd := exec.Command(ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate clip: %v\n%s", err, b)
	}
	return out
}

// chunkDone reports whether the log says that piece index of a chunked
// transcode is done.
func chunkDone(log string, index int) bool {
	for line := range strings.SplitSeq(log, "\n") {
		var rec struct {
			Msg   string
			Chunk *int
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "transcode chunk done" && rec.Chunk != nil && *rec.Chunk == index {
			return true
		}
	}
	return false
}

// checkTeacherSeesReadyPart opens the upload page and the course page of
// a lesson still being prepared and checks that each tells the teacher
// what students can watch already, in the figures the lesson JSON gives
// students (readyUntil asks it again; nil once the lesson is ready), not
// that they watch a previous recording.
func checkTeacherSeesReadyPart(t *testing.T, tb *tab, courseID, lessonID string, readyUntil func() *int64) {
	t.Helper()
	pages := []struct{ name, path, ready, text string }{
		{"upload page", "/lessons/" + lessonID + "/upload", `document.getElementById("transcode-title").textContent !== ""`,
			`(n => n.hidden ? "" : n.textContent)(document.getElementById("transcode-note"))`},
		{"course page", "/courses/" + courseID, `document.querySelector('[data-state-for="` + lessonID + `"]').textContent !== ""`,
			`document.querySelector('[data-state-for="` + lessonID + `"] .small').textContent`},
	}
	for _, p := range pages {
		before := readyUntil()
		tb.open(p.path)
		tb.waitFor("the lesson's processing state on the "+p.name, p.ready, stepTimeout)
		note := eval[string](tb, p.text)
		after := readyUntil()
		if before == nil || after == nil {
			t.Logf("the lesson became ready before the teacher's %s could say how much of it was (it said %q)", p.name, note)
			return
		}
		if note == "Students can already watch all of it." {
			continue
		}
		var m, s int64
		if _, err := fmt.Sscanf(note, "Students can already watch it: the first %d:%d of 1:00 is ready", &m, &s); err != nil {
			t.Fatalf("the %s says %q while students can watch the first %d ms; want it to say so", p.name, note, *before)
		}
		if said := (m*60 + s) * 1000; said < *before/1000*1000 || said > *after {
			t.Errorf("the %s says the first %d:%02d is ready; the lesson JSON said %d ms before and %d ms after",
				p.name, m, s, *before, *after)
		}
		tb.shot(strings.ReplaceAll(p.name, " ", "-") + "-ready-part")
	}
}
