package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// publishTranscoded encodes a generated 6 s clip with the transcoder's
// own pipeline (probe, ladder, encode), stores the output as attempt 1 of
// the lesson and publishes it: real ffmpeg output, as a worker leaves it.
func publishTranscoded(t *testing.T, fx *fixture, lessonID string) {
	t.Helper()
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	gen := exec.Command(ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate clip: %v\n%s", err, out)
	}
	ctx := context.Background()
	p := &transcode.Pipeline{FFmpeg: ffmpeg, FFprobe: ffprobe}
	src, err := p.Probe(ctx, clip)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := p.Encode(ctx, src, clip, outDir, transcode.PlanLadder(src), nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	prefix := lectern.OutputPrefix(lessonID, 1)
	err = filepath.WalkDir(outDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(outDir, path)
		_, err = fx.Store.Put(ctx, prefix+filepath.ToSlash(rel), f)
		return err
	})
	if err != nil {
		t.Fatalf("store output: %v", err)
	}
	ready, dur := lectern.LessonReady, out.DurationMS
	if _, err := fx.DB.UpdateLesson(ctx, lessonID, lectern.LessonUpdate{Status: &ready, DurationMS: &dur, OutputPrefix: &prefix}); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// TestCaptionsWithFFmpeg plays a real transcoded lesson with captions
// through ffmpeg and ffprobe over HTTP, as a player outside the browser
// would: the whole stream (subtitles included) decodes without an error,
// ffprobe sees a WebVTT subtitle stream in the track's language, and the
// cue read back through HLS has its text and time.
func TestCaptionsWithFFmpeg(t *testing.T) {
	t.Parallel()
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	m := newMediaClass(t, fx)
	id := m.newLesson(t, "Transcoded")
	publishTranscoded(t, fx, id)
	uploadCaptions(t, m.teacher, id, "fr", "?default=true",
		"WEBVTT\n\n00:00:02.000 --> 00:00:04.500\nBonjour à tous\n")
	base, _ := playbackCaptions(t, m.student, id)
	master := m.ts.URL + base + "master.m3u8"

	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}

	// ffmpeg before 8.0 skips an HLS subtitles group unless told
	// -strict experimental (its hls demuxer: "Can't support the
	// subtitle"), and the null muxer needs a subtitle encoder named.
	t.Run("FFmpegDecodesEverything", func(t *testing.T) {
		for _, args := range [][]string{
			{"-v", "error", "-i", master, "-map", "0", "-f", "null", "-"},
			{"-v", "error", "-strict", "experimental", "-i", master, "-map", "0", "-c:s", "webvtt", "-f", "null", "-"},
		} {
			out, err := exec.Command(ffmpeg, args...).CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("ffmpeg %s: err %v, output:\n%s", strings.Join(args, " "), err, out)
			}
		}
	})

	t.Run("FFprobeSeesTheSubtitles", func(t *testing.T) {
		var probe struct {
			Streams []struct {
				CodecType string            `json:"codec_type"`
				CodecName string            `json:"codec_name"`
				Tags      map[string]string `json:"tags"`
			} `json:"streams"`
		}
		out := run(ffprobe, "-v", "error", "-strict", "experimental", "-show_streams", "-of", "json", master)
		if err := json.Unmarshal([]byte(out), &probe); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		found := false
		for _, s := range probe.Streams {
			kinds[s.CodecType]++
			if s.CodecType == "subtitle" && s.CodecName == "webvtt" && s.Tags["language"] == "fr" {
				found = true
			}
		}
		if !found || kinds["video"] == 0 || kinds["audio"] == 0 {
			t.Errorf("ffprobe streams %v: want video, audio and a French WebVTT subtitle stream\n%s", kinds, out)
		}
	})

	t.Run("TheCueComesBackAtItsTime", func(t *testing.T) {
		out := run(ffmpeg, "-v", "error", "-strict", "experimental", "-i", master, "-map", "0:s:0", "-f", "webvtt", "-")
		if !strings.Contains(out, "00:02.000 --> 00:04.500\nBonjour à tous") {
			t.Errorf("subtitles read through HLS:\n%s\nwant the cue at 00:02.000 --> 00:04.500", out)
		}
	})

	// A link handed out earlier sees a new track without a new transcode.
	t.Run("NewTrackOnTheSameLink", func(t *testing.T) {
		uploadCaptions(t, m.teacher, id, "en", "", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n")
		out := run(ffprobe, "-v", "error", "-strict", "experimental", "-select_streams", "s", "-show_entries", "stream_tags=language", "-of", "csv=p=0", master)
		if langs := strings.Fields(out); len(langs) != 2 {
			t.Errorf("subtitle languages after adding a track: %q, want two", out)
		}
	})
}
