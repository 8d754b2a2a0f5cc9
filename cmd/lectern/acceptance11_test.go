package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/jobs"
)

// RELIABILITY 11: Redis flushed (as a restart without persistence leaves
// it) while 50 transcodes wait and 5 run. The database is the source of
// truth: the workers' reconcilers enqueue the 50 again at once, and leave
// the 5 running ones to the deliveries that still heartbeat (a second
// delivery would run them twice) until a delivery dies: a worker running 2
// of them is then killed, and those 2 are enqueued again. Every lesson
// ends ready, each is published once, storage holds only the published
// output of each, and nothing is left on the queue.

const (
	flushQueued  = 50
	flushRunning = 5
	// flushGuard bounds the wait for the 55 transcodes after the flush:
	// about a minute on two shared cores. It only turns a hang into a
	// failure.
	flushGuard = 8 * time.Minute
	// crawlRate is the rate, in KB/s, at which the workers download
	// sources until the flush is done: the running transcodes stay in
	// their download (of about 1 MB) until then.
	crawlRate = 8
)

func TestAcceptance11_RedisFlushedWithQueuedAndRunningJobs(t *testing.T) {
	testenv.FFmpeg(t)
	tiny := makeClip(t, "160x90", 1)
	// The running ones have as little to transcode, but a source of about
	// 1 MB (noise, losslessly coded): at crawlRate its download lasts
	// minutes, until the proxy lets it through.
	slow := makeNoisyClip(t)
	c := newCluster(t, map[string]string{"LECTERN_RECONCILE_INTERVAL": "1s"})
	d := openClusterDB(t, c)
	insp := c.queue(t)

	// The workers reach MinIO through a proxy, which slows their
	// downloads until the flush is done; the API stores uploads directly.
	s3 := testenv.NewFaultProxy(t, c.s3.Endpoint)
	workers := []*proc{
		c.startWorkerWith(t, t.TempDir(), 3, map[string]string{"LECTERN_S3_ENDPOINT": s3.Addr}),
		c.startWorkerWith(t, t.TempDir(), 2, map[string]string{"LECTERN_S3_ENDPOINT": s3.Addr}),
	}
	for _, w := range workers {
		w.waitLog("worker started")
	}
	s3.LimitRate(crawlRate)

	var lessons []string
	for range flushRunning {
		lessons = append(lessons, c.upload(t, slow))
	}
	waitJobs(t, d, lessons, "the first 5 transcodes to run", func(j *db.JobStatus) bool { return j.State == lectern.JobRunning })
	for range flushQueued {
		lessons = append(lessons, c.upload(t, tiny))
	}
	jobs := map[string]*db.JobStatus{}
	for i, l := range lessons {
		j := currentJob(t, d, l)
		want := lectern.JobQueued
		if i < flushRunning {
			want = lectern.JobRunning
		}
		if j.State != want {
			t.Fatalf("before the flush, lesson %d's job is %s, want %s", i, j.State, want)
		}
		jobs[l] = j
	}
	if n := queueCounts(t, insp); n.active != flushRunning || n.pending != flushQueued {
		t.Fatalf("before the flush the queue holds %+v, want %d active and %d pending", n, flushRunning, flushQueued)
	}

	flushRedis(t, c.redisURL)
	flushed := time.Now()
	if n := queueCounts(t, insp); n != (taskCounts{}) {
		t.Fatalf("after FLUSHDB the queue still holds %+v", n)
	}
	// The reconcilers put the queued jobs back while the running ones
	// still crawl: the 50 wait in line, in their order.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		missing := 0
		for _, l := range lessons[flushRunning:] {
			if findTask(t, insp, jobs[l].TaskID) == nil {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the flush, %d of the %d queued jobs are still missing from the queue", missing, flushQueued)
		}
	}
	requeued := time.Since(flushed)
	t.Logf("the %d queued jobs were back on the queue %v after the flush", flushQueued, requeued.Round(time.Millisecond))
	// A few reconciler passes later, the running ones still run, once.
	time.Sleep(3 * time.Second)
	reenqueued := loggedLessons(workers, "re-enqueued a transcode missing from the queue")
	for i, l := range lessons {
		j := currentJob(t, d, l)
		switch {
		case i < flushRunning && (j.State != lectern.JobRunning || reenqueued[l] != 0 || findTask(t, insp, j.TaskID) != nil):
			t.Errorf("running lesson %d after the flush: job %s, re-enqueued %d times, task %+v; want it running, alone",
				i, j.State, reenqueued[l], findTask(t, insp, j.TaskID))
		case i >= flushRunning && reenqueued[l] != 1:
			t.Errorf("queued lesson %d was re-enqueued %d times, want once", i, reenqueued[l])
		}
	}
	if n := queueCounts(t, insp); n.pending != flushQueued {
		t.Errorf("after the flush the queue holds %+v, want %d pending", n, flushQueued)
	}

	// The worker running 2 of them dies: once their heartbeats are stale,
	// the other worker's reconciler enqueues those 2 again from the
	// database, and only those.
	dead := workers[1]
	if err := dead.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-dead.exited
	killed := time.Now()
	var orphans []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		reenqueued = loggedLessons(workers, "re-enqueued a transcode missing from the queue")
		orphans = orphans[:0]
		for _, l := range lessons[:flushRunning] {
			if reenqueued[l] > 0 {
				orphans = append(orphans, l)
			}
		}
		if len(orphans) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the worker died, %d of its 2 transcodes were enqueued again", len(orphans))
		}
	}
	t.Logf("the killed worker's 2 transcodes were enqueued again %v after it died", time.Since(killed).Round(time.Millisecond))
	for _, l := range orphans {
		if reenqueued[l] != 1 || findTask(t, insp, jobs[l].TaskID) == nil {
			t.Errorf("the killed worker's lesson %s was re-enqueued %d times; want once, its task on the queue", l, reenqueued[l])
		}
	}
	if len(orphans) != 2 {
		t.Errorf("%d running transcodes were enqueued again after the worker running 2 died", len(orphans))
	}
	s3.Heal()

	began := time.Now()
	waitJobs(t, d, lessons, "every transcode to end", func(j *db.JobStatus) bool {
		return j.State == lectern.JobSucceeded || j.State == lectern.JobFailed || j.State == lectern.JobCanceled
	})
	t.Logf("the %d transcodes ended %v after the running ones were let through", len(lessons), time.Since(began).Round(time.Second))

	published := loggedLessons(workers, "transcode published")
	for i, id := range lessons {
		l, err := d.FindLessonByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		j := currentJob(t, d, id)
		if l.Status != lectern.LessonReady || j.State != lectern.JobSucceeded || j.ID != jobs[id].ID {
			t.Errorf("lesson %d: %s, job %s %s (%s); want ready, job %s succeeded", i, l.Status, j.ID, j.State, j.Error, jobs[id].ID)
			continue
		}
		if n := published[id]; n != 1 {
			t.Errorf("lesson %d was published %d times, want once", i, n)
		}
		if diff := cmp.Diff([]string{l.OutputPrefix}, c.outputPrefixes(t, id)); diff != "" {
			t.Errorf("lesson %d: output prefixes in storage (-published +stored):\n%s", i, diff)
		}
	}
	// No task is left behind: none waiting, running, retrying or dead.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		n := queueCounts(t, insp)
		if n.archived > 0 || n.retry > 0 {
			t.Fatalf("the queue holds %+v after every job ended", n)
		}
		if n.active == 0 && n.pending == 0 && n.scheduled == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after every job ended the queue still holds %+v", n)
		}
	}
}

