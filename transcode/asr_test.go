package transcode_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/transcode"
)

// recognizerScript writes an executable sh script and returns its path.
func recognizerScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recognizer.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nset -eu\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// recognizeEnv is a handler environment whose transcodes start automatic
// captions in English, and a captions handler running the recognizer
// command.
func recognizeEnv(t *testing.T, e *handlerEnv, command string) *transcode.RecognizeHandler {
	t.Helper()
	rec, err := transcode.ParseRecognizer(command, "en", "English (automatic)")
	if err != nil {
		t.Fatalf("ParseRecognizer(%q): %v", command, err)
	}
	e.Handler.ASRLang = "en"
	return &transcode.RecognizeHandler{DB: e.DB, Storage: e.Store, Pipeline: e.Handler.Pipeline,
		Recognizer: rec, TempDir: e.WorkDir}
}

// publish uploads and transcodes path as a new recording of l.
func (e *handlerEnv) publish(t *testing.T, l *lectern.Lesson, path string) *lectern.Job {
	t.Helper()
	job := e.upload(t, l, path)
	if err := e.run(t, job); err != nil {
		t.Fatalf("transcode: %v", err)
	}
	return job
}

// recognize runs the captions task of attempt as the worker would, up to
// tries times while it asks to be retried, and returns the last error.
func recognize(t *testing.T, h *transcode.RecognizeHandler, lessonID string, attempt, tries int) error {
	t.Helper()
	p := transcode.RecognizePayload{LessonID: lessonID, Attempt: attempt}
	var err error
	for range tries {
		err = h.ProcessRecognize(context.Background(), p, transcode.Delivery{})
		if err == nil || errors.Is(err, transcode.ErrSkipRetry) {
			return err
		}
	}
	return err
}

func asrJob(t *testing.T, d *db.DB, lessonID string) *lectern.ASRJob {
	t.Helper()
	j, err := d.FindASRJob(context.Background(), lessonID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestRecognizeSavesDraft runs a recognizer command on a published
// lesson: what it writes becomes a draft track labelled as automatic, the
// recognizer reads a 16 kHz mono WAV and sees none of the worker's
// LECTERN_* variables, and the lesson is not touched. A track a person
// made is never replaced, and a lesson published without speech
// recognition configured has no automatic captions.
func TestRecognizeSavesDraft(t *testing.T) {
	t.Setenv("LECTERN_SECRET", "canary-secret-0123456789abcdef0123456789")
	c := makeClips(t)
	script := recognizerScript(t, `
rate=$(od -A n -t u4 -j 24 -N 4 "$1" | tr -d ' ')
channels=$(od -A n -t u2 -j 22 -N 2 "$1" | tr -d ' ')
secret=none
env | grep -q LECTERN_ && secret=leaked
printf 'WEBVTT\n\n00:00:00.200 --> 00:00:01.500\n<b>rate %s channels %s lang %s</b>\n\n00:00:01.500 --> 00:00:09.000\nsecret %s\n' "$rate" "$channels" "$3" "$secret" > "$2"`)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		ctx := context.Background()
		h := recognizeEnv(t, e, script+" {audio} {output} {lang}")
		l := e.newLesson(t)
		e.publish(t, l, c.good)
		before := e.lesson(t, l.ID)
		if j := asrJob(t, e.DB, l.ID); j.State != lectern.ASRQueued || j.Lang != "en" || j.Attempt != 1 {
			t.Fatalf("after publishing: automatic captions %+v, want queued in en for attempt 1", j)
		}
		if err := recognize(t, h, l.ID, 1, 1); err != nil {
			t.Fatalf("recognize: %v", err)
		}
		j := asrJob(t, e.DB, l.ID)
		if j.State != lectern.ASRDone || j.Tries != 1 || j.Error != "" || j.Cues != 2 {
			t.Errorf("job: %+v; want done after 1 try with 2 cues", j)
		}
		tr, err := e.DB.FindCaptionTrack(ctx, l.ID, "en")
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != lectern.CaptionDraft || tr.Label != "English (automatic)" || tr.Default || tr.Cues != 2 {
			t.Errorf("track: %+v; want a non-default draft labelled English (automatic) with 2 cues", tr)
		}
		cues, err := e.DB.FindCaptionCues(ctx, l.ID, "en")
		if err != nil {
			t.Fatal(err)
		}
		// The clip is 2 s long: the second cue is cut at its end.
		if len(cues) != 2 || cues[0].Text != "rate 16000 channels 1 lang en" || cues[1].Text != "secret none" || cues[1].EndMS > 2100 {
			t.Errorf("cues = %+v; want the recognizer's, from a 16 kHz mono WAV, without LECTERN_* in its environment, cut at 2 s", cues)
		}
		if published, _ := e.DB.FindCaptionTracks(ctx, l.ID, false); len(published) != 0 {
			t.Errorf("students see %d tracks, want none", len(published))
		}
		after := e.lesson(t, l.ID)
		if after.Status != lectern.LessonReady || after.UpdatedAt != before.UpdatedAt {
			t.Errorf("lesson changed by automatic captions: %+v", after)
		}
		e.checkWorkDirEmpty(t)

		t.Run("NewRecordingReplacesTheDraft", func(t *testing.T) {
			e.publish(t, l, c.good)
			if err := recognize(t, h, l.ID, 2, 1); err != nil {
				t.Fatalf("recognize: %v", err)
			}
			tr, err := e.DB.FindCaptionTrack(ctx, l.ID, "en")
			if err != nil || tr.Version != 2 || tr.Status != lectern.CaptionDraft {
				t.Errorf("track after a new recording: %+v, %v; want version 2, a draft", tr, err)
			}
		})
		t.Run("PersonsTrackIsKept", func(t *testing.T) {
			label := "English"
			edited, _, err := e.DB.SaveCaptions(ctx, db.CaptionSave{LessonID: l.ID, Lang: "en", ObjectKey: tr.ObjectKey,
				Cues: cues[:1], Source: lectern.CaptionFromEditor, Label: &label})
			if err != nil {
				t.Fatal(err)
			}
			e.publish(t, l, c.good)
			if err := recognize(t, h, l.ID, 3, 1); err != nil {
				t.Fatalf("recognize: %v", err)
			}
			j := asrJob(t, e.DB, l.ID)
			if j.State != lectern.ASRSkipped || !strings.Contains(j.Error, "made or published by a person") {
				t.Errorf("job: %+v; want skipped because a person's track exists", j)
			}
			now, err := e.DB.FindCaptionTrack(ctx, l.ID, "en")
			if err != nil || now.Version != edited.Version || now.Label != "English" {
				t.Errorf("the person's track changed: %+v, %v", now, err)
			}
		})
		t.Run("Unconfigured", func(t *testing.T) {
			e.Handler.ASRLang = ""
			l := e.newLesson(t)
			e.publish(t, l, c.good)
			if _, err := e.DB.FindASRJob(ctx, l.ID); lectern.ErrorCode(err) != lectern.ENOTFOUND {
				t.Errorf("automatic captions of a lesson published without a recognizer: %v, want none", err)
			}
		})
	})
}

