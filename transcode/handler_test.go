package transcode_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/transcode"
)

// clips are the recordings the handler tests upload, made once per test.
type clips struct {
	good, truncated, random, playlist string
}

// makeClips generates the fixtures with ffmpeg: a 2 s 320×240 clip with a
// tone (its index at the end, so that cutting it loses the index), the
// same cut in half, random bytes, and an HLS playlist.
func makeClips(t *testing.T) clips {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	dir := t.TempDir()
	c := clips{good: filepath.Join(dir, "good.mp4")}
	out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", c.good).CombinedOutput()
	if err != nil {
		t.Fatalf("make fixture: %v\n%s", err, out)
	}
	good, err := os.ReadFile(c.good)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewChaCha8([32]byte{'h', 'a', 'n', 'd', 'l', 'e', 'r'}))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c.truncated = write("cut.mp4", good[:len(good)/2])
	c.random = write("random.mp4", random)
	c.playlist = write("lesson.mp4", []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n"))
	return c
}

// hookStore is disk storage that calls onPut before the first Put under
// a prefix: it lets a test act at a chosen moment of a transcode.
type hookStore struct {
	*disk.Store
	mu     sync.Mutex
	prefix string
	onPut  func()
}

func (s *hookStore) Put(ctx context.Context, key string, r io.Reader) (lectern.ObjectInfo, error) {
	s.mu.Lock()
	hook := s.onPut
	if hook != nil && strings.HasPrefix(key, s.prefix) {
		s.onPut = nil
		hook()
	}
	s.mu.Unlock()
	return s.Store.Put(ctx, key, r)
}

// when makes the next Put under prefix call fn first.
func (s *hookStore) when(prefix string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefix, s.onPut = prefix, fn
}

// handlerEnv is a migrated database, disk storage, a course and a handler
// over them.
type handlerEnv struct {
	DB      *db.DB
	Store   *hookStore
	Handler *transcode.Handler
	Course  *lectern.Course
	WorkDir string
}

func forEachDB(t *testing.T, fn func(t *testing.T, e *handlerEnv)) {
	t.Helper()
	dbs := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "lectern.db") },
		"PostgreSQL": func(t *testing.T) string { return testenv.PostgresURL(t) },
	}
	for _, name := range []string{"SQLite", "PostgreSQL"} {
		t.Run(name, func(t *testing.T) { fn(t, newHandlerEnv(t, dbs[name](t))) })
	}
}

