package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// lectureSentences are what the synthetic lecture says: whole sentences
// of everyday lecture English, which PocketSphinx's US English model
// hears far better than short isolated phrases.
var lectureSentences = []string{
	"Scientists measure the temperature of the water every morning.",
	"The government decided to build a large bridge across the river.",
	"This changed the lives of thousands of people in the region.",
	"Next week we will discuss the economy and the price of electricity.",
	"Please read the second chapter of the book before the next class.",
	"Our professor explained the difference between energy and power.",
	"The results of the experiment were published in a famous journal.",
	"Remember that the final examination will take place in December.",
	"Computers have changed the way we communicate with each other.",
}

// distinctiveWords are the words checked in the automatic captions: the
// content words of every sentence, chosen before looking at what the
// recognizer makes of them.
var distinctiveWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`scientists measure temperature water morning government decided build
		large bridge river changed lives thousands people region week discuss economy price electricity
		read second chapter book class professor explained difference energy power results experiment
		published famous journal remember final examination place december computers communicate`) {
		distinctiveWords[w] = true
	}
}

// asrGuard bounds the wait for automatic captions; it only turns a hang
// into a failure.
const asrGuard = 5 * time.Minute

// Acceptance figures of the automatic captions, on espeak-ng speech
// through AAC.
const (
	// minRecognised is the share of distinctive words that must be in a
	// cue shown while they are spoken.
	minRecognised = 0.8
	// cueSlack is how far (ms) a word may be spoken outside the cue that
	// shows it.
	cueSlack = 500
)

type cueJSON struct {
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Text    string `json:"text"`
}

type captionList struct {
	Captions []struct {
		Lang, Label, Status string
		Default             bool
	}
	ASR *struct {
		State, Lang, Error string
		Tries, Cues        int
	} `json:"asr"`
}

// TestAutomaticCaptionsEndToEnd uploads a 40-second lecture of synthetic
// speech (espeak-ng, with known word times and pauses) to "lectern serve"
// with contrib/asr/pocketsphinx.sh as its speech recognizer, and follows
// the automatic captions as teacher and student: they end as a draft
// "English (automatic)" track that students do not see; most distinctive
// words are in a cue shown while they are spoken; no cue is shown over a
// pause; once the teacher publishes the track, the student gets it.
//
// A second server runs a recognizer that always fails: its captions end
// failed after three tries, with the recognizer's own words, and the
// lesson stays ready. The test runs beside the package's other parallel
// tests (it is not timing-sensitive), its two servers side by side.
func TestAutomaticCaptionsEndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("Pocketsphinx", func(t *testing.T) {
		t.Parallel()
		pocketsphinxEndToEnd(t)
	})
	t.Run("FailingRecognizer", func(t *testing.T) {
		t.Parallel()
		failingRecognizerEndToEnd(t)
	})
}