// TestRecognizeFailures: a recognizer that fails, or writes what is not
// captions, is tried three times, then the job fails with a reason a
// teacher can read; the lesson stays ready and has no track.
func TestRecognizeFailures(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	for _, tc := range []struct {
		name, body, reason string
	}{
		{"ExitStatus", `echo "model file not found: /models/base.bin" >&2; exit 1`,
			"Automatic captions failed after 3 tries: The speech recognizer failed (exit status 1): model file not found: /models/base.bin."},
		{"Garbage", `printf 'hello there\nthis is not a caption file\n' > "$2"`,
			"Automatic captions failed after 3 tries: The recognizer's output is not WebVTT or SubRip"},
		{"NoOutput", `exit 0`,
			"Automatic captions failed after 3 tries: The recognizer wrote no captions file at {output}."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
			h := recognizeEnv(t, e, recognizerScript(t, tc.body)+" {audio} {output}")
			l := e.newLesson(t)
			e.publish(t, l, c.good)
			err := recognize(t, h, l.ID, 1, 5)
			if !errors.Is(err, transcode.ErrSkipRetry) {
				t.Errorf("last try: %v, want ErrSkipRetry", err)
			}
			j := asrJob(t, e.DB, l.ID)
			if j.State != lectern.ASRFailed || j.Tries != 3 || !strings.HasPrefix(j.Error, tc.reason) {
				t.Errorf("job: state %s, tries %d, error %q; want failed after 3 tries with %q", j.State, j.Tries, j.Error, tc.reason)
			}
			if l := e.lesson(t, l.ID); l.Status != lectern.LessonReady || l.Error != "" {
				t.Errorf("lesson: status %s, error %q; want ready", l.Status, l.Error)
			}
			if tracks, _ := e.DB.FindCaptionTracks(context.Background(), l.ID, true); len(tracks) != 0 {
				t.Errorf("tracks = %d, want none", len(tracks))
			}
			e.checkWorkDirEmpty(t)
		})
	}
}

func TestParseRecognizer(t *testing.T) {
	t.Parallel()
	sh := "/bin/sh"
	for _, tc := range []struct{ command, err string }{
		{sh + " -c 'x' {audio} {output}", ""},
		{"", "the command is empty"},
		{sh + " {audio}", "the command must contain {output}"},
		{sh + " {audio} {output} {model}", "unknown placeholder {model}"},
		{"/nonexistent/whisper {audio} {output}", "program /nonexistent/whisper not found"},
		{sh + " '{audio} {output}", "unclosed ' quote"},
	} {
		r, err := transcode.ParseRecognizer(tc.command, "en", "English (automatic)")
		if err == nil {
			err = r.Check()
		}
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseRecognizer(%q) = %v, want %q", tc.command, err, tc.err)
		}
	}
}
