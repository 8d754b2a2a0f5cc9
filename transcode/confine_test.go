package transcode

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// Where util-linux's prlimit is missing, the limits are set on the
// process just after it starts.
func TestResourceLimitsWithoutPrlimit(t *testing.T) {
	if !rlimitsSupported {
		t.Skip("resource limits are set on Linux only")
	}
	t.Setenv("PATH", t.TempDir())
	p := &Pipeline{}
	var pid atomic.Int64
	stop := testenv.WatchProcesses(time.Millisecond, func(p int, cmdline []byte) {
		if string(cmdline) == "/bin/sleep\x001.5\x00" {
			pid.Store(int64(p))
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := p.run(context.Background(), command{op: "sleep", bin: "/bin/sleep", args: []string{"1.5"}})
		done <- err
	}()
	time.Sleep(time.Second)
	stop()
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid.Load()))
	if err != nil {
		t.Fatalf("the process was not seen running: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Max address space         %-20d %-20d bytes", DefaultResources().FFmpegMemory, DefaultResources().FFmpegMemory)
	if !strings.Contains(string(limits), want) || !strings.Contains(string(limits), "Max open files            256") {
		t.Errorf("limits of the running process:\n%s\nwant the address space and open files set", limits)
	}
}