func pocketsphinxEndToEnd(t *testing.T) {
	testenv.Pocketsphinx(t)
	_, _ = testenv.FFmpeg(t)
	script, err := filepath.Abs("../../contrib/asr/pocketsphinx.sh")
	if err != nil {
		t.Fatal(err)
	}
	lecture := testenv.Lecture(t, lectureSentences, time.Second)
	t.Logf("lecture: %d words in %d sentences, %.1f s", len(lecture.Words), len(lectureSentences), float64(lecture.DurationMS)/1000)

	env := embeddedEnv(t.TempDir())
	env["LECTERN_ADMIN_EMAIL"], env["LECTERN_ADMIN_PASSWORD"] = e2eAdminEmail, e2eAdminPassword
	env["LECTERN_ASR_COMMAND"] = script + " {audio} {output} {lang}"
	p := startLectern(t, env, "serve")
	base := p.ready()
	admin := newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	teacher, student := admin.newUser(t, "teacher"), admin.newUser(t, "student")
	var course struct {
		ID       string
		JoinCode string `json:"join_code"`
	}
	teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Geography"}, http.StatusCreated, &course)
	student.call(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}, http.StatusOK, nil)
	var lesson struct{ ID string }
	teacher.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Rivers"}, http.StatusCreated, &lesson)
	f, err := os.Open(lecture.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	waitReady(t, teacher, lesson.ID)
	list := waitCaptions(t, teacher, lesson.ID)

	if len(list.Captions) != 1 || list.Captions[0].Lang != "en" || list.Captions[0].Status != "draft" ||
		list.Captions[0].Label != "English (automatic)" || list.Captions[0].Default {
		t.Fatalf("teacher's caption list: %+v; want one draft, English (automatic), not default", list.Captions)
	}
	captionsPath := "/api/v1/lessons/" + lesson.ID + "/captions"
	t.Run("StudentDoesNotSeeTheDraft", func(t *testing.T) {
		var l captionList
		student.call(t, "GET", captionsPath, nil, http.StatusOK, &l)
		var pb struct{ Captions []struct{ Lang string } }
		student.call(t, "GET", "/api/v1/lessons/"+lesson.ID+"/playback", nil, http.StatusOK, &pb)
		if len(l.Captions) != 0 || l.ASR != nil || len(pb.Captions) != 0 {
			t.Errorf("student sees captions %+v, asr %+v, playback captions %+v; want none", l.Captions, l.ASR, pb.Captions)
		}
		student.call(t, "GET", captionsPath+"/en", nil, http.StatusNotFound, nil)
	})
	t.Run("EditorSaysReadyForReview", func(t *testing.T) {
		status, page := teacher.get(t, base+"/lessons/"+lesson.ID+"/captions")
		if status != http.StatusOK || !strings.Contains(string(page), "Automatic captions: ready for review") {
			t.Errorf("caption editor: %d, without “Automatic captions: ready for review”", status)
		}
	})
	var cues struct{ Cues []cueJSON }
	teacher.call(t, "GET", captionsPath+"/en?format=json", nil, http.StatusOK, &cues)
	checkRecognised(t, lecture, cues.Cues)

	t.Run("PublishedForStudents", func(t *testing.T) {
		teacher.call(t, "PATCH", captionsPath+"/en", map[string]string{"status": "published"}, http.StatusOK, nil)
		var l captionList
		student.call(t, "GET", captionsPath, nil, http.StatusOK, &l)
		var pb struct{ Captions []struct{ Lang, URL string } }
		student.call(t, "GET", "/api/v1/lessons/"+lesson.ID+"/playback", nil, http.StatusOK, &pb)
		if len(l.Captions) != 1 || len(pb.Captions) != 1 || pb.Captions[0].Lang != "en" {
			t.Fatalf("after publishing, the student sees %+v and playback %+v; want the English track", l.Captions, pb.Captions)
		}
		if status, vtt := student.get(t, base+pb.Captions[0].URL); status != http.StatusOK || !strings.Contains(string(vtt), "-->") {
			t.Errorf("student's captions %s: %d %.80q", pb.Captions[0].URL, status, vtt)
		}
	})
	p.stop()
}

// failingRecognizerEndToEnd runs "lectern serve" with a recognizer that
// fails: the worker's queue tries it three times (10 s, then 20 s
// apart), then the teacher reads why it failed; the lesson stays ready
// and playable, without captions.
func failingRecognizerEndToEnd(t *testing.T) {
	ffmpeg, _ := testenv.FFmpeg(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "broken-recognizer.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"cannot open model /models/base.bin\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(dir, "lesson.mp4")
	if b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "color=c=black:s=160x90:r=10:d=2", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", clip).CombinedOutput(); err != nil {
		t.Fatalf("make the clip: %v\n%s", err, b)
	}
	env := embeddedEnv(t.TempDir())
	env["LECTERN_ADMIN_EMAIL"], env["LECTERN_ADMIN_PASSWORD"] = e2eAdminEmail, e2eAdminPassword
	env["LECTERN_ASR_COMMAND"] = script + " {audio} {output}"
	p := startLectern(t, env, "serve")
	base := p.ready()
	teacher := newSession(t, base, e2eAdminEmail, e2eAdminPassword).newUser(t, "teacher")
	var course, lesson struct{ ID string }
	teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Optics"}, http.StatusCreated, &course)
	teacher.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Lenses"}, http.StatusCreated, &lesson)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	waitReady(t, teacher, lesson.ID)
	l, seen := pollCaptions(t, teacher, lesson.ID, "failed")
	t.Logf("automatic captions states seen: %v", seen)
	const reason = "Automatic captions failed after 3 tries: The speech recognizer failed (exit status 1): cannot open model /models/base.bin."
	if l.ASR.State != "failed" || l.ASR.Tries != 3 || l.ASR.Error != reason || len(l.Captions) != 0 {
		t.Errorf("automatic captions: %+v, tracks %+v; want failed after 3 tries with %q and no track", l.ASR, l.Captions, reason)
	}
	var ls struct{ Status string }
	teacher.call(t, "GET", "/api/v1/lessons/"+lesson.ID, nil, http.StatusOK, &ls)
	if ls.Status != "ready" {
		t.Errorf("lesson status %q after its captions failed, want ready", ls.Status)
	}
	if status, page := teacher.get(t, base+"/lessons/"+lesson.ID+"/captions"); status != http.StatusOK ||
		!strings.Contains(string(page), "Automatic captions: failed: Automatic captions failed after 3 tries") {
		t.Errorf("caption editor: %d, without the failure's reason", status)
	}
	p.stop()
}