func newHandlerEnv(t *testing.T, url string) *handlerEnv {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	e := &handlerEnv{DB: d, Store: &hookStore{Store: st}, WorkDir: t.TempDir()}
	e.Handler = &transcode.Handler{DB: d, Storage: e.Store, Pipeline: &transcode.Pipeline{FFmpeg: ffmpeg, FFprobe: ffprobe},
		TempDir: e.WorkDir, Host: "test-worker"}
	teacher := &lectern.User{Email: testenv.Name("t") + "@example.org", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		t.Fatal(err)
	}
	e.Course = &lectern.Course{Title: "Course", OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, e.Course); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *handlerEnv) newLesson(t *testing.T) *lectern.Lesson {
	t.Helper()
	l := &lectern.Lesson{CourseID: e.Course.ID, Title: "Lesson"}
	if err := e.DB.CreateLesson(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

// putSource stores the file at path as a new upload of l's recording and
// returns its key.
func (e *handlerEnv) putSource(t *testing.T, l *lectern.Lesson, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key := lectern.SourceKey(l.ID, testenv.Name("up"))
	if _, err := e.Store.Store.Put(context.Background(), key, f); err != nil {
		t.Fatal(err)
	}
	return key
}

// upload stores the file at path as a new source of l and starts its
// transcode attempt, as the upload endpoint does.
func (e *handlerEnv) upload(t *testing.T, l *lectern.Lesson, path string) *lectern.Job {
	t.Helper()
	_, job, _, err := e.DB.StartTranscode(context.Background(), l.ID, e.putSource(t, l, path))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// run processes job's task with the handler, as a worker would.
func (e *handlerEnv) run(t *testing.T, job *lectern.Job) error {
	t.Helper()
	p := transcode.TranscodePayload{LessonID: job.LessonID, JobID: job.ID, Attempt: job.Attempt}
	return e.Handler.ProcessTranscode(context.Background(), p, transcode.Delivery{})
}

func (e *handlerEnv) lesson(t *testing.T, id string) *lectern.Lesson {
	t.Helper()
	l, err := e.DB.FindLessonByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *handlerEnv) job(t *testing.T, id string) *lectern.Job {
	t.Helper()
	j, err := e.DB.FindJobByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// keys lists the stored keys under prefix, relative to it.
func (e *handlerEnv) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	for obj, err := range e.Store.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, strings.TrimPrefix(obj.Key, prefix))
	}
	return keys
}

// checkWorkDirEmpty fails unless every task removed its temp directory.
func (e *handlerEnv) checkWorkDirEmpty(t *testing.T) {
	t.Helper()
	left, err := os.ReadDir(e.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range left {
		t.Errorf("work directory left behind: %s", d.Name())
	}
}

// checkPublished checks that l's output is what a 320×240 clip with
// audio gives, with every file the master playlist needs in storage,
// under the output prefix of the lesson's n-th delivery.
func (e *handlerEnv) checkPublished(t *testing.T, l *lectern.Lesson, n int) {
	t.Helper()
	if want := lectern.OutputPrefix(l.ID, n); l.Status != lectern.LessonReady || l.OutputPrefix != want || l.Error != "" {
		t.Fatalf("lesson: status %q, output %q, error %q; want ready on %q", l.Status, l.OutputPrefix, l.Error, want)
	}
	var got []string
	for _, r := range l.Renditions {
		got = append(got, r.Name+"/"+r.Kind)
		if r.Bandwidth <= 0 || r.Codecs == "" {
			t.Errorf("rendition %s: bandwidth %d, codecs %q", r.Name, r.Bandwidth, r.Codecs)
		}
	}
	if diff := cmp.Diff([]string{"240p/video", "audio/audio"}, got); diff != "" {
		t.Errorf("renditions (-want +got):\n%s", diff)
	}
	if l.DurationMS < 1500 || l.DurationMS > 2500 {
		t.Errorf("duration = %d ms, want about 2000", l.DurationMS)
	}
	keys := e.keys(t, l.OutputPrefix)
	for _, want := range []string{transcode.MasterPlaylist, l.Poster, l.Thumbnails, "v0/index.m3u8", "v0/init.mp4", "a/index.m3u8"} {
		if want == "" || !contains(keys, want) {
			t.Errorf("published output lacks %q; has %v", want, keys)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHandlerPublishes(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		l := e.newLesson(t)
		job := e.upload(t, l, c.good)
		if err := e.run(t, job); err != nil {
			t.Fatalf("ProcessTranscode: %v", err)
		}
		e.checkPublished(t, e.lesson(t, l.ID), 1)
		j := e.job(t, job.ID)
		if j.State != lectern.JobSucceeded || j.Percent != 100 || j.FinishedAt == nil || j.WorkerHost != "test-worker" {
			t.Errorf("job: state %q, percent %v, finished %v, host %q; want succeeded at 100 %% on test-worker",
				j.State, j.Percent, j.FinishedAt, j.WorkerHost)
		}
		e.checkWorkDirEmpty(t)

		t.Run("DuplicateDeliveryDoesNothing", func(t *testing.T) {
			before := e.keys(t, lectern.LessonPrefix(l.ID))
			if err := e.run(t, job); err != nil {
				t.Errorf("ProcessTranscode of a finished attempt: %v, want nil", err)
			}
			if diff := cmp.Diff(before, e.keys(t, lectern.LessonPrefix(l.ID))); diff != "" {
				t.Errorf("stored objects changed (-before +after):\n%s", diff)
			}
		})
	})
}

func TestHandlerRefusesBadInput(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	tests := []struct {
		name, path, reason string
	}{
		{"RandomBytes", c.random, "The file is damaged or incomplete"},
		{"Truncated", c.truncated, "The file is damaged or incomplete"},
		{"PlaylistInDisguise", c.playlist, "This looks like a playlist, not a video file"},
	}
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				l := e.newLesson(t)
				job := e.upload(t, l, tt.path)
				err := e.run(t, job)
				if !errors.Is(err, transcode.ErrSkipRetry) {
					t.Errorf("ProcessTranscode = %v, want an error wrapping transcode.ErrSkipRetry", err)
				}
				got := e.lesson(t, l.ID)
				if got.Status != lectern.LessonFailed || !strings.HasPrefix(got.Error, tt.reason) {
					t.Errorf("lesson: status %q, error %q; want failed with %q…", got.Status, got.Error, tt.reason)
				}
				if j := e.job(t, job.ID); j.State != lectern.JobFailed || j.Failure != lectern.FailureRefused || j.Error != got.Error || j.Retries != 0 {
					t.Errorf("job: state %q, failure %q, error %q, retries %d; want failed (refused) with the lesson's reason, no retry",
						j.State, j.Failure, j.Error, j.Retries)
				}
				if keys := e.keys(t, lectern.OutputPrefix(l.ID, job.Attempt)); len(keys) > 0 {
					t.Errorf("a refused input left output: %v", keys)
				}
				e.checkWorkDirEmpty(t)
			})
		}
	})
}

