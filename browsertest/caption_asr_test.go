package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gatedRecognizer writes a speech recognizer for LECTERN_ASR_COMMAND that
// waits until the file gate exists, then writes one cue: the test decides
// when recognition ends. It returns the command and the gate, which is
// beside the script: the sandbox the recognizer may run in shows the
// script's directory and not much else.
func gatedRecognizer(t *testing.T) (command, gate string) {
	t.Helper()
	dir := t.TempDir()
	script, gate := filepath.Join(dir, "recognizer.sh"), filepath.Join(dir, "finish")
	body := fmt.Sprintf("#!/bin/sh\nwhile [ ! -e %q ]; do sleep 0.1; done\n"+
		"printf 'WEBVTT\\n\\n00:00:01.000 --> 00:00:02.500\\nHello from the recognizer\\n' > \"$2\"\n", gate)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script + " {audio} {output} {lang}", gate
}

// TestCaptionEditorFollowsAutomaticCaptions: a teacher opens the caption
// editor while automatic captions are still being made; without reloading,
// the page's status line goes from "in progress" to "ready for review" when
// the recognizer finishes, the draft track joins the language list, and the
// page then stops asking the server.
func TestCaptionEditorFollowsAutomaticCaptions(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
	)
	recognizer, gate := gatedRecognizer(t)
	l := startLectern(t, adminEmail, adminPassword, "LECTERN_ASR_COMMAND="+recognizer, "LECTERN_ASR_LANG=en")
	teacherAPI, lesson := l.teacherLesson(t, l.apiLogin(t, adminEmail, adminPassword), teacherEmail, teacherPassword)
	l.uploadAndWait(t, teacherAPI, lesson, makeLongClip(t, 4))

	tb := newTab(t, l.URL, "teacher", artifactsDir(t))
	tb.login(teacherEmail, teacherPassword)
	tb.open("/lessons/" + lesson + "/captions")
	if s := tb.text("#asr-status"); !strings.Contains(s, "in progress") {
		tb.fail("the status line says %q while the recognizer runs", s)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the status line to say the captions are ready, without a reload",
		`document.getElementById("asr-status").dataset.state === "done" &&
		document.getElementById("asr-status").textContent.includes("ready for review")`, time.Minute)
	tb.waitFor("the draft track in the language list",
		`[...document.querySelectorAll("#track-lang option")].some(o => o.value === "en" && o.textContent.includes("draft"))`, stepTimeout)
	tb.shot("captions-asr-ready")

	polls := `performance.getEntriesByType("resource").filter(e => new URL(e.name).pathname.endsWith("/captions")).length`
	before := eval[int](tb, polls)
	time.Sleep(7 * time.Second) // more than two polling periods
	if after := eval[int](tb, polls); after != before {
		tb.fail("the page asked for the caption list %d more times after the captions were ready", after-before)
	}
}
