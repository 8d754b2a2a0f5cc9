package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/jobs"
)

// recoveryGuard is RELIABILITY 8's bound on finishing the job of a killed
// worker elsewhere, from the kill: with the default settings the
// reconciler takes the lease back within LECTERN_JOB_DEADLINE (1 m) plus
// one LECTERN_RECONCILE_INTERVAL (30 s), or asynq hands the task back
// first, and the transcode runs again.
const recoveryGuard = 3 * time.Minute

// TestOperations runs the operations journeys on real processes: a worker
// killed mid-transcode (RELIABILITY 8), an admin's cancel of a running
// transcode, the metrics after a transcode, a task lost from Redis, a
// paused worker resumed after another took its job over (RELIABILITY 9)
// and a worker stopped by SIGTERM mid-encode (RELIABILITY 10).
//
// Like TestLessonEndToEnd it is not parallel with the package's other
// tests, whose timing-sensitive process checks its transcodes would
// starve; its own journeys run together, mostly waiting on the queue.
func TestOperations(t *testing.T) {
	testenv.FFmpeg(t)
	long := makeClip(t, "1280x720", 20)
	short := makeClip(t, "640x360", 4)

	journeys := []struct {
		name string
		run  func(t *testing.T, clip string)
		clip string
	}{
		{"WorkerKilledMidTranscode", testWorkerKilled, short},
		{"CancelRunningTranscode", testCancelRunning, long},
		{"MetricsAfterTranscode", testMetricsAfterTranscode, short},
		{"TaskDeletedFromRedis", testTaskDeletedFromRedis, short},
		{"Acceptance09_PausedWorkerDoesNotPublish", testPausedWorker, long},
		{"Acceptance10_WorkerSIGTERMHandsBack", testWorkerSIGTERM, long},
	}
	for _, j := range journeys {
		t.Run(j.name, func(t *testing.T) {
			t.Parallel()
			j.run(t, j.clip)
		})
	}
}

// testWorkerKilled (RELIABILITY 8): of two workers, the one running the
// transcode is killed (SIGKILL) while it uploads its output (MinIO slowed
// down through a proxy, so that the upload takes seconds), and restarted
// as a supervisor would. With the default lease settings the job is
// finished elsewhere within recoveryGuard, exactly one output prefix is
// left (the dead delivery's partial objects are swept), and no ffmpeg of
// the killed worker survives.
func testWorkerKilled(t *testing.T, clip string) {
	c := newCluster(t, nil)
	s3 := testenv.NewFaultProxy(t, c.s3.Endpoint)
	extra := map[string]string{"LECTERN_S3_ENDPOINT": s3.Addr}
	workers := map[string]*proc{}
	for range 2 {
		dir := t.TempDir()
		workers[dir] = c.startWorkerWith(t, dir, 1, extra)
	}
	lesson := c.upload(t, clip)
	job := c.waitJob(t, lesson, "encoding", func(j adminJob) bool { return j.State == lectern.JobRunning && j.Percent > 0 })
	s3.AddLatency(300*time.Millisecond, 0)
	var partial []string
	for deadline := time.Now().Add(transcodeGuard); len(partial) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the transcode never started uploading its output")
		}
		partial = c.outputPrefixes(t, lesson)
	}
	var holder string
	for dir := range workers {
		if entries, _ := os.ReadDir(filepath.Join(dir, workDirName)); len(entries) > 0 {
			holder = dir
		}
	}
	if holder == "" {
		t.Fatal("no worker has a transcode's work directory although its output is being uploaded")
	}
	if err := workers[holder].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-workers[holder].exited
	objects := c.objectKeys(t, partial[0])
	s3.RemoveLatency()
	if len(objects) == 0 || len(partial) != 1 {
		t.Fatalf("at the kill, storage held %v (objects %v); want part of one output", partial, objects)
	}
	t.Logf("killed the worker while it uploaded %s (%d objects so far)", partial[0], len(objects))
	waitUntil(t, "the killed worker's ffmpeg", func() bool { return len(ffmpegIn(t, holder)) == 0 })
	c.startWorkerWith(t, holder, 1, extra)

	c.waitReadyWithin(t, lesson, recoveryGuard)
	t.Logf("RELIABILITY 8: the job was finished elsewhere %v after the kill", time.Since(killed).Round(time.Second))
	done := c.job(t, lesson)
	if done.State != lectern.JobSucceeded || done.ID != job.ID {
		t.Errorf("job after recovery: %s in state %s; want %s succeeded", done.ID, done.State, job.ID)
	}
	// The dead delivery's partial output goes at the next reconciler
	// pass after its lease was taken (30 s by default).
	var got []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		got = c.outputPrefixes(t, lesson)
		if len(got) == 1 && got[0] != partial[0] || time.Now().After(deadline) {
			break
		}
	}
	if len(got) != 1 || got[0] == partial[0] {
		t.Errorf("output prefixes in storage: %v; want only the recovering delivery's, not the dead %s", got, partial[0])
	}
	t.Logf("RELIABILITY 8: the dead delivery's partial output was swept %v after the kill", time.Since(killed).Round(time.Second))
	for _, dir := range []string{holder} {
		if pids := ffmpegIn(t, dir); len(pids) > 0 {
			t.Errorf("ffmpeg processes left in %s: %v", dir, pids)
		}
	}
}

