package transcode

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// newPipeline returns a Pipeline on the machine's ffmpeg, skipping (or,
// with LECTERN_TEST_REQUIRE_SERVICES=1, failing) when there is none.
func newPipeline(tb testing.TB) *Pipeline {
	tb.Helper()
	ffmpegPath, ffprobePath := testenv.FFmpeg(tb)
	return &Pipeline{FFmpeg: ffmpegPath, FFprobe: ffprobePath}
}

// makeClip runs ffmpeg with args to write a fixture named name in a fresh
// temporary directory and returns its path. Fixtures may use fast presets;
// the product's arguments may not.
func makeClip(tb testing.TB, p *Pipeline, name string, args ...string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), name)
	full := append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)
	full = append(full, "-y", out)
	if b, err := exec.Command(p.ffmpeg(), full...).CombinedOutput(); err != nil {
		tb.Fatalf("make fixture %s: %v\n%s", name, err, b)
	}
	return out
}

// avClip is a w×h testsrc2 picture with a sine tone, in MP4.
func avClip(tb testing.TB, p *Pipeline, size, seconds string) string {
	tb.Helper()
	return makeClip(tb, p, "av.mp4",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30:duration="+seconds,
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+seconds,
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")
}

// silentClip is a 320×240, 25 fps testsrc2 picture without audio, in Matroska.
func silentClip(tb testing.TB, p *Pipeline, seconds string) string {
	tb.Helper()
	return makeClip(tb, p, "silent.mkv",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration="+seconds,
		"-c:v", "libx264", "-preset", "ultrafast")
}

// podcastClip is an MP3 with cover art: audio only, as far as a lesson goes.
func podcastClip(tb testing.TB, p *Pipeline) string {
	tb.Helper()
	return makeClip(tb, p, "lecture.mp3",
		"-f", "lavfi", "-i", "sine=frequency=330:duration=3",
		"-f", "lavfi", "-i", "color=c=red:s=64x64:d=0.04",
		"-map", "0:a", "-map", "1:v", "-c:v", "mjpeg", "-disposition:v", "attached_pic", "-c:a", "libmp3lame")
}

// mustProbe probes path and fails the test on error.
func mustProbe(tb testing.TB, p *Pipeline, path string) *Source {
	tb.Helper()
	src, err := p.Probe(context.Background(), path)
	if err != nil {
		tb.Fatalf("Probe(%s): %v", filepath.Base(path), err)
	}
	return src
}

// ffprobeJSON runs ffprobe (outside the pipeline, on trusted test output)
// and decodes its JSON into v.
func ffprobeJSON(tb testing.TB, p *Pipeline, v any, args ...string) {
	tb.Helper()
	full := append([]string{"-v", "error", "-of", "json"}, args...)
	b, err := exec.Command(p.ffprobe(), full...).Output()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v", strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode ffprobe output: %v", err)
	}
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s differs from the golden file (-want +got; run with -update if intended):\n%s", name, diff)
	}
}
