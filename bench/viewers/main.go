// Command viewers measures how Lectern serves a class watching one lesson
// at once (RELIABILITY 17): hundreds of viewers fetching playlists and
// segments as hls.js does, from a real "lectern serve".
//
// It builds and starts lectern serve (SQLite and disk storage in a
// temporary directory), has a teacher upload a recording made by ffmpeg,
// waits for the real transcode, enrols -viewers students, then lets them
// join over -ramp and watch for -duration: each asks the API for the
// playback URLs, loads the master playlist, a video rendition's and the
// audio rendition's playlists and init segments, then loads segments of
// both up to 30 s ahead of a playhead that advances in real time, from a
// random point in the first half of the lesson (where a student resumes),
// starting over at the end. It prints the segment latency percentiles, the
// stalls (a playhead waiting for data after it had started), the start-up
// times, and the server's Go heap, resident memory and goroutines before,
// during and after, read from its /metrics and /proc.
//
// The students get sessions written straight into the server's database
// (see benchkit.Students), so that the login rate limits, which are not
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
	"sync"
	"time"

	"github.com/lectern/lectern/bench/internal/benchkit"
)

// config is the command line.
type config struct {
	viewers     int
	duration    time.Duration
	ramp        time.Duration
	settle      time.Duration
	clipSeconds int
	size        string
	fps         int
	lectern     string
	ffmpeg      string
	ffprobe     string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.viewers, "viewers", 500, "students watching at once")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Minute, "how long they watch, ramp included")
	flag.DurationVar(&cfg.ramp, "ramp", 30*time.Second, "over how long they join, evenly")
	flag.DurationVar(&cfg.settle, "settle", 5*time.Second, "how long the server is watched idle, before and after")
	flag.IntVar(&cfg.clipSeconds, "clip-seconds", 180, "length of the lesson")
	flag.StringVar(&cfg.size, "size", "1280x720", "frame size of the lesson's recording (the ladder never upscales)")
	flag.IntVar(&cfg.fps, "fps", 30, "frame rate of the recording")
	flag.StringVar(&cfg.lectern, "lectern", "", "lectern binary; empty builds ./cmd/lectern")
	flag.StringVar(&cfg.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg to make the recording and transcode it")
	flag.StringVar(&cfg.ffprobe, "ffprobe", "ffprobe", "ffprobe for the server")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "viewers:", err)
		os.Exit(1)
	}
	s.Print(os.Stdout)
	if len(s.Failures) > 0 {
		os.Exit(1)
	}
}

// run prepares the server and the lesson, runs the viewers and returns
// what they and the server's readings showed. Progress goes to logw.
func run(ctx context.Context, cfg config, logw io.Writer) (*Summary, error) {
	dir, err := os.MkdirTemp("", "lectern-bench-viewers-")
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
	p, err := benchkit.Start(ctx, bin, dir, map[string]string{"LECTERN_FFMPEG": ffmpeg, "LECTERN_FFPROBE": ffprobe})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	lessonID, course, err := prepareLesson(ctx, cfg, p, ffmpeg, dir, logw)
	if err != nil {
		return nil, err
	}
	cookies, err := benchkit.Students(ctx, p.DataDir, course.JoinCode, cfg.viewers)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "%d viewers joining over %v, watching for %v…\n", cfg.viewers, cfg.ramp, cfg.duration)
	_, stopWatch := p.Watch(500*time.Millisecond, nil)
	sleep(ctx, cfg.settle) // the idle baseline
	rec := &recorder{}
	watched := watch(ctx, cfg, p.URL, lessonID, cookies, rec)
	sleep(ctx, cfg.settle) // connections close, goroutines return
	samples := stopWatch()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s := rec.summary(cfg.viewers, watched)
	s.Server = serverSamples(samples, cfg)
	return &s, nil
}

// prepareLesson has a teacher upload a recording made by ffmpeg and waits
// until it is transcoded.
func prepareLesson(ctx context.Context, cfg config, p *benchkit.Process, ffmpeg, dir string, logw io.Writer) (string, *benchkit.Course, error) {
	course, err := benchkit.NewCourse(ctx, p.URL, "Viewers benchmark")
	if err != nil {
		return "", nil, err
	}
	lessonID, err := course.NewLesson(ctx, "The lesson everyone watches")
	if err != nil {
		return "", nil, err
	}
	clip := filepath.Join(dir, "lesson.mp4")
	fmt.Fprintf(logw, "making a %d s %s recording and transcoding it…\n", cfg.clipSeconds, cfg.size)
	if err := benchkit.MakeClip(ctx, ffmpeg, clip, cfg.clipSeconds, cfg.size, cfg.fps); err != nil {
		return "", nil, err
	}
	f, err := os.Open(clip)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	if err := course.Teacher.Call(ctx, "PUT", "/api/v1/lessons/"+lessonID+"/source", f, nil, http.StatusAccepted); err != nil {
		return "", nil, err
	}
	began := time.Now()
	if err := course.WaitReady(ctx, lessonID, 30*time.Minute); err != nil {
		return "", nil, err
	}
	fmt.Fprintf(logw, "transcoded in %v\n", time.Since(began).Round(time.Second))
	return lessonID, course, nil
}

// watch runs the viewers, joining evenly over the ramp, until the
// duration has passed, and returns how long they watched.
func watch(ctx context.Context, cfg config, base, lessonID string, cookies []*http.Cookie, rec *recorder) time.Duration {
	// Each viewer is a browser of its own with its own connections; they
	// share one pool here, large enough that none waits for another's.
	tr := &http.Transport{MaxIdleConns: 4 * len(cookies), MaxIdleConnsPerHost: 4 * len(cookies), IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i, c := range cookies {
		wg.Go(func() {
			sleep(ctx, cfg.ramp*time.Duration(i)/time.Duration(len(cookies)))
			v := &viewer{hc: hc, base: base, cookie: c, lessonID: lessonID, rec: rec}
			v.watch(ctx)
		})
	}
	wg.Wait()
	return time.Since(began)
}
