package transcode_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/transcode"
)

// RELIABILITY 4: truncated, zero-byte and random files, delivered by a
// real queue with its retries, are refused with a reason a teacher can
// read after one attempt: the handler runs once per job, the job fails as
// refused with no retry counted, and the queue archives the task instead
// of trying again.
func TestAcceptance4_BadFilesFailAfterOneAttempt(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	ffmpeg, _ := testenv.FFmpeg(t)
	// Matroska plays up to where it was cut: 20 s cut to 8 s is refused
	// for what is missing.
	mkv := filepath.Join(t.TempDir(), "good.mkv")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=20", "-f", "lavfi", "-i", "sine=duration=20",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", mkv).CombinedOutput(); err != nil {
		t.Fatalf("make fixture: %v\n%s", err, out)
	}
	empty := filepath.Join(t.TempDir(), "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	files := []struct{ name, path, reason string }{
		{"ZeroBytes", empty, "The file is empty"},
		{"RandomBytes", c.random, "The file is damaged or incomplete: no audio or video"},
		{"TruncatedMP4", c.truncated, "The file is damaged or incomplete: the recording was not finished properly"},
		{"TruncatedMatroska", truncated(t, mkv, 0.4), "The file is damaged or incomplete: only 0:0"},
	}
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	q := newCountingQueue(t, e)
	byFile := map[string]*lectern.Job{}
	for _, f := range files {
		job := e.upload(t, e.newLesson(t), f.path)
		byFile[f.name] = job
		q.enqueue(t, job)
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			job := byFile[f.name]
			j := e.waitJob(t, job.ID, lectern.JobFailed, lectern.JobSucceeded)
			if j.State != lectern.JobFailed || j.Failure != lectern.FailureRefused || j.Retries != 0 || !strings.HasPrefix(j.Error, f.reason) {
				t.Errorf("job: state %q, failure %q, retries %d, reason %q; want failed at once (refused), %q…",
					j.State, j.Failure, j.Retries, j.Error, f.reason)
			}
			state := q.waitSettled(t, job)
			if n := q.deliveries(job); n != 1 || state != jobs.TaskArchived {
				t.Errorf("the queue ran the task %d times and left it %v; want once, archived (no retry)", n, state)
			}
			t.Logf("%s: refused after %d attempt: %q", f.name, q.deliveries(job), j.Error)
		})
	}
	e.checkWorkDirEmpty(t)
}