// testPausedWorker (RELIABILITY 9): a worker is paused (SIGSTOP, with its
// ffmpeg) mid-encode past its lease; another worker takes the job over and
// publishes it. Resumed, the first stops (its ffmpeg killed) and
// publishes nothing, deletes nothing: the published output is unchanged
// and still plays.
func testPausedWorker(t *testing.T, clip string) {
	c := newCluster(t, map[string]string{"LECTERN_HEARTBEAT_INTERVAL": "2s", "LECTERN_JOB_DEADLINE": "10s",
		"LECTERN_RECONCILE_INTERVAL": "2s"})
	dirA := t.TempDir()
	a := c.startWorker(t, dirA)
	lesson := c.upload(t, clip)
	job := c.waitJob(t, lesson, "encoding", func(j adminJob) bool { return j.State == lectern.JobRunning && j.Percent > 0 })
	paused := append([]int{a.cmd.Process.Pid}, ffmpegIn(t, dirA)...)
	if len(paused) < 2 {
		t.Fatalf("worker A runs no ffmpeg although the job is at %v %%", job.Percent)
	}
	signalAll(t, paused, syscall.SIGSTOP)
	pausedAt := time.Now()
	t.Cleanup(func() { signalAll(t, paused, syscall.SIGCONT) })
	c.startWorker(t, t.TempDir())

	c.waitReadyWithin(t, lesson, transcodeGuard)
	t.Logf("RELIABILITY 9: another worker took over and published %v after the pause", time.Since(pausedAt).Round(time.Second))
	published := c.outputPrefixes(t, lesson)
	if len(published) != 1 {
		t.Fatalf("output prefixes after the takeover: %v, want one", published)
	}
	before := c.objectKeys(t, lectern.LessonPrefix(lesson))

	signalAll(t, paused, syscall.SIGCONT)
	// Resumed, A finds its lease gone at its next beat or write, kills
	// its ffmpeg and ends its task (its work directory removed).
	waitUntil(t, "the stale delivery's ffmpeg to be killed", func() bool { return len(ffmpegIn(t, dirA)) == 0 })
	waitUntil(t, "the stale delivery to end", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dirA, workDirName))
		return len(entries) == 0
	})
	select {
	case <-a.exited:
		t.Fatalf("worker A exited after the resume: %v", a.err)
	default:
	}
	if diff := cmp.Diff(before, c.objectKeys(t, lectern.LessonPrefix(lesson))); diff != "" {
		t.Errorf("stored objects changed after the stale delivery resumed (-before +after):\n%s", diff)
	}
	if j := c.job(t, lesson); j.State != lectern.JobSucceeded || j.Percent != 100 || j.ID != job.ID {
		t.Errorf("job after the stale delivery resumed: %+v; want %s succeeded at 100 %%", j, job.ID)
	}
	if files, _ := playSome(t, c.teacher, c.base, lesson); files < 3 {
		t.Errorf("played %d files of the published output, want a master playlist, a media playlist and a file", files)
	}
}

