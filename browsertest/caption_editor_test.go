package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"
)

// editorCue is a cue as the caption API's ?format=json gives it.
type editorCue struct {
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Text    string `json:"text"`
}

// messySRT is a SubRip file as people send them: Windows-1252 (the é of
// "Café" is the single byte 0xE9), CRLF line ends, and a cue that overlaps
// the one before it.
const messySRT = "1\r\n00:00:01,000 --> 00:00:03,000\r\nCaf\xe9 au lait\r\n\r\n" +
	"2\r\n00:00:02,500 --> 00:00:04,500\r\nSecond cue overlaps\r\n\r\n" +
	"3\r\n00:00:05,000 --> 00:00:07,000\r\nThird cue, one two\r\n\r\n" +
	"4\r\n00:00:07,000 --> 00:00:08,000\r\nFourth\r\n"

// uploadedCues are messySRT's cues once read.
var uploadedCues = []editorCue{
	{1000, 3000, "Café au lait"},
	{2500, 4500, "Second cue overlaps"},
	{5000, 7000, "Third cue, one two"},
	{7000, 8000, "Fourth"},
}

// cueField is a JavaScript expression for a field ("start", "end",
// "text", "play") of cue n (from 1) in the editor.
func cueField(n int, field string) string {
	return fmt.Sprintf(`document.querySelectorAll("#cue-list .cue")[%d].querySelector('[data-field=%q]')`, n-1, field)
}

// editorCues reads the cues the editor shows.
func editorCues(tb *tab) []editorCue {
	tb.t.Helper()
	return eval[[]editorCue](tb, `[...document.querySelectorAll("#cue-list .cue")].map(r => ({
		start_ms: r.querySelector('[data-field=start]').value, end_ms: r.querySelector('[data-field=end]').value,
		text: r.querySelector('[data-field=text]').value })).map(c => ({ ...c,
		start_ms: Math.round(c.start_ms.split(":").reduce((a, p) => a * 60 + Number(p), 0) * 1000),
		end_ms: Math.round(c.end_ms.split(":").reduce((a, p) => a * 60 + Number(p), 0) * 1000) }))`)
}

// typeAtEnd types text at the end of a cue's text, as a person would.
func typeAtEnd(tb *tab, n int, text string) {
	tb.t.Helper()
	sel := fmt.Sprintf(`#cue-list li:nth-child(%d) .cue-text`, n)
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const t = %s; t.focus(); t.setSelectionRange(t.value.length, t.value.length); })()`, cueField(n, "text"))),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

// seekTo moves the editor's video to ms and waits until it is there, paused.
func seekTo(tb *tab, ms int64) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const v = document.getElementById("video"); v.pause(); v.currentTime = %f; })()`, float64(ms)/1000)))
	tb.waitFor(fmt.Sprintf("the video at %d ms", ms), fmt.Sprintf(`(() => { const v = document.getElementById("video");
		return !v.seeking && Math.round(v.currentTime * 1000) === %d && document.getElementById("now").textContent === %q; })()`, ms, fmtTime(ms)), stepTimeout)
}

// fmtTime writes ms the way the editor does (m:ss.mmm).
func fmtTime(ms int64) string { return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000) }