// makeNoisyClip makes a 1 s, 160×90 recording of about 1 MB: noise,
// losslessly coded.
func makeNoisyClip(t *testing.T) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "noisy.mp4")
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=1,noise=alls=100:allf=t",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "aac", "-shortest", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make a noisy clip: %v\n%s", err, b)
	}
	return out
}

// openClusterDB opens the cluster's database directly, to read jobs and
// lessons in bulk.
func openClusterDB(t *testing.T, c *cluster) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), c.env["LECTERN_DATABASE_URL"], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// currentJob is the lesson's current transcode job.
func currentJob(t *testing.T, d *db.DB, lessonID string) *db.JobStatus {
	t.Helper()
	j, err := d.FindCurrentJob(context.Background(), lessonID)
	if err != nil {
		t.Fatalf("job of lesson %s: %v", lessonID, err)
	}
	return j
}

// waitJobs polls the lessons' jobs until ok holds for every one.
func waitJobs(t *testing.T, d *db.DB, lessons []string, what string, ok func(*db.JobStatus) bool) {
	t.Helper()
	for deadline := time.Now().Add(flushGuard); ; time.Sleep(250 * time.Millisecond) {
		var waiting []string
		for _, l := range lessons {
			if j := currentJob(t, d, l); !ok(j) {
				waiting = append(waiting, fmt.Sprintf("%s %s %.0f%%", j.ID, j.State, j.Percent))
			}
		}
		if len(waiting) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; %d jobs are not there: %s", what, len(waiting), strings.Join(waiting, ", "))
		}
	}
}

// taskCounts sums the transcode queues' tasks by state.
type taskCounts struct{ pending, active, scheduled, retry, archived int }

func queueCounts(t *testing.T, q *jobs.Queue) taskCounts {
	t.Helper()
	stats, err := q.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var n taskCounts
	for _, info := range stats {
		if !slices.Contains(jobs.Queues(), info.Name) {
			continue
		}
		n.pending += info.Pending
		n.active += info.Active
		n.scheduled += info.Scheduled
		n.retry += info.Retry
		n.archived += info.Archived
	}
	return n
}

// flushRedis empties the Redis database at redisURL, as a restart of a
// Redis without persistence does.
func flushRedis(t *testing.T, redisURL string) {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHDB: %v", err)
	}
}

// loggedLessons counts, by lesson, the JSON log lines of the processes
// with the message msg.
func loggedLessons(procs []*proc, msg string) map[string]int {
	n := map[string]int{}
	for _, p := range procs {
		for line := range strings.SplitSeq(p.stderr.String(), "\n") {
			var rec logRecord
			if json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg {
				n[rec.str("lesson")]++
			}
		}
	}
	return n
}