// testWorkerSIGTERM (RELIABILITY 10): a worker gets SIGTERM during a
// deploy mid-encode. Within its shutdown timeout (1 s here) it hands the
// task back, kills its ffmpeg, releases the job's lease and exits 0;
// another worker takes the task at once and completes it.
func testWorkerSIGTERM(t *testing.T, clip string) {
	c := newCluster(t, map[string]string{"LECTERN_SHUTDOWN_TIMEOUT": "1s"})
	dirA := t.TempDir()
	a := c.startWorker(t, dirA)
	lesson := c.upload(t, clip)
	job := c.waitJob(t, lesson, "encoding", func(j adminJob) bool { return j.State == lectern.JobRunning && j.Percent > 0 })
	b := c.startWorker(t, t.TempDir())
	b.waitLog("worker started")
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	term := time.Now()
	if code := a.wait(); code != 0 {
		t.Errorf("worker exited with status %d after SIGTERM, want 0", code)
	}
	exited := time.Since(term)
	if pids := ffmpegIn(t, dirA); len(pids) > 0 {
		t.Errorf("ffmpeg processes of the stopped worker survive: %v", pids)
	}
	if !strings.Contains(a.stderr.String(), "transcode interrupted: handed back to the queue") {
		t.Error("the worker did not log handing its transcode back")
	}
	b.waitLog("transcode started")
	resumed := time.Since(term)
	c.waitReadyWithin(t, lesson, transcodeGuard)
	t.Logf("RELIABILITY 10: the worker exited %v after SIGTERM; the other worker started the task %v after it and finished %v after it",
		exited.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond), time.Since(term).Round(time.Second))
	if exited > 10*time.Second {
		t.Errorf("the worker took %v to exit after SIGTERM with a 1 s shutdown timeout", exited)
	}
	if resumed > 15*time.Second {
		t.Errorf("the other worker started the handed-back task %v after SIGTERM, want at once", resumed)
	}
	if j := c.job(t, lesson); j.State != lectern.JobSucceeded || j.ID != job.ID {
		t.Errorf("job: %s in state %s; want %s succeeded", j.ID, j.State, job.ID)
	}
	if got := c.outputPrefixes(t, lesson); len(got) != 1 {
		t.Errorf("output prefixes in storage: %v; want one", got)
	}
}

// signalAll sends sig to every process in pids.
func signalAll(t *testing.T, pids []int, sig syscall.Signal) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("signal %v to %d: %v", sig, pid, err)
		}
	}
}

// testCancelRunning: an admin cancels a running transcode through the
// jobs API; its ffmpeg is gone within seconds and the lesson is not
// published.
func testCancelRunning(t *testing.T, clip string) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	c.startWorker(t, dir)
	lesson := c.upload(t, clip)
	job := c.waitJob(t, lesson, "encoding", func(j adminJob) bool { return j.State == lectern.JobRunning && j.Percent > 0 })
	if len(ffmpegIn(t, dir)) == 0 {
		t.Fatalf("the worker runs no ffmpeg although the job is at %v %%", job.Percent)
	}

	var canceled struct{ Job adminJob }
	c.admin.call(t, "POST", "/api/v1/admin/jobs/"+job.ID+"/cancel", nil, http.StatusOK, &canceled)
	if canceled.Job.State != lectern.JobCanceled {
		t.Errorf("cancel answered job state %s, want canceled", canceled.Job.State)
	}
	waitUntil(t, "the canceled transcode's ffmpeg", func() bool { return len(ffmpegIn(t, dir)) == 0 })
	taskID := db.TranscodeTaskID(lesson, job.Attempt)
	insp := c.queue(t)
	waitUntil(t, "the canceled task to stop running", func() bool {
		info := findTask(t, insp, taskID)
		return info == nil || info.State != jobs.TaskActive
	})

	if j := c.job(t, lesson); j.State != lectern.JobCanceled {
		t.Errorf("job after the worker stopped: %s, want canceled", j.State)
	}
	var l struct{ Status string }
	c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson, nil, http.StatusOK, &l)
	if l.Status == string(lectern.LessonReady) {
		t.Error("the canceled transcode published the lesson")
	}
	if got := c.outputPrefixes(t, lesson); len(got) != 0 {
		t.Errorf("the canceled transcode left output in storage: %v", got)
	}
}

// testTaskDeletedFromRedis: a queued job whose task vanishes from Redis
// before any worker takes it is put back by the reconciler and completes.
func testTaskDeletedFromRedis(t *testing.T, clip string) {
	c := newCluster(t, map[string]string{"LECTERN_RECONCILE_INTERVAL": "1s"})
	insp := c.queue(t)
	// Paused queues keep the task from the worker while it is deleted.
	for _, q := range jobs.Queues() {
		if err := insp.Pause(q); err != nil {
			t.Fatal(err)
		}
	}
	c.startWorker(t, t.TempDir()).waitLog("worker started")
	lesson := c.upload(t, clip)
	job := c.job(t, lesson)
	taskID := db.TranscodeTaskID(lesson, job.Attempt)
	info := findTask(t, insp, taskID)
	if info == nil {
		t.Fatalf("the upload's task %s is not in any transcode queue", taskID)
	}
	if err := insp.DeleteTask(info.Queue, taskID); err != nil {
		t.Fatalf("delete the queued task: %v", err)
	}
	waitUntil(t, "the task's return to the queue", func() bool {
		info := findTask(t, insp, taskID)
		return info != nil && info.State == jobs.TaskPending
	})
	for _, q := range jobs.Queues() {
		if err := insp.Unpause(q); err != nil {
			t.Fatal(err)
		}
	}
	c.waitReadyWithin(t, lesson, transcodeGuard)
	if j := c.job(t, lesson); j.State != lectern.JobSucceeded || j.ID != job.ID {
		t.Errorf("job: %s in state %s; want %s succeeded", j.ID, j.State, job.ID)
	}
	want := []string{lectern.OutputPrefix(lesson, job.Attempt)}
	if diff := cmp.Diff(want, c.outputPrefixes(t, lesson)); diff != "" {
		t.Errorf("output prefixes in storage (-want +got):\n%s", diff)
	}
}