func TestHandlerStaleAttempt(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		l := e.newLesson(t)
		job1 := e.upload(t, l, c.good)
		second := e.putSource(t, l, c.good)
		var job2 *lectern.Job
		var err2 error
		// While attempt 1 uploads its output, a new upload comes in and
		// its attempt 2 publishes first.
		e.Store.when(lectern.OutputPrefix(l.ID, 1), func() {
			ctx := context.Background()
			if _, job2, _, err2 = e.DB.StartTranscode(ctx, l.ID, second); err2 != nil {
				return
			}
			h := *e.Handler
			h.Storage = e.Store.Store
			err2 = h.ProcessTranscode(ctx, transcode.TranscodePayload{LessonID: l.ID, JobID: job2.ID, Attempt: 2}, transcode.Delivery{})
		})
		if err := e.run(t, job1); err != nil {
			t.Errorf("ProcessTranscode of the stale attempt = %v, want nil (nothing left to do)", err)
		}
		if job2 == nil || err2 != nil {
			t.Fatalf("attempt 2 did not run during attempt 1's upload (err %v)", err2)
		}
		e.checkPublished(t, e.lesson(t, l.ID), 2)
		if keys := e.keys(t, lectern.OutputPrefix(l.ID, 1)); len(keys) > 0 {
			t.Errorf("the stale attempt's uploads were left behind: %v", keys)
		}
		if j := e.job(t, job1.ID); j.State != lectern.JobCanceled {
			t.Errorf("stale job state = %q, want canceled", j.State)
		}
		if j := e.job(t, job2.ID); j.State != lectern.JobSucceeded {
			t.Errorf("current job state = %q, want succeeded", j.State)
		}
		e.checkWorkDirEmpty(t)
	})
}

func TestHandlerReuploadKeepsOldRenditionUntilPublished(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		l := e.newLesson(t)
		if err := e.run(t, e.upload(t, l, c.good)); err != nil {
			t.Fatal(err)
		}
		old := lectern.OutputPrefix(l.ID, 1)
		job2 := e.upload(t, l, c.good)
		var (
			during     string
			masterStat []string
		)
		e.Store.when(lectern.OutputPrefix(l.ID, 2), func() {
			if l, err := e.DB.FindLessonByID(context.Background(), l.ID); err == nil {
				during = l.OutputPrefix
			}
			_, err := e.Store.Stat(context.Background(), old+transcode.MasterPlaylist)
			masterStat = append(masterStat, lectern.ErrorCode(err))
		})
		if err := e.run(t, job2); err != nil {
			t.Fatal(err)
		}
		if during != old || len(masterStat) != 1 || masterStat[0] != "" {
			t.Errorf("while the re-upload was being published, the lesson pointed at %q (stat of its master playlist: %v); want %q, there",
				during, masterStat, old)
		}
		e.checkPublished(t, e.lesson(t, l.ID), 2)
		if keys := e.keys(t, old); len(keys) > 0 {
			t.Errorf("the replaced output is still stored: %v", keys)
		}
	})
}

// Two deliveries of one attempt (a worker paused past its lease, the task
// given to another): while the first uploads its output, the second takes
// the lease and publishes. The first then publishes nothing, changes
// nothing on the job or lesson, deletes only its own unpublished upload,
// and the published output stays whole.
func TestHandlerStaleDeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		l := e.newLesson(t)
		job := e.upload(t, l, c.good)
		var errB error
		var published []string
		e.Store.when(lectern.OutputPrefix(l.ID, 1), func() {
			h := *e.Handler
			h.Storage = e.Store.Store
			h.Host = "worker-b"
			errB = h.ProcessTranscode(context.Background(), transcode.TranscodePayload{LessonID: l.ID, JobID: job.ID, Attempt: 1}, transcode.Delivery{})
			published = e.keys(t, lectern.OutputPrefix(l.ID, 2))
		})
		if err := e.run(t, job); err != nil {
			t.Errorf("ProcessTranscode of the stale delivery = %v, want nil (it stops)", err)
		}
		if errB != nil || len(published) == 0 {
			t.Fatalf("the second delivery did not publish during the first's upload (err %v)", errB)
		}
		got := e.lesson(t, l.ID)
		e.checkPublished(t, got, 2)
		if diff := cmp.Diff(published, e.keys(t, got.OutputPrefix)); diff != "" {
			t.Errorf("the published output changed after the stale delivery went on (-before +after):\n%s", diff)
		}
		if keys := e.keys(t, lectern.OutputPrefix(l.ID, 1)); len(keys) > 0 {
			t.Errorf("the stale delivery's upload was left behind: %v", keys)
		}
		if j := e.job(t, job.ID); j.State != lectern.JobSucceeded || j.WorkerHost != "worker-b" || j.Percent != 100 || j.Error != "" {
			t.Errorf("job: state %q, host %q, percent %v, error %q; want succeeded on worker-b at 100 %%", j.State, j.WorkerHost, j.Percent, j.Error)
		}
		e.checkWorkDirEmpty(t)
	})
}
