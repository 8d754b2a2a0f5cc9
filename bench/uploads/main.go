// Command uploads measures what Lectern does when many teachers upload
// large recordings at once (RELIABILITY 19): the server's memory while
// the bytes stream through it, that every upload's transcode job is
// recorded and visible to admins as soon as its upload is answered, and
// that transcodes never run more at once than the worker is configured
// for.
//
// It builds and starts lectern serve (SQLite and disk storage in a
// temporary directory) with LECTERN_WORKER_CONCURRENCY=-limit. -teachers
// teachers, each with a course and a lesson, PUT a recording of -size
// bytes at the same moment. Each recording is a small real clip made by
// ffmpeg followed by an MP4 "free" box of zeros up to the size, generated
// as it is sent, so that the worker really probes and transcodes every one
// of them. While the uploads stream and the jobs run, the server's Go heap
// and resident memory (from its /metrics and /proc) and the transcodes
// running (the admin jobs API, and the ffmpeg processes under the server
// in /proc) are read every -every, until every lesson is ready.
//
// The teachers get sessions written straight into the server's database
// (see benchkit.Sessions), so that the login rate limits, which are not
// measured here, do not stop them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/bench/internal/benchkit"
)

// config is the command line.
type config struct {
	teachers int
	size     int64
	limit    int
	every    time.Duration
	settle   time.Duration
	wait     time.Duration
	lectern  string
	ffmpeg   string
	ffprobe  string
}

func main() {
	var cfg config
	var size string
	flag.IntVar(&cfg.teachers, "teachers", 20, "teachers uploading at once")
	flag.StringVar(&size, "size", "1GiB", "size of each recording: bytes, or with a unit (MiB, GiB)")
	flag.IntVar(&cfg.limit, "limit", 2, "transcodes at once (LECTERN_WORKER_CONCURRENCY)")
	flag.DurationVar(&cfg.every, "every", 200*time.Millisecond, "how often the server is read")
	flag.DurationVar(&cfg.settle, "settle", 3*time.Second, "how long the server is watched idle first")
	flag.DurationVar(&cfg.wait, "wait", time.Hour, "how long to wait for every transcode")
	flag.StringVar(&cfg.lectern, "lectern", "", "lectern binary; empty builds ./cmd/lectern")
	flag.StringVar(&cfg.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg to make the clip and transcode it")
	flag.StringVar(&cfg.ffprobe, "ffprobe", "ffprobe", "ffprobe for the server")
	flag.Parse()
	var err error
	if cfg.size, err = parseSize(size); err != nil {
		fmt.Fprintln(os.Stderr, "uploads: -size:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uploads:", err)
		os.Exit(1)
	}
	s.Print(os.Stdout)
	if len(s.Failures) > 0 {
		os.Exit(1)
	}
}

// parseSize reads "1GiB", "512MiB", "16MB" or plain bytes.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := cutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// teacher is one teacher's client and lesson.
type teacher struct {
	c        *benchkit.Client
	lessonID string
}

// run prepares the server and the teachers, runs the uploads and the
// transcodes, and returns what it read. Progress goes to logw.
func run(ctx context.Context, cfg config, logw io.Writer) (*Summary, error) {
	dir, err := os.MkdirTemp("", "lectern-bench-uploads-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.lectern
	if bin == "" {
		mod, err := benchkit.ModuleDir()
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(logw, "building lectern…")
		if bin, err = benchkit.Build(ctx, mod, dir); err != nil {
			return nil, err
		}
	}
	ffmpeg, err := exec.LookPath(cfg.ffmpeg)
	if err != nil {
		return nil, err
	}
	ffprobe, err := exec.LookPath(cfg.ffprobe)
	if err != nil {
		return nil, err
	}
	clipPath := filepath.Join(dir, "clip.mp4")
	if err := benchkit.MakeClip(ctx, ffmpeg, clipPath, 4, "320x180", 15); err != nil {
		return nil, err
	}
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		return nil, err
	}
	p, err := benchkit.Start(ctx, bin, dir, map[string]string{
		"LECTERN_FFMPEG": ffmpeg, "LECTERN_FFPROBE": ffprobe,
		"LECTERN_WORKER_CONCURRENCY": strconv.Itoa(cfg.limit),
		"LECTERN_MAX_UPLOAD_BYTES":   strconv.FormatInt(cfg.size+1<<20, 10),
	})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	teachers, err := prepare(ctx, cfg, p)
	if err != nil {
		return nil, err
	}
	admin, err := benchkit.Login(ctx, p.URL, benchkit.AdminEmail, benchkit.AdminPassword)
	if err != nil {
		return nil, err
	}
	watchBegan, stopWatch := p.Watch(cfg.every, func(s *benchkit.Sample) { probe(ctx, admin, p, s) })
	sleep(ctx, cfg.settle) // the idle baseline
	fmt.Fprintf(logw, "%d teachers uploading %s each, transcodes limited to %d…\n", cfg.teachers, benchkit.MiB(float64(cfg.size)), cfg.limit)
	s := &Summary{Teachers: cfg.teachers, Size: cfg.size, Limit: cfg.limit}
	s.UploadStart = time.Since(watchBegan)
	s.UploadWall, s.Failures = upload(ctx, cfg, p.URL, teachers, clip)
	s.UploadEnd = s.UploadStart + s.UploadWall
	s.JobsAtUploadEnd, err = jobStates(ctx, admin, teachers)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "uploads done in %v; waiting for the transcodes…\n", s.UploadWall.Round(time.Millisecond))
	began := time.Now()
	s.Failures = append(s.Failures, waitReady(ctx, cfg, teachers)...)
	s.TranscodeWall = time.Since(began)
	s.Samples = stopWatch()
	return s, ctx.Err()
}

