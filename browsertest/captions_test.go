package browsertest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// lessonVTT are the captions of the 20 s lesson of TestCaptionsStory.
const lessonVTT = "WEBVTT\n\n" +
	"00:00:00.500 --> 00:00:03.000\nWelcome to <i>phonetics</i> &amp; more\n\n" +
	"00:00:04.000 --> 00:00:06.500\nVowels come first\n\n" +
	"00:00:09.000 --> 00:00:12.000\nNow the consonants\n\n" +
	"00:00:15.000 --> 00:00:18.000\nThat is all for today\n"

// putCaptions uploads a caption file as a script would.
func putCaptions(t *testing.T, c *http.Client, base, lessonID, lang, query, file string) {
	t.Helper()
	req, err := http.NewRequest("PUT", base+"/api/v1/lessons/"+lessonID+"/captions/"+lang+query, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/vtt")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload captions: %s %s", resp.Status, b)
	}
}

// overlayAboveControls is a script that says whether the captions overlay
// shows and its box ends above the control bar's.
const overlayAboveControls = `(() => {
	const o = document.getElementById("captions-overlay").getBoundingClientRect();
	const c = document.getElementById("controls").getBoundingClientRect();
	return o.height > 0 && o.bottom <= c.top;
})()`

// cueShownAt is a script that says whether the overlay shows text while
// the video is within [from, to) seconds, checked at one instant.
func cueShownAt(text string, from, to float64) string {
	return fmt.Sprintf(`(() => {
		const v = document.getElementById("video"), o = document.getElementById("captions-overlay");
		return !o.hidden && o.textContent === %s && v.currentTime >= %v && v.currentTime < %v;
	})()`, jsString(text), from, to)
}

