package transcode_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// pacedAudioFFmpeg returns an ffmpeg that runs audio-only encodes (the
// audio piece) reading its input at speed× real time, as a long lesson's
// audio run would take, and every other run as it is; each run first
// appends its nice value and its arguments to the file runs.
func pacedAudioFFmpeg(t *testing.T, speed, runs string) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	path := filepath.Join(t.TempDir(), "ffmpeg")
	script := "#!/bin/sh\nsleep 0.2\necho \"$(cut -d' ' -f19 /proc/$$/stat) $*\" >> " + runs + "\n" +
		"case \" $* \" in *\" -c:v \"*) exec " + ffmpeg + " \"$@\";; esac\nexec " + ffmpeg + " -readrate " + speed + " \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAudioPublishedAsWritten: the audio piece stores its segments as its
// run writes them, so a lesson plays once its opening chunk and the
// opening seconds of audio are stored, long before the whole lesson's
// audio is encoded; the playable audio playlist already lists every
// segment with the durations the run then writes; and the finished
// output plays without a word from ffmpeg.
func TestAudioPublishedAsWritten(t *testing.T) {
	src := lectureClip(t, 40)
	e, tasks, l, job := chunkedEnv(t, src)
	// The audio run takes about 20 s for these 40 s: the video chunks are
	// done long before.
	runs := filepath.Join(t.TempDir(), "runs")
	e.Handler.Pipeline.FFmpeg = pacedAudioFFmpeg(t, "2", runs)
	// The pieces run at once on this worker, sharing its recording.
	e.Handler.Sources = transcode.NewSourceCache(e.WorkDir)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, len(tasks.tasks))
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		wg.Go(func() { errs <- processChunk(ctx, e, task) })
	}

	var prefix string
	deadline := time.Now().Add(time.Minute)
	for prefix == "" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		prefix = e.lesson(t, l.ID).OutputPrefix
	}
	if prefix == "" {
		t.Fatal("the lesson never became playable")
	}
	_, chunks, err := e.DB.FindPlan(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	audio := chunks[0]
	if audio.Kind != db.ChunkAudio || audio.State != db.ChunkRunning || audio.StoredSegs < 2 || audio.StoredSegs >= 9 {
		t.Fatalf("when the lesson became playable the audio piece was %s with %d segments stored; want running, 2 to 8 of 10 stored",
			audio.State, audio.StoredSegs)
	}
	partial := e.copyOut(t, prefix)
	playable, err := os.ReadFile(filepath.Join(partial, "a", "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(playable), "seg_"); n != 10 {
		t.Errorf("the playable audio playlist lists %d segments, want all 10:\n%s", n, playable)
	}
	if _, err := os.Stat(filepath.Join(partial, "a", "seg_00001.m4s")); err != nil {
		t.Errorf("the opening audio is not stored when the lesson plays: %v", err)
	}
	if _, err := os.Stat(filepath.Join(partial, "a", "seg_00009.m4s")); err == nil {
		t.Error("the last audio segment is stored while its run is still at the start")
	}
	master, err := os.ReadFile(filepath.Join(partial, "master.m3u8"))
	if err != nil || !strings.Contains(string(master), `TYPE=AUDIO`) {
		t.Errorf("the playable master playlist has no audio rendition (%v):\n%s", err, master)
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	out, final := readyAudio(t, e, l.ID)
	// The run's durations are the planned ones (it may add a last segment
	// of a few frames, the encoder's tail).
	extinf := regexp.MustCompile(`#EXTINF:([0-9.]+),`)
	planned, written := extinf.FindAllStringSubmatch(string(playable), -1), extinf.FindAllStringSubmatch(string(final), -1)
	if len(written) < len(planned) || len(written) > len(planned)+1 {
		t.Fatalf("the run wrote %d audio segments, %d were planned:\n%s", len(written), len(planned), final)
	}
	for i := range len(planned) - 1 {
		if planned[i][1] != written[i][1] {
			t.Errorf("audio segment %d: planned %s s, written %s s", i, planned[i][1], written[i][1])
		}
	}
	playsClean(t, out)
	if _, err := os.Stat(filepath.Join(out, "a", "init.mp4")); err != nil {
		t.Errorf("no audio init segment in the output: %v", err)
	}

	// Sharing this machine, the opening chunk ran first in line for the
	// cores, the later chunks after it, the audio last.
	log, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		nice, args, _ := strings.Cut(line, " ")
		want, piece := "4", "a later chunk"
		switch {
		case !strings.Contains(args, " -c:v "):
			want, piece = "10", "the audio"
		case strings.Contains(args, " -start_number 0 "):
			want, piece = "0", "the opening chunk"
		}
		seen[piece] = true
		if nice != want {
			t.Errorf("%s ran at nice %s, want %s", piece, nice, want)
		}
	}
	if len(seen) != 3 {
		t.Errorf("runs seen: %v; want the audio, the opening and later chunks", seen)
	}
}

// TestAudioRunsToTheLessonEnd: a recording whose sound stops 12 s before
// its picture still gets audio segments up to the lesson's end (silence
// past where the sound stopped), so every segment the playable audio
// playlist plans is written: a student who seeks to the end while the
// lesson is processing is held until it is stored, never answered "not
// found".
func TestAudioRunsToTheLessonEnd(t *testing.T) {
	src := lectureClipWithAudio(t, 40, 28)
	e, tasks, l, _ := chunkedEnv(t, src)
	ctx := context.Background()
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		if err := processChunk(ctx, e, task); err != nil {
			t.Fatal(err)
		}
	}
	out, final := readyAudio(t, e, l.ID)
	var total float64
	segs := regexp.MustCompile(`#EXTINF:([0-9.]+),`).FindAllStringSubmatch(string(final), -1)
	for _, m := range segs {
		s, _ := strconv.ParseFloat(m[1], 64)
		total += s
	}
	// Planned: ten segments of about 4 s (the run may add a few frames).
	if len(segs) < 10 || len(segs) > 11 || total < 39.9 || total > 40.2 {
		t.Errorf("the audio of a 40 s lesson whose sound stops at 0:28 has %d segments, %.2f s; want the 10 planned, 40 s:\n%s",
			len(segs), total, final)
	}
	playsClean(t, out)
}

// readyAudio checks that the lesson is ready and returns a copy of its
// output and its audio playlist.
func readyAudio(t *testing.T, e *handlerEnv, lessonID string) (out string, playlist []byte) {
	t.Helper()
	got := e.lesson(t, lessonID)
	if got.Status != lectern.LessonReady {
		t.Fatalf("after every piece the lesson is %s, want ready", got.Status)
	}
	out = e.copyOut(t, got.OutputPrefix)
	playlist, err := os.ReadFile(filepath.Join(out, "a", "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	return out, playlist
}
