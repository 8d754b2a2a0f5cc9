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
	"github.com/hibiken/asynq"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// recoveryGuard bounds the wait for a transcode whose worker was killed:
// asynq hands a task back only once its lease has been expired for 30 s,
// checks for such tasks once a minute, and the retry waits
// transcode.RetryDelay. It only turns a hang into a failure.
const recoveryGuard = 4 * time.Minute

// TestOperations runs the operations journeys on real processes: a worker
// killed mid-transcode, an admin's cancel of a running transcode, the
// metrics after a transcode, and a task lost from Redis.
//
// Like TestLessonEndToEnd it is not parallel with the package's other
// tests, whose timing-sensitive process checks its transcodes would
// starve; its own journeys run together, mostly waiting on the queue.
func TestOperations(t *testing.T) {
	testenv.FFmpeg(t)
	long := makeClip(t, "1280x720", 20)
	short := makeClip(t, "640x360", 4)

	t.Run("WorkerKilledMidTranscode", func(t *testing.T) {
		t.Parallel()
		testWorkerKilled(t, long)
	})
	t.Run("CancelRunningTranscode", func(t *testing.T) {
		t.Parallel()
		testCancelRunning(t, long)
	})
	t.Run("MetricsAfterTranscode", func(t *testing.T) {
		t.Parallel()
		testMetricsAfterTranscode(t, short)
	})
	t.Run("TaskDeletedFromRedis", func(t *testing.T) {
		t.Parallel()
		testTaskDeletedFromRedis(t, short)
	})
}

// testWorkerKilled: of two workers, the one running the transcode is
// killed (SIGKILL) and restarted as a supervisor would; the transcode is
// recovered from the queue and published exactly once.
func testWorkerKilled(t *testing.T, clip string) {
	c := newCluster(t, nil)
	workers := map[string]*proc{}
	for range 2 {
		dir := t.TempDir()
		workers[dir] = c.startWorker(t, dir)
	}
	lesson := c.upload(t, clip)
	job := c.waitJob(t, lesson, "encoding", func(j adminJob) bool { return j.State == lectern.JobRunning && j.Percent > 0 })

	var holder string
	for dir := range workers {
		if len(ffmpegIn(t, dir)) > 0 {
			if holder != "" {
				t.Fatal("both workers run an ffmpeg for the one lesson")
			}
			holder = dir
		}
	}
	if holder == "" {
		t.Fatalf("no worker runs ffmpeg although the job is at %v %%", job.Percent)
	}
	if err := workers[holder].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-workers[holder].exited
	t.Logf("killed the worker running the transcode at %v %%", job.Percent)
	waitUntil(t, "the killed worker's ffmpeg", func() bool { return len(ffmpegIn(t, holder)) == 0 })
	c.startWorker(t, holder)

	c.waitReadyWithin(t, lesson, recoveryGuard)
	done := c.job(t, lesson)
	if done.State != lectern.JobSucceeded || done.ID != job.ID {
		t.Errorf("job after recovery: %s in state %s; want %s succeeded", done.ID, done.State, job.ID)
	}
	// The killed delivery wrote to hls/1/, the one that took over to a
	// prefix of its own: only that one is left.
	if got := c.outputPrefixes(t, lesson); len(got) != 1 || got[0] == lectern.OutputPrefix(lesson, 1) {
		t.Errorf("output prefixes in storage: %v; want only the recovering delivery's", got)
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
	insp := c.inspector(t)
	waitUntil(t, "the canceled task to stop running", func() bool {
		info := findTask(t, insp, taskID)
		return info == nil || info.State != asynq.TaskStateActive
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
	insp := c.inspector(t)
	// Paused queues keep the task from the worker while it is deleted.
	for _, q := range transcode.Queues() {
		if err := insp.PauseQueue(q); err != nil {
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
		return info != nil && info.State == asynq.TaskStatePending
	})
	for _, q := range transcode.Queues() {
		if err := insp.UnpauseQueue(q); err != nil {
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
}

// cluster is the scaled setup: an api process on PostgreSQL, Redis and
// MinIO, with an admin and a teacher's course; workers are started apart.
type cluster struct {
	env      map[string]string
	redisURL string
	s3       testenv.S3
	admin    *session
	teacher  *session
	course   string
}

// newCluster starts the api; extra is added to the environment of every
// process.
func newCluster(t *testing.T, extra map[string]string) *cluster {
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
	base := startLectern(t, maps(c.env, "LECTERN_DATA_DIR", t.TempDir()), "api").ready()
	c.admin = newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	c.teacher = c.admin.newUser(t, "teacher")
	var course struct{ ID string }
	c.teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Operations"}, http.StatusCreated, &course)
	c.course = course.ID
	return c
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
	c.teacher.call(t, "POST", "/api/v1/courses/"+c.course+"/lessons", map[string]string{"title": "Ops"}, http.StatusCreated, &lesson)
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

// inspector is an asynq Inspector on the cluster's Redis.
func (c *cluster) inspector(t *testing.T) *asynq.Inspector {
	t.Helper()
	opt, err := asynq.ParseRedisURI(c.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })
	return insp
}

// findTask returns the task with the given ID from whichever transcode
// queue holds it; nil when none does.
func findTask(t *testing.T, insp *asynq.Inspector, taskID string) *asynq.TaskInfo {
	t.Helper()
	for _, q := range transcode.Queues() {
		info, err := insp.GetTaskInfo(q, taskID)
		switch {
		case err == nil:
			return info
		case !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
			t.Fatalf("find task %s in queue %s: %v", taskID, q, err)
		}
	}
	return nil
}

// outputPrefixes lists the transcode output prefixes that hold objects
// under the lesson's hls/ in the cluster's bucket.
func (c *cluster) outputPrefixes(t *testing.T, lessonID string) []string {
	t.Helper()
	client, err := minio.New(c.s3.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.s3.AccessKey, c.s3.SecretKey, ""),
		Secure: c.s3.UseSSL,
	})
	if err != nil {
		t.Fatal(err)
	}
	root := lectern.LessonPrefix(lessonID) + "hls/"
	prefixes := []string{}
	opts := minio.ListObjectsOptions{Prefix: root, Recursive: true}
	for obj := range client.ListObjects(context.Background(), c.s3.Bucket, opts) {
		if obj.Err != nil {
			t.Fatalf("list %s: %v", root, obj.Err)
		}
		attempt, _, _ := strings.Cut(strings.TrimPrefix(obj.Key, root), "/")
		prefixes = append(prefixes, root+attempt+"/")
	}
	slices.Sort(prefixes)
	return slices.Compact(prefixes)
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