// TestCaptionsStory is the captions part of issue 11 end to end: a teacher
// uploads a clip, a caption file and chapters through the API; a student
// turns captions on from the CC menu and sees a cue's text over the video
// at its time, above the control bar; hls.js loaded the track from the
// master playlist's subtitles group at the right times; the choice is
// remembered on the server and the c key turns captions off and on; the
// transcript follows, seeks on a click and filters on a search; the
// chapter menu and a chapter's deep link land on its start; a phrase said
// in the lesson is found through search and its hit plays from the cue's
// moment; on a phone the
// captions are on again and still above the controls. Screenshots:
// captions-on, transcript-open, transcript-search, chapters,
// phone-captions.
func TestCaptionsStory(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
	)
	shots := artifactsDir(t)
	clip := makeLongClip(t, 20)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")
	teacher := l.apiLogin(t, teacherEmail, teacherPassword)
	studentAPI := l.apiLogin(t, studentEmail, studentPassword)

	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Phonetics"}, &course, http.StatusCreated)
	var lesson struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Sounds of English"}, &lesson, http.StatusCreated)
	apiCall(t, studentAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	l.uploadAndWait(t, teacher, lesson.ID, clip)
	putCaptions(t, teacher, l.URL, lesson.ID, "en", "?default=true", lessonVTT)
	apiCall(t, teacher, "PUT", l.URL+"/api/v1/lessons/"+lesson.ID+"/chapters", []map[string]any{
		{"start_ms": 0, "title": "Welcome"}, {"start_ms": 8000, "title": "Consonants"}, {"start_ms": 14000, "title": "Summary"},
	}, nil, http.StatusOK)

	student := newTab(t, l.URL, "student", shots)
	watch := "/watch/" + lesson.ID
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"CaptionsOnFromTheMenu", func(t *testing.T) {
			tb := student.use(t)
			tb.login(studentEmail, studentPassword)
			tb.open(watch)
			tb.waitFor("the player", `!document.getElementById("big-play").hidden && !document.getElementById("captions-wrap").hidden`, time.Minute)
			if on := eval[bool](tb, `document.getElementById("captions-btn").classList.contains("is-on")`); on {
				t.Errorf("captions are on before the student chose them")
			}
			tb.do(chromedp.Click(chromedp.CSS("#captions-btn")))
			tb.waitFor("the captions menu", `!document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(`#captions-menu button[data-lang="en"]`)))
			tb.waitFor("the choice announced", `document.getElementById("captions-status").textContent === "Captions on: English"`, stepTimeout)
			if label := eval[string](tb, `document.getElementById("captions-btn").getAttribute("aria-label")`); label != "CC captions: English (c)" {
				t.Errorf("CC button is named %q after choosing English", label)
			}
			tb.do(chromedp.Click(chromedp.CSS("#big-play")))
			tb.waitFor("the first cue over the video at its time", cueShownAt("Welcome to phonetics & more", 0.5, 3.0), time.Minute)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			if it := tb.text("#captions-overlay i"); it != "phonetics" {
				t.Errorf("the cue's italic is %q, want an <i> element holding \"phonetics\"", it)
			}
			tb.waitFor("the captions above the control bar", overlayAboveControls, stepTimeout)
			tb.shot("captions-on")
		}},
		{"HLSJSLoadedTheTrackAtItsTimes", func(t *testing.T) {
			tb := student.use(t)
			// The track came from the master playlist's subtitles group,
			// and the X-TIMESTAMP-MAP put every cue where the file says.
			tb.waitFor("the subtitle track's cues", `(() => {
				const h = window.lecternPlayer.hls;
				const tr = [...document.getElementById("video").textTracks].find(t => t.language === "en");
				return h.subtitleTracks.length === 1 && h.subtitleTrack === 0 && tr && tr.mode === "hidden" && tr.cues && tr.cues.length === 4;
			})()`, stepTimeout)
			starts := eval[[]float64](tb, `[...[...document.getElementById("video").textTracks].find(t => t.language === "en").cues].map(c => c.startTime)`)
			for i, want := range []float64{0.5, 4, 9, 15} {
				if d := starts[i] - want; d < -0.1 || d > 0.1 {
					t.Errorf("cue %d starts at %.3f s in the player, want %.3f s", i+1, starts[i], want)
				}
			}
		}},
		{"ChoiceRememberedAndCKey", func(t *testing.T) {
			tb := student.use(t)
			if lang := eval[string](tb, `fetch("/api/v1/me/preferences").then(r => r.json()).then(p => p.caption_lang)`); lang != "en" {
				t.Errorf("saved caption language = %q, want en", lang)
			}
			tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("c"))
			tb.waitFor("captions off by the c key", `document.getElementById("captions-overlay").hidden &&
				document.getElementById("captions-btn").getAttribute("aria-label") === "CC captions: off (c)" &&
				document.getElementById("captions-status").textContent === "Captions off"`, stepTimeout)
			tb.do(chromedp.KeyEvent("c"))
			tb.waitFor("captions on again by the c key", `!document.getElementById("captions-overlay").hidden &&
				document.getElementById("captions-overlay").textContent === "Welcome to phonetics & more"`, stepTimeout)
		}},
		{"CaptionSizeAndBackground", func(t *testing.T) {
			tb := student.use(t)
			before := eval[float64](tb, `parseFloat(getComputedStyle(document.getElementById("captions-overlay")).fontSize)`)
			tb.do(chromedp.Click(chromedp.CSS("#captions-btn")),
				chromedp.Click(chromedp.CSS(`#captions-menu button[data-size="large"]`)),
				chromedp.Click(chromedp.CSS(`#captions-menu button[data-bg="solid"]`)))
			tb.waitFor("large captions on a solid background", `(() => {
				const t = document.querySelector("#captions-overlay .caption-text");
				return t && getComputedStyle(t).backgroundColor === "rgb(0, 0, 0)";
			})()`, stepTimeout)
			if after := eval[float64](tb, `parseFloat(getComputedStyle(document.getElementById("captions-overlay")).fontSize)`); after <= before*1.2 {
				t.Errorf("large captions are %.1fpx, medium %.1fpx", after, before)
			}
			tb.do(chromedp.KeyEvent(kb.Escape))
			tb.waitFor("the menu closed", `document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.waitFor("the settings saved", `fetch("/api/v1/me/preferences").then(r => r.json()).then(p =>
				p.caption_size === "large" && p.caption_background === "solid")`, stepTimeout)
		}},
		{"TranscriptFollowsAndSeeks", func(t *testing.T) {
			tb := student.use(t)
			tb.do(chromedp.Click(chromedp.CSS("#tab-transcript")))
			tb.waitFor("the transcript's lines", `document.querySelectorAll("#transcript-list .transcript-line").length === 4 &&
				!document.getElementById("transcript").hidden && document.getElementById("conversation").hidden`, stepTimeout)
			if first := tb.text("#transcript-list li:first-child .transcript-text"); first != "Welcome to phonetics & more" {
				t.Errorf("first transcript line = %q", first)
			}
			tb.do(chromedp.Click(chromedp.CSS("#transcript-list li:nth-child(3) .transcript-line")))
			tb.waitFor("playback at the third cue's start", `Math.abs(document.getElementById("video").currentTime - 9) < 0.4`, stepTimeout)
			tb.waitFor("the third line marked as spoken", `document.querySelector("#transcript-list li:nth-child(3) .transcript-line").getAttribute("aria-current") === "true"`, stepTimeout)
			tb.waitFor("its cue over the video", cueShownAt("Now the consonants", 9, 12), stepTimeout)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			tb.shot("transcript-open")
			tb.do(chromedp.SendKeys(chromedp.CSS("#transcript-search"), "VOWEL"))
			tb.waitFor("one matching line", `[...document.querySelectorAll("#transcript-list li")].filter(li => !li.hidden).length === 1 &&
				document.querySelector("#transcript-list li:not([hidden]) mark")?.textContent === "Vowel"`, stepTimeout)
			tb.shot("transcript-search")
			txt := eval[string](tb, `fetch(document.getElementById("transcript-download").href).then(r => r.text())`)
			if !strings.Contains(txt, "[0:09] Now the consonants") {
				t.Errorf("downloaded transcript:\n%s\nwant the line [0:09] Now the consonants", txt)
			}
			tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("transcript-search"); s.value = ""; s.dispatchEvent(new Event("input")); })()`))
		}},
		{"ChapterMenu", func(t *testing.T) {
			tb := student.use(t)
			if n := eval[int](tb, `document.querySelectorAll("#timeline-chapters .chapter-tick").length`); n != 2 {
				t.Errorf("chapter boundaries on the timeline = %d, want 2", n)
			}
			tb.do(chromedp.Click(chromedp.CSS("#chapters-btn")))
			tb.waitFor("the chapter menu", `!document.getElementById("chapters-menu").hidden`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(`#chapters-menu button[data-index="2"]`)))
			tb.waitFor("playback at the Summary chapter", `Math.abs(document.getElementById("video").currentTime - 14) < 0.4 &&
				location.hash === "#chapter-3" && new URLSearchParams(location.search).get("t") === "14"`, stepTimeout)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			tb.waitFor("the current chapter marked", `document.getElementById("chapter-label").textContent === "Summary" &&
				document.querySelector('#chapters-menu button[data-index="2"]').getAttribute("aria-checked") === "true" &&
				document.getElementById("timeline").getAttribute("aria-valuetext").endsWith("chapter: Summary")`, stepTimeout)
			tb.shot("chapters")
		}},
		{"ChapterDeepLinkAndRememberedCaptions", func(t *testing.T) {
			tb := student.use(t)
			tb.open(watch + "#chapter-2")
			tb.waitFor("the lesson at the Consonants chapter", `!document.getElementById("big-play").hidden &&
				Math.abs(document.getElementById("video").currentTime - 8) < 0.5`, time.Minute)
			tb.waitFor("captions on in English after the reload", `document.getElementById("captions-btn").classList.contains("is-on") &&
				document.querySelector('#captions-menu button[data-lang="en"]').getAttribute("aria-checked") === "true"`, stepTimeout)
		}},
		{"SearchFindsAPhraseAndJumpsToIt", func(t *testing.T) {
			tb := student.use(t)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`), slashKey())
			tb.do(chromedp.KeyEvent(`"all for today"` + kb.Enter))
			tb.waitFor("the search results", `location.pathname === "/search" && document.querySelector(".search-hit mark")`, stepTimeout)
			if got := tb.text(".search-hit-link"); !strings.Contains(got, "0:15") || !strings.Contains(got, "That is all for today") {
				t.Errorf("the hit reads %q, want the cue at 0:15", got)
			}
			tb.do(chromedp.Click(chromedp.CSS(".search-hit-link")))
			tb.waitFor("the lesson at 0:15", `location.pathname === `+jsString(watch)+` && location.search === "?t=15" &&
				(v => v && v.readyState > 0 && v.currentTime >= 14.5 && v.currentTime < 18)(document.getElementById("video"))`, time.Minute)
		}},
		{"PhoneCaptionsAboveTheControls", func(t *testing.T) {
			tb := student.use(t)
			tb.phone()
			defer tb.desktop()
			tb.open(watch + "?t=9")
			tb.waitFor("the player", `!document.getElementById("big-play").hidden`, time.Minute)
			tb.do(chromedp.Click(chromedp.CSS("#big-play")))
			tb.waitFor("the cue over the video on the phone", cueShownAt("Now the consonants", 9, 12), time.Minute)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			tb.waitFor("the captions above the control bar", overlayAboveControls, stepTimeout)
			tb.topShot("phone-captions")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}