// makeClip generates a recording of the given size with a tone, seconds
// long, in MP4.
func makeClip(t *testing.T, size string, seconds int) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), size+".mp4")
	d := strconv.Itoa(seconds)
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make a %s clip: %v\n%s", size, err, b)
	}
	return out
}

// adminJob is a job as GET /api/v1/admin/jobs lists it.
type adminJob struct {
	ID         string
	LessonID   string `json:"lesson_id"`
	State      lectern.JobState
	Percent    float64
	Attempt    int
	WorkerHost string `json:"worker_host"`
	Chunks     *struct {
		Done, Total int
		Workers     []string
	}
}

// cluster is the scaled setup: an api process on PostgreSQL, Redis and
// MinIO, with an admin and a teacher's course; workers are started apart.
type cluster struct {
	env      map[string]string
	base     string // the api's URL
	redisURL string
	s3       testenv.S3
	api      *proc
	admin    *session
	teacher  *session
	course   string
}

// newCluster starts the api; extra is added to the environment of every
// process.
func newCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	c := prepareCluster(t, extra)
	c.startAPI(t)
	return c
}

// prepareCluster makes the cluster's services and environment (extra
// added) without starting anything; startAPI starts the api.
func prepareCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	c := &cluster{redisURL: testenv.RedisURL(t), s3: testenv.S3Bucket(t)}
	c.env = map[string]string{
		"LECTERN_DATABASE_URL":   testenv.PostgresURL(t),
		"LECTERN_REDIS_URL":      c.redisURL,
		"LECTERN_S3_ENDPOINT":    c.s3.Endpoint,
		"LECTERN_S3_ACCESS_KEY":  c.s3.AccessKey,
		"LECTERN_S3_SECRET_KEY":  c.s3.SecretKey,
		"LECTERN_S3_BUCKET":      c.s3.Bucket,
		"LECTERN_SECRET":         strings.Repeat("0123456789abcdef", 4),
		"LECTERN_ADDR":           "127.0.0.1:0",
		"LECTERN_LOG_FORMAT":     "json",
		"LECTERN_ADMIN_EMAIL":    e2eAdminEmail,
		"LECTERN_ADMIN_PASSWORD": e2eAdminPassword,
	}
	for k, v := range extra {
		c.env[k] = v
	}
	return c
}

// startAPI starts the api process, its first admin, a teacher and the
// teacher's course.
func (c *cluster) startAPI(t *testing.T) {
	t.Helper()
	c.api = startLectern(t, maps(c.env, "LECTERN_DATA_DIR", t.TempDir()), "api")
	base := c.api.ready()
	c.base = base
	c.admin = newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	c.teacher = c.admin.newUser(t, "teacher")
	var course struct{ ID string }
	c.teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Operations"}, http.StatusCreated, &course)
	c.course = course.ID
}

// startWorker starts a worker that transcodes one lesson at a time in
// dataDir. Its ffmpeg processes are killed when the test ends, even if it
// was killed first.
func (c *cluster) startWorker(t *testing.T, dataDir string) *proc {
	t.Helper()
	return c.startWorkerWith(t, dataDir, 1, nil)
}

