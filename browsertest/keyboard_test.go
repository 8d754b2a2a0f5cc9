package browsertest

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// valueText is the aria-valuetext of the element with id.
func valueText(tb *tab, id string) string {
	tb.t.Helper()
	return eval[string](tb, `document.getElementById("`+id+`").getAttribute("aria-valuetext") ?? ""`)
}

// axMismatch says how the accessibility node n differs from a role, a
// name (a prefix of it when name ends in "…") and states ("" when it
// does not).
func axMismatch(n axNode, role, name string, states ...string) string {
	var d []string
	if role != "" && n.Role != role {
		d = append(d, fmt.Sprintf("role %q, want %q", n.Role, role))
	}
	if p, ok := strings.CutSuffix(name, "…"); ok && !strings.HasPrefix(n.Name, p) || !ok && name != "" && n.Name != name {
		d = append(d, fmt.Sprintf("named %q, want %q", n.Name, name))
	}
	for _, s := range states {
		k, v, _ := strings.Cut(s, "=")
		if n.Props[k] != v {
			d = append(d, fmt.Sprintf("%s = %q, want %q", k, n.Props[k], v))
		}
	}
	return strings.Join(d, "; ")
}

// wantAX checks the accessibility node of the element js gives against a
// role, a name and states, waiting up to 5 s for the browser to bring its
// accessibility tree up to date with the page.
func (b *tab) wantAX(what, js, role, name string, states ...string) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := ax(b, js)
		d := axMismatch(n, role, name, states...)
		if d == "" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Errorf("%s: %s (%s)", what, d, n)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPlayerByKeyboard drives the watch page with the keyboard alone and
