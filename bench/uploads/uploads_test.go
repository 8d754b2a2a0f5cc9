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

// TestAcceptance19_ConcurrentUploads is the short variant of RELIABILITY 19
// that CI runs: 20 teachers PUT a 32 MiB recording each to a real
// "lectern serve" at the same moment, with transcodes limited to 2. Every
// upload is accepted; the server's heap in use grows by less than one
// upload carries (32 MiB, a twentieth of the 640 MiB that buffering would
// show; the reading includes garbage not yet collected and 20 uploads'
// copy buffers, so a tighter bound only measures the collector's timing);
// once the last upload is answered, every lesson's job is listed to admins
// as queued, running or done; no reading ever sees more than 2 transcodes
// running, by the jobs API or by ffmpeg processes; every lesson ends
// ready. bench/uploads runs the full size (1 GiB each); bench/README.md has
// the figures.
func TestAcceptance19_ConcurrentUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lectern serve for a load run; not in -short")
	}
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	cfg := config{teachers: 20, size: 32 << 20, limit: 2, every: 100 * time.Millisecond, settle: 2 * time.Second,
		wait: 10 * time.Minute, ffmpeg: ffmpeg, ffprobe: ffprobe}
	var logw bytes.Buffer
	s, err := run(context.Background(), cfg, &logw)
	if err != nil {
		t.Fatalf("%v\n%s", err, logw.String())
	}
	var out bytes.Buffer
	s.Print(&out)
	t.Logf("measured:\n%s", out.String())
	for _, err := range s.Failures {
		t.Errorf("failure: %v", err)
	}
	idleHeap, peakHeap, _, _ := s.Memory()
	if growth := peakHeap - idleHeap; idleHeap == 0 || growth > float64(cfg.size) {
		t.Errorf("server heap grew by %.1f MiB while %d × %d MiB streamed in (idle %.1f MiB): uploads are not streamed",
			growth/(1<<20), cfg.teachers, cfg.size>>20, idleHeap/(1<<20))
	}
	visible := 0
	for state, n := range s.JobsAtUploadEnd {
		switch state {
		case "queued", "running", "succeeded":
			visible += n
		default:
			t.Errorf("%d jobs %s when the uploads were answered; want queued, running or succeeded", n, state)
		}
	}
	if visible != cfg.teachers {
		t.Errorf("%d of %d jobs listed to admins when the uploads were answered: %v", visible, cfg.teachers, s.JobsAtUploadEnd)
	}
	jobs, procs, unread := s.MaxRunning()
	if jobs > cfg.limit || procs > cfg.limit {
		t.Errorf("at most %d jobs running and %d ffmpeg processes seen at once; the limit is %d", jobs, procs, cfg.limit)
	}
	if jobs < 1 || unread > len(s.Samples)/10 {
		t.Errorf("the readings saw no running job (max %d, %d of %d readings failed): they do not observe the worker", jobs, unread, len(s.Samples))
	}
}