// truncated copies the file at path cut to the fraction keep of its size.
func truncated(t *testing.T, path string, keep float64) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "cut"+filepath.Ext(path))
	if err := os.WriteFile(dst, b[:int(float64(len(b))*keep)], 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// RELIABILITY 7: a valid recording whose transcode takes longer than the
// wall-clock limit (here 2 s for a 30 s recording that takes longer to
// encode), delivered by a real queue with one worker slot: each try's
// ffmpeg and everything in its process group is killed at the limit, the
// try is retried once, and the job then fails with "took too long"
// (twice in all, not at every retry the queue would allow); no process of
// the two tries is left, and the slot is free: a short recording queued
// behind it is published. ffmpeg runs as a worker runs it (under bwrap,
// where it works).
func TestAcceptance7_SlowRecordingTimesOut(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	ffmpeg, _ := testenv.FFmpeg(t)
	slow := filepath.Join(t.TempDir(), "long.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=30", "-f", "lavfi", "-i", "sine=duration=30",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", slow).CombinedOutput(); err != nil {
		t.Fatalf("make fixture: %v\n%s", err, out)
	}
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	if sb, err := transcode.DetectSandbox(context.Background(), transcode.SandboxAuto, ffmpeg, slog.New(slog.DiscardHandler)); err == nil {
		e.Handler.Pipeline.Sandbox = sb
	}
	const limit = 2 * time.Second
	e.Handler.TimeLimit = func(durationMS int64) time.Duration {
		if durationMS > 10000 {
			return limit
		}
		return transcode.Timeout(durationMS)
	}
	stopWatch := watchGroups(e.WorkDir)
	q := newCountingQueue(t, e)
	long := e.upload(t, e.newLesson(t), slow)
	short := e.upload(t, e.newLesson(t), c.good)
	start := time.Now()
	q.enqueue(t, long)
	q.enqueue(t, short)

	j := e.waitJob(t, long.ID, lectern.JobFailed, lectern.JobSucceeded)
	took := time.Since(start)
	if j.State != lectern.JobFailed || j.Failure != lectern.FailureTimeout || j.Retries != 1 || !strings.HasPrefix(j.Error, "Processing took too long") {
		t.Errorf("job: state %q, failure %q, retries %d, reason %q; want failed (timeout) after one retry, \"Processing took too long…\"",
			j.State, j.Failure, j.Retries, j.Error)
	}
	if state := q.waitSettled(t, long); q.deliveries(long) != 2 || state != jobs.TaskArchived {
		t.Errorf("the queue ran the task %d times and left it %v; want twice (one retry), then archived", q.deliveries(long), state)
	}
	if s := e.waitJob(t, short.ID, lectern.JobSucceeded, lectern.JobFailed); s.State != lectern.JobSucceeded {
		t.Errorf("the short recording behind it: %q (%s); want published, the slot freed", s.State, s.Error)
	}
	groups := stopWatch()
	if len(groups) < 2 {
		t.Errorf("saw the process groups of %d tries' ffmpeg; want at least the 2 slow tries", len(groups))
	}
	// Killed at once: nothing of theirs runs. Under bwrap, ffmpeg is
	// bwrap's child and, killed with it, is reaped by init, which may
	// take a moment: gone within seconds.
	for pgid, pids := range groups {
		for _, pid := range pids {
			if state := procState(pid); state != 0 && state != 'Z' {
				t.Errorf("process %d of ffmpeg's group %d still runs (state %c)", pid, pgid, state)
			}
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var left []int
		for pgid, pids := range groups {
			left = append(left, groupMembers(pgid)...)
			for _, pid := range pids {
				if procState(pid) != 0 {
					left = append(left, pid)
				}
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of the killed ffmpeg groups left after 10 s: %v", left)
			break
		}
	}
	t.Logf("failed after %d tries in %s (limit %s a try): %q; %d ffmpeg process groups, none left",
		q.deliveries(long), took.Round(100*time.Millisecond), limit, j.Error, len(groups))
	e.checkWorkDirEmpty(t)
}

// countingQueue is a real queue (in-process) with one worker slot in
// front of a handler, counting each task's deliveries.
type countingQueue struct {
	q      *jobs.Queue
	client *jobs.Client
	h      *transcode.Handler
	mu     sync.Mutex
	runs   map[string]int
}

func newCountingQueue(t *testing.T, e *handlerEnv) *countingQueue {
	t.Helper()
	cq := &countingQueue{h: e.Handler, runs: map[string]int{}}
	cq.q, cq.client = startQueue(t, e, cq, 0)
	return cq
}

// ProcessTranscode counts the delivery and runs it.
func (q *countingQueue) ProcessTranscode(ctx context.Context, p transcode.TranscodePayload, d transcode.Delivery) error {
	q.mu.Lock()
	q.runs[d.TaskID]++
	q.mu.Unlock()
	return q.h.ProcessTranscode(ctx, p, d)
}

// ProcessChunk runs a chunk task, uncounted.
func (q *countingQueue) ProcessChunk(ctx context.Context, p transcode.ChunkPayload, d transcode.Delivery) error {
	return q.h.ProcessChunk(ctx, p, d)
}

func (q *countingQueue) enqueue(t *testing.T, job *lectern.Job) {
	t.Helper()
	if err := q.client.EnqueueTranscode(context.Background(), job); err != nil {
		t.Fatal(err)
	}
}

func (q *countingQueue) deliveries(job *lectern.Job) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.runs[db.TranscodeTaskID(job.LessonID, job.Attempt)]
}

// waitSettled waits until the queue holds job's task as archived or
// completed (no try pending), then a moment more for a retry that should
// not come, and returns its state.
func (q *countingQueue) waitSettled(t *testing.T, job *lectern.Job) jobs.TaskState {
	t.Helper()
	id := db.TranscodeTaskID(job.LessonID, job.Attempt)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		info, err := q.q.FindTask(id)
		if err == nil && info != nil && (info.State == jobs.TaskArchived || info.State == jobs.TaskCompleted) {
			time.Sleep(500 * time.Millisecond) // a retry would be delivered by now (no delay)
			return info.State
		}
	}
	t.Fatalf("task %s never settled", id)
	return ""
}

// waitJob waits until job id is in one of states and returns it.
func (e *handlerEnv) waitJob(t *testing.T, id string, states ...lectern.JobState) *lectern.Job {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		j := e.job(t, id)
		for _, s := range states {
			if j.State == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %q after 3 minutes", id, j.State)
		}
	}
}

// watchGroups records, from /proc, the process group of every ffmpeg
// working in dir and the processes seen in those groups, until the
// returned function is called.
func watchGroups(dir string) func() map[int][]int {
	groups := map[int][]int{}
	stop := testenv.WatchProcesses(5*time.Millisecond, func(pid int, cmdline []byte) {
		if !bytes.Contains(cmdline, []byte(dir)) || !bytes.Contains(cmdline, []byte("ffmpeg")) {
			return
		}
		pgid, err := syscall.Getpgid(pid)
		if err != nil {
			return
		}
		for _, member := range append(groupMembers(pgid), pid) {
			if !slices.Contains(groups[pgid], member) {
				groups[pgid] = append(groups[pgid], member)
			}
		}
	})
	return func() map[int][]int {
		stop()
		return groups
	}
}

// procState is the state letter of process pid ('R', 'S', 'Z', …), 0
// when there is no such process.
func procState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) S …": the state follows the last parenthesis.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2]
	}
	return 0
}

// groupMembers lists the processes in process group pgid.
func groupMembers(pgid int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}
