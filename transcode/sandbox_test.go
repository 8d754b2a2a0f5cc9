package transcode

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
)

// Where bwrap is missing, "auto" runs ffmpeg without a sandbox after a
// warning that says why, "bwrap" refuses to, and "off" does not look.
func TestDetectSandbox(t *testing.T) {
	ffmpeg, _ := testenv.FFmpeg(t)
	ctx := context.Background()
	t.Run("Installed", func(t *testing.T) {
		testenv.Bwrap(t)
		sb, err := DetectSandbox(ctx, SandboxAuto, ffmpeg, slog.New(slog.DiscardHandler))
		if err != nil || sb == nil {
			t.Errorf("DetectSandbox(auto) = %v, %v; want a sandbox", sb, err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		var log strings.Builder
		sb, err := DetectSandbox(ctx, SandboxAuto, ffmpeg, slog.New(slog.NewTextHandler(&log, nil)))
		if sb != nil || err != nil || !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "apt-get install bubblewrap") {
			t.Errorf("DetectSandbox(auto) = %v, %v, logged %q; want none, with a warning saying how to install it", sb, err, log.String())
		}
		if sb, err := DetectSandbox(ctx, SandboxRequired, ffmpeg, slog.New(slog.DiscardHandler)); sb != nil || err == nil || !strings.Contains(err.Error(), "bwrap is not installed") {
			t.Errorf("DetectSandbox(bwrap) = %v, %v; want an error saying bwrap is not installed", sb, err)
		}
		if sb, err := DetectSandbox(ctx, SandboxOff, ffmpeg, slog.New(slog.DiscardHandler)); sb != nil || err != nil {
			t.Errorf("DetectSandbox(off) = %v, %v; want none", sb, err)
		}
	})
}