// startWorkerWith is startWorker running concurrency transcodes at once,
// with extra added to the cluster's environment.
func (c *cluster) startWorkerWith(t *testing.T, dataDir string, concurrency int, extra map[string]string) *proc {
	t.Helper()
	env := maps(c.env, "LECTERN_DATA_DIR", dataDir)
	for k, v := range extra {
		env[k] = v
	}
	env["LECTERN_WORKER_CONCURRENCY"] = strconv.Itoa(concurrency)
	p := startLectern(t, env, "worker")
	t.Cleanup(func() {
		for _, pid := range ffmpegIn(t, dataDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return p
}

// upload creates a lesson in the teacher's course, uploads clip to it and
// returns the lesson's ID.
func (c *cluster) upload(t *testing.T, clip string) string {
	t.Helper()
	var lesson struct{ ID string }
	c.teacher.call(t, "POST", "/api/v1/courses/"+c.course+"/lessons", map[string]string{"publish_at": "now", "title": "Ops"}, http.StatusCreated, &lesson)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c.teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	return lesson.ID
}

// job returns the latest job of a lesson as the admin jobs API lists it.
func (c *cluster) job(t *testing.T, lessonID string) adminJob {
	t.Helper()
	var list struct{ Jobs []adminJob }
	c.admin.call(t, "GET", "/api/v1/admin/jobs", nil, http.StatusOK, &list)
	for _, j := range list.Jobs {
		if j.LessonID == lessonID {
			return j
		}
	}
	t.Fatalf("the admin jobs API lists no job for lesson %s", lessonID)
	return adminJob{}
}

// waitJob polls the lesson's job until ok holds; what names the wait.
func (c *cluster) waitJob(t *testing.T, lessonID, what string, ok func(adminJob) bool) adminJob {
	t.Helper()
	for deadline := time.Now().Add(transcodeGuard); ; time.Sleep(100 * time.Millisecond) {
		j := c.job(t, lessonID)
		switch {
		case ok(j):
			return j
		case j.State == lectern.JobSucceeded || j.State == lectern.JobFailed || j.State == lectern.JobCanceled:
			t.Fatalf("waiting for %s, the job ended %s", what, j.State)
		case time.Now().After(deadline):
			t.Fatalf("gave up waiting for %s; the job is %s at %v %%", what, j.State, j.Percent)
		}
	}
}

// waitReadyWithin waits for the lesson to be published, failing if its
// transcode fails or guard passes.
func (c *cluster) waitReadyWithin(t *testing.T, lessonID string, guard time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(guard); ; time.Sleep(250 * time.Millisecond) {
		var l struct {
			Status    string
			Transcode *struct{ Error string }
		}
		c.teacher.call(t, "GET", "/api/v1/lessons/"+lessonID, nil, http.StatusOK, &l)
		switch {
		case l.Status == string(lectern.LessonReady):
			return
		case l.Status == string(lectern.LessonFailed):
			t.Fatalf("transcode failed: %+v", l.Transcode)
		case time.Now().After(deadline):
			t.Fatalf("gave up waiting for the lesson to be ready; it is %q", l.Status)
		}
	}
}

// queue is the cluster's task queue.
func (c *cluster) queue(t *testing.T) *jobs.Queue {
	t.Helper()
	return openQueue(t, c.redisURL)
}

// openQueue connects to the task queue on the Redis at redisURL until the
// test ends.
func openQueue(t *testing.T, redisURL string) *jobs.Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := jobs.OpenQueue(ctx, redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// findTask returns the task with the given ID from whichever queue holds
// it; nil when none does.
func findTask(t *testing.T, q *jobs.Queue, taskID string) *jobs.Task {
	t.Helper()
	task, err := q.FindTask(taskID)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// outputPrefixes lists the transcode output prefixes that hold objects
// under the lesson's hls/ in the cluster's bucket.
func (c *cluster) outputPrefixes(t *testing.T, lessonID string) []string {
	t.Helper()
	root := lectern.LessonPrefix(lessonID) + "hls/"
	prefixes := []string{}
	for _, key := range c.objectKeys(t, root) {
		n, _, _ := strings.Cut(strings.TrimPrefix(key, root), "/")
		prefixes = append(prefixes, root+n+"/")
	}
	return slices.Compact(prefixes)
}

// objectKeys lists the keys stored under prefix in the cluster's bucket.
func (c *cluster) objectKeys(t *testing.T, prefix string) []string {
	t.Helper()
	client, err := minio.New(c.s3.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.s3.AccessKey, c.s3.SecretKey, ""),
		Secure: c.s3.UseSSL,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for obj := range client.ListObjects(context.Background(), c.s3.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list %s: %v", prefix, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	slices.Sort(keys)
	return keys
}

// ffmpegIn returns the IDs of the ffmpeg processes whose command line
// names a path in dir: the transcodes of the worker whose data dir it is.
func ffmpegIn(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to find ffmpeg processes in: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // exited meanwhile
		}
		args := bytes.Split(cmdline, []byte{0})
		if filepath.Base(string(args[0])) == "ffmpeg" && bytes.Contains(cmdline, []byte(dir+"/")) && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether the process has exited and waits to be reaped.
func zombie(pid int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if state, ok := strings.CutPrefix(sc.Text(), "State:"); ok {
			return strings.Contains(state, "Z")
		}
	}
	return false
}

// waitUntil polls until done holds. The guard is a few seconds, the
// "within seconds" the operations promise; what names the wait.
func waitUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !done(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