// TestCaptionEditor is a teacher captioning a lesson in the browser: the
// teacher uploads a clip, opens the caption editor from the upload page,
// adds French and uploads a Windows-1252 SubRip file with an overlap and
// sees what was tidied; edits a cue's text, splits one at the video's time
// and at the caret, merges two, is told when a time is not one, deletes a
// cue and undoes it, shifts everything by +500 ms and saves: the API then
// has exactly those cues. A second save makes a third version; restoring
// the first brings its cues back; a reload with unsaved edits asks first
// and then offers them back. Screenshots: captions-editor and
// captions-editor-phone.
func TestCaptionEditor(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
	)
	shots := artifactsDir(t)
	clip := makeLongClip(t, 12)
	srt := filepath.Join(t.TempDir(), "lecon-1.srt")
	if err := os.WriteFile(srt, []byte(messySRT), 0o644); err != nil {
		t.Fatal(err)
	}
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	teacherAPI := l.apiLogin(t, teacherEmail, teacherPassword)
	var course, lesson struct{ ID string }
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Français"}, &course, http.StatusCreated)
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Au café"}, &lesson, http.StatusCreated)
	captionsAPI := l.URL + "/api/v1/lessons/" + lesson.ID + "/captions/fr"
	apiCues := func(t *testing.T) []editorCue {
		var resp struct{ Cues []editorCue }
		apiCall(t, teacherAPI, "GET", captionsAPI+"?format=json", nil, &resp, http.StatusOK)
		return resp.Cues
	}

	teacher := newTab(t, l.URL, "teacher", shots)
	edited := []editorCue{
		{1500, 3500, "Café au lait, avec du sucre"},
		{3000, 5000, "Second cue overlaps"},
		{5500, 6500, "Third cue,"},
		{6500, 8500, "one two\nFourth"},
	}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"TeacherUploadsAClipAndOpensTheEditor", func(t *testing.T) {
			tb := teacher.use(t)
			tb.login(teacherEmail, teacherPassword)
			tb.open("/lessons/" + lesson.ID + "/upload")
			tb.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{clip}))
			tb.waitFor("the lesson to be ready", `!document.getElementById("transcode-done").hidden`, 3*time.Minute)
			tb.do(chromedp.Click(chromedp.CSS("#captions-link")))
			tb.waitFor("the caption editor with its video", `location.pathname.endsWith("/captions") && document.getElementById("video").readyState >= 1`, stepTimeout)
			tb.waitFor("the form for a first language", `!document.getElementById("new-lang-form").hidden`, stepTimeout)
		}},
		{"UploadsAMessySRTAndSeesWhatWasTidied", func(t *testing.T) {
			tb := teacher.use(t)
			tb.do(chromedp.SendKeys(chromedp.CSS("#new-lang-tag"), "fr"),
				chromedp.SendKeys(chromedp.CSS("#new-lang-label"), "Français"),
				chromedp.Click(chromedp.CSS("#new-lang-form button[type=submit]")))
			tb.waitFor("the new language in the editor", `document.getElementById("track-lang").value === "fr" && document.getElementById("new-lang-form").hidden`, stepTimeout)
			tb.do(chromedp.SetUploadFiles(chromedp.CSS("#track-file"), []string{srt}))
			tb.waitFor("the warnings", `!document.getElementById("warnings").hidden`, stepTimeout)
			warnings := tb.text("#warnings-list")
			for _, want := range []string{"Windows-1252", "overlaps the cue before it"} {
				if !strings.Contains(warnings, want) {
					t.Errorf("warnings %q do not mention %q", warnings, want)
				}
			}
			if diff := cmp.Diff(uploadedCues, editorCues(tb)); diff != "" {
				t.Errorf("editor after the upload (-want +got):\n%s", diff)
			}
			if got := tb.text("#track-meta"); !strings.HasPrefix(got, "Version 1 · 4 cues") {
				t.Errorf("track says %q, want version 1 with 4 cues", got)
			}
		}},
		{"EditsSplitsMergesShiftsAndSaves", func(t *testing.T) {
			tb := teacher.use(t)
			typeAtEnd(tb, 1, ", avec du sucre")
			tb.waitFor("unsaved changes", `document.getElementById("save-state").textContent === "Unsaved changes" && !document.getElementById("save-btn").disabled`, stepTimeout)

			// Split "Third cue, one two" at 0:06 after the comma.
			seekTo(tb, 6000)
			tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const t = %s; t.focus(); t.setSelectionRange(10, 10); })()`, cueField(3, "text"))),
				chromedp.Click(chromedp.CSS("#split-cue")))
			tb.waitFor("five cues", `document.querySelectorAll("#cue-list .cue").length === 5`, stepTimeout)
			want := []editorCue{uploadedCues[0], uploadedCues[1], {5000, 6000, "Third cue,"}, {6000, 7000, "one two"}, uploadedCues[3]}
			want[0].Text += ", avec du sucre"
			if diff := cmp.Diff(want, editorCues(tb)); diff != "" {
				t.Errorf("after the split (-want +got):\n%s", diff)
			}

			// Merge "one two" with "Fourth".
			tb.do(chromedp.Click(chromedp.CSS(`#cue-list li:nth-child(4) .cue-time-input`)),
				chromedp.Click(chromedp.CSS("#merge-cue")))
			tb.waitFor("four cues", `document.querySelectorAll("#cue-list .cue").length === 4`, stepTimeout)

			// A time that is not one is refused with a message tied to the field.
			end2 := `#cue-list li:nth-child(2) [data-field=end]`
			tb.do(chromedp.Evaluate[chromedp.Void](cueField(2, "end")+`.select()`),
				chromedp.SendKeys(chromedp.CSS(end2), "1:7x\r"))
			tb.waitFor("the time's error", cueField(2, "end")+`.getAttribute("aria-invalid") === "true"`, stepTimeout)
			errID := eval[string](tb, cueField(2, "end")+`.getAttribute("aria-describedby")`)
			if msg := eval[string](tb, `document.getElementById(`+jsString(errID)+`).textContent`); !strings.Contains(msg, "is not a time") {
				t.Errorf("error tied to the end field says %q", msg)
			}
			tb.do(chromedp.Click(chromedp.CSS("#save-btn")))
			tb.waitFor("the refusal to save", `document.getElementById("editor-error").textContent.includes("is not a time")`, stepTimeout)
			tb.do(chromedp.Evaluate[chromedp.Void](cueField(2, "end")+`.select()`),
				chromedp.SendKeys(chromedp.CSS(end2), "0:04.500\r"))
			tb.waitFor("the error gone", `!`+cueField(2, "end")+`.hasAttribute("aria-invalid")`, stepTimeout)

			// Deleting a cue can be undone.
			tb.do(chromedp.Click(chromedp.CSS(`#cue-list li:nth-child(1) .cue-time-input`)),
				chromedp.Click(chromedp.CSS("#delete-cue")))
			tb.waitFor("three cues", `document.querySelectorAll("#cue-list .cue").length === 3`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS("#undo-btn")))
			tb.waitFor("four cues again", `document.querySelectorAll("#cue-list .cue").length === 4`, stepTimeout)

			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("shift-ms").select()`),
				chromedp.SendKeys(chromedp.CSS("#shift-ms"), "500"),
				chromedp.Click(chromedp.CSS("#shift-later")))
			tb.waitFor("the shift", cueField(1, "start")+`.value === "0:01.500"`, stepTimeout)
			if diff := cmp.Diff(edited, editorCues(tb)); diff != "" {
				t.Errorf("editor before saving (-want +got):\n%s", diff)
			}
			tb.do(chromedp.Click(chromedp.CSS("#save-btn")))
			tb.waitFor("version 2 saved", `document.getElementById("save-state").textContent === "Saved version 2"`, stepTimeout)
			tb.waitFor("the save announced", `document.getElementById("announce").textContent.startsWith("Saved version 2.")`, stepTimeout)
			if diff := cmp.Diff(edited, apiCues(t)); diff != "" {
				t.Errorf("API after saving (-want +got):\n%s", diff)
			}
		}},
		{"ASecondSaveMakesANewVersion", func(t *testing.T) {
			tb := teacher.use(t)
			typeAtEnd(tb, 2, ", again")
			tb.do(chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
			tb.waitFor("version 3 saved", `document.getElementById("save-state").textContent === "Saved version 3"`, stepTimeout)
			tb.waitFor("three versions listed", `document.querySelectorAll("#versions .cap-version").length === 3`, stepTimeout)
			want := append([]editorCue(nil), edited...)
			want[1].Text += ", again"
			if diff := cmp.Diff(want, apiCues(t)); diff != "" {
				t.Errorf("API after the second save (-want +got):\n%s", diff)
			}
		}},
		{"RestoringTheFirstVersionBringsItsCuesBack", func(t *testing.T) {
			tb := teacher.use(t)
			tb.do(chromedp.Click(chromedp.CSS(`#versions [data-version="1"] button`)))
			tb.waitFor("the confirmation", `document.getElementById("confirm-dialog").open`, stepTimeout)
			if got := tb.text("#confirm-title"); got != "Restore version 1?" {
				t.Errorf("confirmation asks %q", got)
			}
			tb.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
			tb.waitFor("version 4 saved", `document.getElementById("save-state").textContent === "Saved version 4"`, stepTimeout)
			if diff := cmp.Diff(uploadedCues, apiCues(t)); diff != "" {
				t.Errorf("API after restoring version 1 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(uploadedCues, editorCues(tb)); diff != "" {
				t.Errorf("editor after restoring version 1 (-want +got):\n%s", diff)
			}
			tb.waitFor("the restore in the versions", `document.querySelector('#versions [data-version="4"]')?.textContent.includes("Restored version 1")`, stepTimeout)
			// The cue playing is highlighted, and shown over the video as edited.
			seekTo(tb, 2700)
			tb.waitFor("cues 1 and 2 highlighted", `[...document.querySelectorAll("#cue-list .cue")].map(r => r.classList.contains("is-current")).join() === "true,true,false,false"`, stepTimeout)
			if got := tb.text("#cap-preview"); got != "Café au lait\nSecond cue overlaps" {
				t.Errorf("preview over the video says %q", got)
			}
			tb.topShot("captions-editor")
		}},
		{"KeyboardOnly", func(t *testing.T) {
			tb := teacher.use(t)
			seekTo(tb, 4000)
			active := `(() => { const a = document.activeElement; return (a.dataset.field || (a.classList.contains("cue") ? "row" : a.tagName)) + ":" + [...document.querySelectorAll("#cue-list .cue")].findIndex(r => r.contains(a)); })()`
			tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#cue-list .cue").focus()`),
				chromedp.KeyEvent(kb.ArrowDown))
			if got := eval[string](tb, active); got != "row:1" {
				t.Errorf("after ↓ on the first row the focus is on %q, want the second row", got)
			}
			// Enter edits the text; a shortcut's letter typed there is text.
			tb.do(chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent("k"))
			if got := eval[string](tb, active); got != "text:1" {
				t.Errorf("after Enter the focus is on %q, want the second cue's text", got)
			}
			if got := eval[string](tb, cueField(2, "text")+`.value`); got != "Second cue overlapsk" {
				t.Errorf("typing k in the text gave %q", got)
			}
			if !eval[bool](tb, `document.getElementById("video").paused`) {
				t.Errorf("typing k in a cue's text played the video")
			}
			// Esc goes back to the row, where shortcuts work: ] sets the end, Ctrl+Z undoes.
			tb.do(chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("]"))
			tb.waitFor("the end set to the video time", cueField(2, "end")+`.value === "0:04.000"`, stepTimeout)
			tb.do(chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
			tb.waitFor("the end back", cueField(2, "end")+`.value === "0:04.500"`, stepTimeout)
			tb.do(chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
			tb.waitFor("the text back, nothing left to save", cueField(2, "text")+`.value === "Second cue overlaps" && document.getElementById("save-btn").disabled`, stepTimeout)
			tb.do(chromedp.KeyEvent("k"))
			tb.waitFor("k to play", `!document.getElementById("video").paused`, stepTimeout)
			tb.do(chromedp.KeyEvent("k"))
			tb.waitFor("k to pause", `document.getElementById("video").paused`, stepTimeout)
		}},
		{"AReloadWithUnsavedEditsOffersThem", func(t *testing.T) {
			tb := teacher.use(t)
			typeAtEnd(tb, 1, " (brouillon)")
			tb.waitFor("the draft kept on this device", fmt.Sprintf(`(localStorage.getItem("lectern:caption-draft:%s:fr") || "").includes("(brouillon)")`, lesson.ID), stepTimeout)
			dialogs := make(chan string, 4)
			ctx, cancel := context.WithCancel(tb.ctx)
			defer cancel()
			events := chromedp.Events(ctx, page.JavascriptDialogOpening)
			go func() {
				for ev, err := range events {
					if err != nil {
						return
					}
					dialogs <- string(ev.Type)
					chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				}
			}()
			tb.do(chromedp.Reload())
			select {
			case typ := <-dialogs:
				if typ != "beforeunload" {
					t.Errorf("leaving the page opened a %q dialog, want beforeunload", typ)
				}
			default:
				t.Errorf("leaving the page with unsaved edits did not ask first")
			}
			tb.waitFor("the offer of the draft", `!document.getElementById("draft-offer").hidden`, stepTimeout)
			if got := tb.text("#draft-offer-text"); !strings.Contains(got, "Français captions that were not saved") {
				t.Errorf("draft offer says %q", got)
			}
			if got := eval[string](tb, cueField(1, "text")+`.value`); got != "Café au lait" {
				t.Errorf("before restoring the draft cue 1 says %q, want the saved text", got)
			}
			tb.do(chromedp.Click(chromedp.CSS("#draft-restore")))
			tb.waitFor("the draft back in the editor", cueField(1, "text")+`.value === "Café au lait (brouillon)"`, stepTimeout)
			if got := tb.text("#save-state"); got != "Unsaved changes" {
				t.Errorf("save state %q after restoring the draft, want unsaved changes", got)
			}
		}},
		{"OnAPhone", func(t *testing.T) {
			tb := teacher.use(t)
			tb.phone()
			defer tb.desktop()
			if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > 390 {
				t.Errorf("the editor is %v px wide on a 390 px phone", w)
			}
			tb.topShot("captions-editor-phone")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}
