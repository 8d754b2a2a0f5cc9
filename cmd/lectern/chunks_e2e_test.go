package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// TestChunksAcrossWorkers runs a chunked transcode in scaled mode
// (PostgreSQL, Redis, MinIO) on two worker processes: the chunks of one
// lesson are done by both; the lesson is playable (GET /playback answers,
// the master playlist is served) while it is still processing; one worker
// is killed (SIGKILL) in the middle of a chunk, and the other finishes
// the lesson, which becomes ready with exactly one output in storage.
func TestChunksAcrossWorkers(t *testing.T) {
	testenv.FFmpeg(t)
	clip := makeClip(t, "1280x720", 40)
	c := newCluster(t, map[string]string{
		"LECTERN_CHUNK_SECONDS":      "8",
		"LECTERN_HEARTBEAT_INTERVAL": "1s",
		"LECTERN_JOB_DEADLINE":       "5s",
		"LECTERN_RECONCILE_INTERVAL": "2s",
	})
	dirs := []string{t.TempDir(), t.TempDir()}
	// One worker is named; the other, on the same host, is host:pid.
	workers := []*proc{c.startWorkerWith(t, dirs[0], 1, map[string]string{"LECTERN_WORKER_NAME": "worker-a"}), c.startWorker(t, dirs[1])}
	names := map[string]bool{"worker-a": true}
	for _, w := range workers {
		w.waitLog("worker started")
	}
	host, _ := os.Hostname()
	names[host+":"+strconv.Itoa(workers[1].cmd.Process.Pid)] = true
	lesson := c.upload(t, clip)

	// Both workers take pieces of the one lesson, and /metrics shows which
	// worker holds each running piece and how many pieces are done.
	held := map[string]bool{}
	var seen metrics
	waitUntilWithin(t, transcodeGuard, "both workers to finish a piece of the lesson", func() bool {
		m := scrape(t, c.base)
		for name := range names {
			if m.value("lectern_transcode_chunks_running", `worker="`+name+`"`) > 0 {
				held[name] = true
			}
		}
		if m.value("lectern_transcode_chunks", `lesson="`+lesson+`"`, `state="done"`) > 0 {
			seen = m
		}
		return countLogs(workers[0], "transcode chunk done") > 0 && countLogs(workers[1], "transcode chunk done") > 0
	})
	if seen == "" {
		t.Error("/metrics never counted a done piece of the lesson while it was processing")
	} else if total := seen.value("lectern_transcode_chunks", `lesson="`+lesson+`"`); total != 6 {
		t.Errorf("/metrics counts %v pieces of the lesson over its states, want 6", total)
	}
	if len(held) == 0 {
		t.Errorf("/metrics never showed a running piece held by %v", names)
	}
	t.Logf("workers seen holding pieces in /metrics: %v", held)
	// Playable while processing: the audio and the opening chunk are stored.
	var l struct {
		Status     string
		Playable   bool
		DurationMS int64 `json:"duration_ms"`
	}
	waitUntilWithin(t, transcodeGuard, "the lesson to be playable", func() bool {
		c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson, nil, http.StatusOK, &l)
		return l.Playable
	})
	if l.Status != string(lectern.LessonProcessing) || l.DurationMS < 39000 {
		t.Errorf("playable lesson: status %s, duration %d ms; want processing, the whole 40 s", l.Status, l.DurationMS)
	}
	var pb struct {
		HLSURL string `json:"hls_url"`
	}
	c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson+"/playback", nil, http.StatusOK, &pb)
	resp, err := http.Get(c.base + pb.HLSURL)
	if err != nil {
		t.Fatal(err)
	}
	master, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(master), "#EXT-X-STREAM-INF") {
		t.Fatalf("master playlist of the playable lesson: %s\n%s", resp.Status, master)
	}

	// The admin jobs API counts the pieces: audio and five 8 s chunks.
	if j := c.job(t, lesson); j.Chunks == nil || j.Chunks.Total != 6 || j.State != lectern.JobRunning {
		t.Errorf("admin job while chunks run: %s, chunks %+v; want running with 6 pieces", j.State, j.Chunks)
	} else {
		for _, w := range j.Chunks.Workers {
			if !names[w] {
				t.Errorf("admin job names worker %q, want one of %v", w, names)
			}
		}
	}

	// Kill a worker in the middle of a chunk.
	victim := -1
	waitUntilWithin(t, transcodeGuard, "a worker in the middle of a chunk", func() bool {
		for i, w := range workers {
			if countLogs(w, "transcode chunk started") > countLogs(w, "transcode chunk done") && len(ffmpegIn(t, dirs[i])) > 0 {
				victim = i
				return true
			}
		}
		var now struct{ Status string }
		c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson, nil, http.StatusOK, &now)
		if now.Status == string(lectern.LessonReady) {
			t.Fatal("the lesson was ready before a worker could be killed mid-chunk")
		}
		return false
	})
	if err := workers[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-workers[victim].exited
	t.Logf("killed worker %d in the middle of a chunk", victim)

	c.waitReadyWithin(t, lesson, recoveryGuard)
	survivor := workers[1-victim]
	if countLogs(survivor, "transcode published") != 1 {
		t.Errorf("the surviving worker logged %d publications, want 1", countLogs(survivor, "transcode published"))
	}
	if j := c.job(t, lesson); j.State != lectern.JobSucceeded || j.Chunks == nil || j.Chunks.Done != 6 || len(j.Chunks.Workers) != 0 {
		t.Errorf("job %s, chunks %+v; want succeeded, 6 of 6 pieces done, none held", j.State, j.Chunks)
	}
	// The lesson is done: its series leave /metrics, which counts only
	// the transcodes in progress.
	if m := scrape(t, c.base); m.has("lectern_transcode_chunks", `lesson="`+lesson+`"`) {
		t.Errorf("/metrics still counts the pieces of the published lesson")
	}
	var got []string
	waitUntilWithin(t, time.Minute, "exactly one output in storage", func() bool {
		got = c.outputPrefixes(t, lesson)
		return len(got) == 1
	})
	t.Logf("chunks done: worker %d %d, worker %d %d (killed)", 1-victim, countLogs(survivor, "transcode chunk done"),
		victim, countLogs(workers[victim], "transcode chunk done"))
}

// countLogs counts the JSON log lines of p with the message msg.
func countLogs(p *proc, msg string) int {
	n := 0
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg {
			n++
		}
	}
	return n
}

// waitUntilWithin polls until done holds, failing after guard.
func waitUntilWithin(t *testing.T, guard time.Duration, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(guard); !done(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