// waitCaptions polls the teacher's caption list until the automatic
// captions are done, and fails when they end otherwise.
func waitCaptions(t *testing.T, s *session, lessonID string) captionList {
	t.Helper()
	l, seen := pollCaptions(t, s, lessonID, "done")
	t.Logf("automatic captions states seen: %v; %d cues after %d tries", seen, l.ASR.Cues, l.ASR.Tries)
	return l
}

// pollCaptions polls the teacher's caption list until the automatic
// captions reach state want; it fails when they end in another state.
// It returns the list and the states seen, with the reasons of retries.
func pollCaptions(t *testing.T, s *session, lessonID, want string) (captionList, []string) {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(asrGuard); ; time.Sleep(300 * time.Millisecond) {
		var l captionList
		s.call(t, "GET", "/api/v1/lessons/"+lessonID+"/captions", nil, http.StatusOK, &l)
		if l.ASR == nil {
			t.Fatalf("a lesson published with a recognizer configured has no automatic captions: %+v", l)
		}
		st := fmt.Sprintf("%s(%d)", l.ASR.State, l.ASR.Tries)
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		switch {
		case l.ASR.State == want:
			return l, seen
		case l.ASR.State == "done" || l.ASR.State == "failed" || l.ASR.State == "skipped":
			t.Fatalf("automatic captions %s: %s (states seen %v)", l.ASR.State, l.ASR.Error, seen)
		case time.Now().After(deadline):
			t.Fatalf("gave up waiting for automatic captions; states seen %v", seen)
		}
	}
}

var wordRE = regexp.MustCompile(`[a-z']+`)

// checkRecognised checks the recognised cues against what was said:
// each distinctive word must be in a cue shown while it is spoken, give
// or take cueSlack, for at least minRecognised of them; and no cue may be
// shown only during a pause.
func checkRecognised(t *testing.T, lec *testenv.SpokenLecture, cues []cueJSON) {
	t.Helper()
	var (
		chosen, found int
		missed        []string
		// Outside: how far each found word is spoken outside its cue;
		// starts: for a found word that opens its cue, how far the cue's
		// start is from the word's.
		outside, starts []int64
	)
	for _, w := range lec.Words {
		word := strings.ToLower(w.Text)
		if !distinctiveWords[word] {
			continue
		}
		chosen++
		best, bestStart := int64(-1), int64(-1)
		for _, c := range cues {
			words := wordRE.FindAllString(strings.ToLower(c.Text), -1)
			idx := -1
			for i, cw := range words {
				if cw == word {
					idx = i
					break
				}
			}
			if idx < 0 {
				continue
			}
			off := max(c.StartMS-w.StartMS, 0) + max(w.EndMS-c.EndMS, 0)
			if off <= cueSlack && (best < 0 || off < best) {
				best, bestStart = off, -1
				if idx == 0 {
					bestStart = abs64(c.StartMS - w.StartMS)
				}
			}
		}
		if best < 0 {
			missed = append(missed, fmt.Sprintf("%s@%.1fs", word, float64(w.StartMS)/1000))
			continue
		}
		found++
		outside = append(outside, best)
		if bestStart >= 0 {
			starts = append(starts, bestStart)
		}
	}
	share := float64(found) / float64(chosen)
	t.Logf("distinctive words in a cue shown while spoken (±%d ms): %d of %d (%.0f %%); missed: %v", cueSlack, found, chosen, share*100, missed)
	t.Logf("spoken outside their cue: mean %d ms, max %d ms; cue start vs its first word's start (%d cues): mean %d ms, max %d ms",
		mean(outside), maxOf(outside), len(starts), mean(starts), maxOf(starts))
	if share < minRecognised {
		t.Errorf("%d of %d distinctive words recognised at their time, want at least %.0f %%", found, chosen, minRecognised*100)
	}
	for _, c := range cues {
		for _, s := range lec.Silences {
			if c.StartMS >= s[0] && c.EndMS <= s[1] {
				t.Errorf("cue %q (%d–%d ms) lies entirely in a pause (%d–%d ms)", c.Text, c.StartMS, c.EndMS, s[0], s[1])
			}
		}
	}
	var text []string
	for _, c := range cues {
		text = append(text, fmt.Sprintf("[%.1f–%.1f] %s", float64(c.StartMS)/1000, float64(c.EndMS)/1000, c.Text))
	}
	t.Logf("cues:\n%s", strings.Join(text, "\n"))
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func mean(vs []int64) int64 {
	if len(vs) == 0 {
		return 0
	}
	var sum int64
	for _, v := range vs {
		sum += v
	}
	return sum / int64(len(vs))
}

func maxOf(vs []int64) int64 {
	var m int64
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}