// checks what a screen reader is told, from Chromium's accessibility tree:
// Tab reaches the play button with the focus always in sight, Space plays
// and pauses (the button says which), the arrows seek on the slider (its
// value and value text follow, chapter changes are announced), m mutes
// (pressed, the volume slider says "muted"), c turns captions on and off
// (announced), Enter opens the CC menu on the checked language, ↓ and
// Enter choose another, Escape and Tab close it, focus back on its button;
// the chapter menu jumps to a chapter; the help dialog gives the focus
// back; Tab leaves the player for the conversation (no trap), where a
// question is asked and Escape leaves the form; a teacher's answer and
// comment arriving live are announced in a polite live region; arrows on
// the side tabs do not seek; the resume prompt takes the focus and Escape
// hands it to the play button. Screenshots: keyboard-play-focused,
// keyboard-captions-menu.
func TestPlayerByKeyboard(t *testing.T) {
	w := newA11yWorld(t, false)
	// Back near the start, so that the page opens without a resume prompt.
	w.l.beat(t, w.studentAPI, w.lesson, "keyboard-1", 1, 0, 2)
	tb := w.tab(t, "student")
	watch := "/watch/" + w.lesson
	video := func(js string) string { return `(v => ` + js + `)(document.getElementById("video"))` }
	status := func(id string) string { return eval[string](tb, `document.getElementById("`+id+`").textContent`) }
	var question string
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"TabToPlayThenSpace", func(t *testing.T) {
			tb.use(t)
			tb.open(watch)
			tb.waitFor("the player", `!document.getElementById("big-play").hidden && document.getElementById("video").readyState >= 1 && !document.getElementById("captions-wrap").hidden`, time.Minute)
			stops := tb.tabTo("play", false, 40)
			if len(stops) < 3 || stops[len(stops)-2] != "timeline" || stops[len(stops)-3] != "big-play" {
				t.Errorf("Tab stops before play: %v, want …, big-play, timeline, play", stops)
			}
			tb.wantAX("the play button", "document.activeElement", "button", "Play (k)", "focused=true", "keyshortcuts=k")
			tb.key(" ")
			tb.waitFor("the video to play", video(`!v.paused && v.currentTime > 0.5`), stepTimeout)
			tb.wantAX("the play button while playing", "document.activeElement", "button", "Pause (k)", "focused=true")
			// The controls stay in sight while the keyboard is on them.
			time.Sleep(3500 * time.Millisecond)
			if p := eval[string](tb, focusProblem); p != "" {
				t.Errorf("3.5 s into playback with the focus on play: %s", p)
			}
			tb.shot("keyboard-play-focused")
			tb.key(" ")
			tb.waitFor("the video to pause", video(`v.paused`), stepTimeout)
			tb.wantAX("the play button once paused", "document.activeElement", "button", "Play (k)")
		}},
		{"ArrowsSeekAndChaptersAreAnnounced", func(t *testing.T) {
			tb.use(t)
			tb.tabTo("timeline", true, 1)
			tb.wantAX("the timeline", "document.activeElement", "slider", "Seek", "valuemin=0", "valuemax=20", "focused=true")
			tb.key(kb.Home)
			tb.waitFor("the start", video(`v.currentTime < 0.3`), stepTimeout)
			tb.key(kb.ArrowRight)
			tb.key(kb.ArrowRight)
			tb.waitFor("10 s", video(`Math.abs(v.currentTime - 10) < 0.3 && !v.seeking`), stepTimeout)
			tb.wantAX("the timeline at 10 s", "document.activeElement", "slider", "Seek", "valuemax=20")
			if n := focused(tb); n.Value != "10" {
				t.Errorf("the timeline's value at 10 s is %q, want 10", n.Value)
			}
			if vt := valueText(tb, "timeline"); vt != "0:10 of 0:20, chapter: Consonants" {
				t.Errorf("the timeline's value text at 10 s is %q", vt)
			}
			tb.waitFor("the chapter change announced", `document.getElementById("chapter-status").textContent === "Chapter 2 of 3: Consonants"`, stepTimeout)
			tb.key(kb.ArrowLeft)
			tb.waitFor("5 s", video(`Math.abs(v.currentTime - 5) < 0.3`), stepTimeout)
			if n := focused(tb); n.Value != "5" || valueText(tb, "timeline") != "0:05 of 0:20, chapter: Welcome" {
				t.Errorf("the timeline at 5 s: %s, value text %q", n, valueText(tb, "timeline"))
			}
			tb.waitFor("the way back announced", `document.getElementById("chapter-status").textContent === "Chapter 1 of 3: Welcome"`, stepTimeout)
		}},
		{"MuteAndVolumeSayTheirState", func(t *testing.T) {
			tb.use(t)
			tb.wantAX("the mute button", `document.getElementById("mute")`, "button", "Mute (m)", "pressed=false")
			tb.wantAX("the volume slider", `document.getElementById("volume")`, "slider", "Volume", "valuemax=1")
			if vt := valueText(tb, "volume"); vt != "100%" {
				t.Errorf("the volume slider's value text is %q, want 100%%", vt)
			}
			tb.wantAX("the speed button", `document.getElementById("speed-btn")`, "button", "Playback speed: 1×", "expanded=false", "hasPopup=menu")
			tb.key("m")
			tb.waitFor("muted", video(`v.muted`), stepTimeout)
			tb.wantAX("the mute button when muted", `document.getElementById("mute")`, "button", "Mute (m)", "pressed=true")
			if n, vt := ax(tb, `document.getElementById("volume")`), valueText(tb, "volume"); n.Value != "0" || vt != "muted" {
				t.Errorf("the volume slider when muted: %s, value text %q", n, vt)
			}
			tb.key("m")
			tb.waitFor("sound back", video(`!v.muted`), stepTimeout)
			tb.wantAX("the mute button", `document.getElementById("mute")`, "", "", "pressed=false")
		}},
		{"CTogglesCaptions", func(t *testing.T) {
			tb.use(t)
			tb.wantAX("the CC button", `document.getElementById("captions-btn")`, "button", "CC captions: off (c)", "expanded=false", "hasPopup=menu")
			tb.wantAX("the captions live region", `document.getElementById("captions-status")`, "status", "", "live=polite")
			tb.key("c")
			tb.waitFor("captions on, announced", `document.getElementById("captions-status").textContent === "Captions on: English"`, stepTimeout)
			tb.wantAX("the CC button", `document.getElementById("captions-btn")`, "button", "CC captions: English (c)")
			tb.key("c")
			tb.waitFor("captions off, announced", `document.getElementById("captions-status").textContent === "Captions off"`, stepTimeout)
			tb.key("c")
			tb.waitFor("captions on again", `document.getElementById("captions-status").textContent === "Captions on: English"`, stepTimeout)
			tb.wantAX("the timeline after c", "document.activeElement", "slider", "Seek")
		}},
		{"CaptionsMenuByKeyboard", func(t *testing.T) {
			tb.use(t)
			stops := tb.tabTo("captions-btn", false, 12)
			for _, id := range []string{"play", "back10", "fwd10", "mute", "volume", "chapters-btn", "speed-btn", "quality-btn"} {
				if !strings.Contains(" "+strings.Join(stops, " ")+" ", " "+id+" ") {
					t.Errorf("Tab from the timeline to CC skipped %s: %v", id, stops)
				}
			}
			tb.key(kb.Enter)
			tb.waitFor("the captions menu", `!document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.wantAX("the CC button, menu open", `document.getElementById("captions-btn")`, "button", "", "expanded=true")
			tb.wantAX("the menu's first focus", "document.activeElement", "menuitemradio", "English", "checked=true", "focused=true")
			tb.shot("keyboard-captions-menu")
			tb.wantAX("the menu", `document.getElementById("captions-menu")`, "menu", "Captions")
			tb.key(kb.ArrowDown)
			tb.wantAX("↓ in the menu", "document.activeElement", "menuitemradio", "Français", "checked=false")
			tb.key(kb.Enter)
			tb.waitFor("the menu closed, French chosen", `document.getElementById("captions-menu").hidden &&
				document.getElementById("captions-status").textContent === "Captions on: Français"`, stepTimeout)
			tb.wantAX("the focus after choosing", "document.activeElement", "button", "CC captions: Français (c)", "expanded=false", "focused=true")

			tb.key(kb.Enter)
			tb.waitFor("the captions menu again", `!document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.wantAX("the menu's first focus", "document.activeElement", "menuitemradio", "Français", "checked=true")
			tb.key(kb.Escape)
			tb.waitFor("Escape to close the menu", `document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.wantAX("the focus after Escape", "document.activeElement", "button", "CC captions: Français (c)", "expanded=false", "focused=true")

			tb.key(kb.Enter)
			tb.waitFor("the captions menu again", `!document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.key(kb.Tab)
			tb.waitFor("Tab to close the menu", `document.getElementById("captions-menu").hidden`, stepTimeout)
			tb.wantAX("the focus after Tab out of the menu", "document.activeElement", "button", "Keyboard shortcuts (?)", "focused=true")
			if p := eval[string](tb, focusProblem); p != "" {
				t.Errorf("after Tab out of the menu: %s", p)
			}
		}},
		{"ChapterMenuByKeyboard", func(t *testing.T) {
			tb.use(t)
			tb.tabTo("chapters-btn", true, 8)
			tb.wantAX("the chapters button", "document.activeElement", "button", "Chapters", "expanded=false", "hasPopup=menu")
			tb.key(kb.Enter)
			tb.waitFor("the chapter menu", `!document.getElementById("chapters-menu").hidden`, stepTimeout)
			tb.wantAX("the menu's first focus", "document.activeElement", "menuitemradio", "Welcome 0:00", "checked=true")
			tb.key(kb.End)
			tb.wantAX("End in the menu", "document.activeElement", "menuitemradio", "Summary 0:14", "checked=false")
			tb.key(kb.Enter)
			tb.waitFor("the Summary chapter, announced", video(`Math.abs(v.currentTime - 14) < 0.6`)+` && document.getElementById("chapters-menu").hidden &&
				document.getElementById("chapter-status").textContent === "Chapter 3 of 3: Summary"`, stepTimeout)
			tb.wantAX("the focus after choosing", "document.activeElement", "button", "Chapters", "expanded=false", "focused=true")
			tb.key("k")
			tb.waitFor("k to pause", video(`v.paused`), stepTimeout)
			// ↓ on the button opens the menu on its first item.
			tb.key(kb.ArrowDown)
			tb.waitFor("the chapter menu", `!document.getElementById("chapters-menu").hidden`, stepTimeout)
			tb.wantAX("↓ on the chapters button", "document.activeElement", "menuitemradio", "Welcome 0:00", "checked=false")
			tb.wantAX("the current chapter", `document.querySelector('#chapters-menu button[data-index="2"]')`, "menuitemradio", "Summary 0:14", "checked=true")
			tb.key(kb.Escape)
			tb.waitFor("the menu closed", `document.getElementById("chapters-menu").hidden`, stepTimeout)
			tb.wantAX("the focus after Escape", "document.activeElement", "button", "Chapters", "focused=true")
		}},
		{"HelpDialogGivesTheFocusBack", func(t *testing.T) {
			tb.use(t)
			tb.key("?")
			tb.waitFor("the help dialog", `document.getElementById("help-dialog").open && document.getElementById("help-dialog").contains(document.activeElement)`, stepTimeout)
			tb.wantAX("the help dialog", `document.getElementById("help-dialog")`, "dialog", "Keyboard shortcuts", "modal=true")
			tb.key(kb.Escape)
			tb.waitFor("the dialog closed", `!document.getElementById("help-dialog").open`, stepTimeout)
			tb.wantAX("the focus after the dialog", "document.activeElement", "button", "Chapters", "focused=true")
		}},
		{"TabLeavesThePlayer", func(t *testing.T) {
			tb.use(t)
			stops := tb.tabTo("ask-btn", false, 40)
			i := strings.Index(strings.Join(stops, " "), "fullscreen")
			if i < 0 {
				t.Errorf("Tab from the chapters button to the conversation: %v, want it through fullscreen", stops)
			}
			tb.wantAX("the ask button", "document.activeElement", "button", "Ask a question here", "focused=true")
		}},
		{"AskAQuestionByKeyboard", func(t *testing.T) {
			tb.use(t)
			tb.key(kb.Enter)
			tb.waitFor("the question form", `!document.getElementById("conv-form").hidden`, stepTimeout)
			tb.wantAX("the focus in the form", "document.activeElement", "textbox", "Your question", "focused=true")
			tb.do(chromedp.KeyEvent("Never mind"))
			tb.key(kb.Escape)
			tb.waitFor("Escape to leave the form", `document.getElementById("conv-form").hidden`, stepTimeout)
			tb.wantAX("the focus after Escape", "document.activeElement", "button", "Ask a question here", "focused=true")
			tb.key(kb.Enter)
			tb.waitFor("the question form again", `!document.getElementById("conv-form").hidden && document.getElementById("conv-body").value === ""`, stepTimeout)
			question = "Is the glide in 'yes' a vowel?"
			tb.do(chromedp.KeyEvent(question))
			tb.tabTo("conv-submit", false, 3)
			tb.wantAX("the submit button", "document.activeElement", "button", "Post question")
			tb.key(kb.Enter)
			tb.waitFor("the question in the panel", `[...document.querySelectorAll(".entry-body")].some(e => e.textContent === `+jsString(question)+`)`, stepTimeout)
			tb.waitFor("the focus back on the ask button", `document.activeElement === document.getElementById("ask-btn")`, stepTimeout)
			if got := status("conv-announce"); got != "" {
				t.Errorf("the student's own question was announced: %q", got)
			}
		}},
		{"AnswersArrivingLiveAreAnnounced", func(t *testing.T) {
			tb.use(t)
			tb.wantAX("the conversation's live region", `document.getElementById("conv-announce")`, "status", "", "live=polite")
			var page struct {
				Comments []struct {
					ID   string `json:"id"`
					Body string `json:"body"`
					AtMS int64  `json:"at_ms"`
				} `json:"comments"`
			}
			base := w.l.URL + "/api/v1/lessons/" + w.lesson + "/comments"
			apiCall(t, w.teacherAPI, "GET", base+"?kind=question", nil, &page, http.StatusOK)
			var id string
			var at int64
			for _, c := range page.Comments {
				if c.Body == question {
					id, at = c.ID, c.AtMS
				}
			}
			if id == "" {
				t.Fatalf("the question %q is not in the API's list", question)
			}
			const answer = "No: it is a consonant, a glide."
			apiCall(t, w.teacherAPI, "POST", base, map[string]any{"parent_id": id, "body": answer}, nil, http.StatusCreated)
			tb.waitFor("the answer announced", fmt.Sprintf(`document.getElementById("conv-announce").textContent === %s`,
				jsString(fmt.Sprintf("New answer from Ada Lovelace to your question at %s: %s", clock(at), answer))), stepTimeout)
			apiCall(t, w.teacherAPI, "POST", base, map[string]any{"at_ms": 3000, "body": "Listen for the vowel here.", "kind": "comment", "visibility": "class"}, nil, http.StatusCreated)
			tb.waitFor("the comment announced", `document.getElementById("conv-announce").textContent === "New comment from Ada Lovelace at 0:03: Listen for the vowel here."`, stepTimeout)
			tb.wantAX("the focus, kept where it was", "document.activeElement", "button", "Ask a question here", "focused=true")
		}},
		{"ArrowsOnTheSideTabsDoNotSeek", func(t *testing.T) {
			tb.use(t)
			tb.tabTo("tab-conversation", true, 4)
			before := eval[float64](tb, video(`v.currentTime`))
			tb.key(kb.ArrowRight)
			tb.wantAX("→ on the tabs", "document.activeElement", "tab", "Transcript", "selected=true", "focused=true")
			tb.key(kb.ArrowLeft)
			tb.wantAX("← on the tabs", "document.activeElement", "tab", "Conversation", "selected=true")
			if after := eval[float64](tb, video(`v.currentTime`)); math.Abs(after-before) > 0.1 {
				t.Errorf("arrows on the side tabs moved the video from %.1f s to %.1f s", before, after)
			}
		}},
		{"ResumePromptTakesTheFocusAndGivesItBack", func(t *testing.T) {
			tb.use(t)
			w.l.beat(t, w.studentAPI, w.lesson, "keyboard-2", 1, 0, 12)
			tb.open(watch)
			tb.waitFor("the resume prompt with the focus", `!document.getElementById("resume-prompt").hidden &&
				document.activeElement === document.getElementById("resume-yes")`, time.Minute)
			tb.wantAX("the resume prompt", `document.getElementById("resume-prompt")`, "dialog", "Resume where you left off, at 0:1…")
			tb.wantAX("its first button", "document.activeElement", "button", "Resume", "focused=true")
			tb.key(kb.Escape)
			tb.waitFor("the prompt gone", `document.getElementById("resume-prompt").hidden`, stepTimeout)
			tb.wantAX("the focus after Escape", "document.activeElement", "button", "Play (k)", "focused=true")
			if p := eval[string](tb, focusProblem); p != "" {
				t.Errorf("after the resume prompt: %s", p)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}
