package transcode_test

import (
	"bufio"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// TestChunkedAVSync30Minutes: at the end of a 30-minute lesson encoded in
// 33 chunks, audio and video are still within 40 ms of each other. The
// recording flashes white and beeps together every 10 s (a tiny, 5 fps
// picture keeps it cheap); the stitched output is read through its master
// playlist, as a player does, and the offset between flash and beep at
// the end is compared with the one at the start.
func TestChunkedAVSync30Minutes(t *testing.T) {
	const seconds = 1800
	ffmpeg, _ := testenv.FFmpeg(t)
	src := filepath.Join(t.TempDir(), "sync.mp4")
	d := strconv.Itoa(seconds)
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "color=c=black:size=160x90:rate=5:duration="+d+",drawbox=color=white:t=fill:enable='lt(mod(t,10),0.1)'",
		"-f", "lavfi", "-i", "aevalsrc='0.8*sin(2*PI*1000*t)*lt(mod(t,10),0.1)':s=48000:d="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", src).CombinedOutput()
	if err != nil {
		t.Fatalf("make fixture: %v\n%s", err, b)
	}
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	tasks := &taskList{}
	e.Handler.ChunkSeconds, e.Handler.Chunks = 60, tasks
	l := e.newLesson(t)
	if err := e.run(t, e.upload(t, l, src)); err != nil {
		t.Fatal(err)
	}
	// Audio, an 8 s opening chunk, chunks of 8, 16 and 32 s (each at most
	// as long as all before it), then 28 of 60 s and one of 56 s.
	if len(tasks.tasks) != 34 {
		t.Fatalf("%d pieces, want 34 (audio and 33 chunks)", len(tasks.tasks))
	}
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		if err := processChunk(context.Background(), e, task); err != nil {
			t.Fatal(err)
		}
	}
	got := e.lesson(t, l.ID)
	if got.Status != lectern.LessonReady {
		t.Fatalf("lesson %s, want ready", got.Status)
	}
	out := e.copyOut(t, got.OutputPrefix)
	vtxt, atxt := filepath.Join(out, "v.txt"), filepath.Join(out, "a.txt")
	b, err = exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", filepath.Join(out, "master.m3u8"),
		"-filter_complex", "[0:v:0]signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file="+vtxt+"[v];"+
			"[0:a:0]silencedetect=n=-30dB:d=0.02,ametadata=mode=print:key=lavfi.silence_end:file="+atxt+"[a]",
		"-map", "[v]", "-map", "[a]", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, b)
	}
	isFlash := func(v float64) bool { return v > 128 }
	// The beep at 0:00 has no silence before it: pair marks from 0:10 on.
	flashes := slices.DeleteFunc(events(t, vtxt, "lavfi.signalstats.YAVG", isFlash), func(at float64) bool { return at < 5 })
	beeps := events(t, atxt, "lavfi.silence_end", func(float64) bool { return true })
	if len(flashes) < seconds/10-1 || len(beeps) < seconds/10-1 {
		t.Fatalf("%d flashes and %d beeps found, want one every 10 s", len(flashes), len(beeps))
	}
	// ffmpeg's HLS reader leaves the video late by its B-frame delay (two
	// frames: 0.4 s at 5 fps), in a single run's output as in a chunked
	// one: drift is the change of the offset from the first mark to the
	// last.
	first, last := flashes[0]-beeps[0], flashes[len(flashes)-1]-beeps[len(beeps)-1]
	t.Logf("video minus audio: %.3f s at %.0f s, %.3f s at %.0f s", first, beeps[0], last, beeps[len(beeps)-1])
	if beeps[len(beeps)-1] < seconds-20 || math.Abs(last-first) > 0.040 {
		t.Errorf("audio and video drifted by %.3f s over the lesson, want within 40 ms", last-first)
	}
}

// events returns the times of the frames whose metadata key satisfies
// ok, from a metadata filter's file; silencedetect's silence_end carries
// the time itself.
func events(t *testing.T, path, key string, ok func(float64) bool) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	pts := 0.0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "pts_time:"); i >= 0 {
			pts, _ = strconv.ParseFloat(strings.Fields(line[i+len("pts_time:"):])[0], 64)
		}
		if v, found := strings.CutPrefix(line, key+"="); found {
			if x, err := strconv.ParseFloat(v, 64); err == nil && ok(x) {
				if key == "lavfi.silence_end" {
					pts = x
				}
				out = append(out, pts)
			}
		}
	}
	return out
}