// prepare gives every teacher a course and a lesson awaiting its upload.
func prepare(ctx context.Context, cfg config, p *benchkit.Process) ([]teacher, error) {
	cookies, err := benchkit.Sessions(ctx, p.DataDir, lectern.RoleTeacher, "", cfg.teachers)
	if err != nil {
		return nil, err
	}
	// Uploads are long: no client timeout, the context bounds them.
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.teachers}
	hc := &http.Client{Transport: tr}
	out := make([]teacher, len(cookies))
	for i, cookie := range cookies {
		c := benchkit.WithCookie(p.URL, cookie, hc)
		var course struct{ ID string }
		if err := c.Call(ctx, "POST", "/api/v1/courses", map[string]string{"title": fmt.Sprint("Course ", i)}, &course, http.StatusCreated); err != nil {
			return nil, err
		}
		var l struct{ ID string }
		if err := c.Call(ctx, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"title": "Lecture"}, &l, http.StatusCreated); err != nil {
			return nil, err
		}
		out[i] = teacher{c: c, lessonID: l.ID}
	}
	return out, nil
}

// upload has every teacher PUT their recording at once and returns how
// long until the last was answered, and the uploads that failed.
func upload(ctx context.Context, cfg config, base string, teachers []teacher, clip []byte) (time.Duration, []error) {
	var mu sync.Mutex
	var failures []error
	began := time.Now()
	var wg sync.WaitGroup
	for _, t := range teachers {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, "PUT", base+"/api/v1/lessons/"+t.lessonID+"/source", newRecording(clip, cfg.size))
			if err == nil {
				req.ContentLength = max(cfg.size, int64(len(clip))+freeHeader)
				req.Header.Set("Content-Type", "video/mp4")
				var resp *http.Response
				if resp, err = t.c.HC.Do(req); err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("upload of lesson %s: %s %.200s", t.lessonID, resp.Status, body)
					}
				}
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return time.Since(began), failures
}

// jobStates counts the states of the teachers' lessons' jobs as the admin
// jobs API lists them; a lesson without a job counts as "missing".
func jobStates(ctx context.Context, admin *benchkit.Client, teachers []teacher) (map[string]int, error) {
	jobs, err := listJobs(ctx, admin)
	if err != nil {
		return nil, err
	}
	byLesson := map[string]string{}
	for _, j := range jobs {
		byLesson[j.LessonID] = j.State
	}
	out := map[string]int{}
	for _, t := range teachers {
		state, ok := byLesson[t.lessonID]
		if !ok {
			state = "missing"
		}
		out[state]++
	}
	return out, nil
}

// job is a transcode job as the admin jobs API shows it.
type job struct {
	LessonID string `json:"lesson_id"`
	State    string `json:"state"`
}

func listJobs(ctx context.Context, admin *benchkit.Client) ([]job, error) {
	var resp struct{ Jobs []job }
	err := admin.Call(ctx, "GET", "/api/v1/admin/jobs", nil, &resp, http.StatusOK)
	return resp.Jobs, err
}

// waitReady waits until every lesson is ready and returns the lessons
// that failed or were not ready in time.
func waitReady(ctx context.Context, cfg config, teachers []teacher) []error {
	var failures []error
	for _, t := range teachers {
		c := &benchkit.Course{Teacher: t.c}
		if err := c.WaitReady(ctx, t.lessonID, cfg.wait); err != nil {
			failures = append(failures, err)
		}
	}
	return failures
}

// probe counts, at each reading, the transcodes running as the admin jobs
// API says (-1 when it could not be read) and the ffmpeg processes under
// the server.
func probe(ctx context.Context, admin *benchkit.Client, p *benchkit.Process, s *benchkit.Sample) {
	s.FFmpeg = p.Children("ffmpeg")
	jobs, err := listJobs(ctx, admin)
	if err != nil {
		s.Running = -1
		return
	}
	for _, j := range jobs {
		if j.State == "running" {
			s.Running++
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
