package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestAcceptance17_ConcurrentViewers is the short variant of RELIABILITY 17
// that CI runs: 100 viewers join a real "lectern serve" over 2 s and watch
// a transcoded one-minute lesson as hls.js does for 15 s. No viewer's
// request fails, no playhead waits more than 2 s for data once playing,
// segments answer within 1 s at the 99th percentile, the server's heap is
// flat while everyone watches, and its goroutines return to where they were
// once the viewers leave. bench/viewers runs the long version (500 viewers,
// 30 minutes); bench/README.md has the figures.
func TestAcceptance17_ConcurrentViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lectern serve for a load run; not in -short")
	}
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	cfg := config{viewers: 100, duration: 15 * time.Second, ramp: 2 * time.Second, settle: 2 * time.Second,
		clipSeconds: 60, size: "320x180", fps: 15, ffmpeg: ffmpeg, ffprobe: ffprobe}
	var logw bytes.Buffer
	s, err := run(context.Background(), cfg, &logw)
	if err != nil {
		t.Fatalf("%v\n%s", err, logw.String())
	}
	var out bytes.Buffer
	s.Print(&out)
	t.Logf("measured:\n%s", out.String())
	if len(s.Failures) > 0 {
		t.Errorf("%d viewers failed; the first: %v", len(s.Failures), s.Failures[0])
	}
	if s.SegmentRequests < cfg.viewers*4 {
		t.Errorf("%d segment requests for %d viewers: the viewers did not watch", s.SegmentRequests, cfg.viewers)
	}
	if s.StallMax > 2*time.Second {
		t.Errorf("a viewer's playhead waited %v for data (of %d stalls); want none over 2 s", s.StallMax, s.Stalls)
	}
	if s.SegmentP99 >= time.Second {
		t.Errorf("segment p99 = %v, want under 1 s", s.SegmentP99)
	}
	if !s.Server.HeapFlat() {
		t.Errorf("server heap grew while everyone watched: %.1f MiB early, %.1f MiB late", s.Server.EarlyHeap/(1<<20), s.Server.LateHeap/(1<<20))
	}
	if s.Server.AfterGoroutines > s.Server.BaselineGoroutines+20 {
		t.Errorf("server goroutines: %.0f idle before, %.0f after the viewers left", s.Server.BaselineGoroutines, s.Server.AfterGoroutines)
	}
}
