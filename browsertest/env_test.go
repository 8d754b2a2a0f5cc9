package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/testenv"
)

// lectern is a running "lectern serve".
type lectern struct {
	URL string
	mu  sync.Mutex
	log bytes.Buffer
}

// startLectern runs "lectern serve" on a fresh data dir with the given
// admin, and returns once it listens. It is stopped when the test ends.
// env adds NAME=value settings.
func startLectern(t *testing.T, adminEmail, adminPassword string, env ...string) *lectern {
	t.Helper()
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	cmd := exec.Command(testenv.LecternBinary(t), "serve")
	cmd.Env = append(os.Environ(),
		"LECTERN_DATA_DIR="+t.TempDir(),
		"LECTERN_ADDR=127.0.0.1:0",
		"LECTERN_LOG_FORMAT=json",
		"LECTERN_FFMPEG="+ffmpeg,
		"LECTERN_FFPROBE="+ffprobe,
		"LECTERN_ADMIN_EMAIL="+adminEmail,
		"LECTERN_ADMIN_PASSWORD="+adminPassword,
		"LECTERN_DATABASE_URL=", "LECTERN_REDIS_URL=", "LECTERN_S3_ENDPOINT=", "LECTERN_PUBLIC_URL=",
	)
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start lectern: %v", err)
	}
	l := &lectern{}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			l.mu.Lock()
			l.log.WriteString(line + "\n")
			l.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
		if t.Failed() {
			t.Logf("lectern log:\n%s", l.logText())
		}
	})
	select {
	case a := <-addr:
		l.URL = "http://" + a
	case <-done:
		t.Fatalf("lectern exited before listening:\n%s", l.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("lectern did not listen within a minute:\n%s", l.logText())
	}
	l.waitReady(t)
	return l
}

func (l *lectern) logText() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.String()
}

func (l *lectern) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(l.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("lectern at %s not ready within 30 s", l.URL)
}

// createUser makes an account through the API, logged in as the admin.
func (l *lectern) createUser(t *testing.T, admin *http.Client, email, name, password, role string) {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"name":%q,"password":%q,"role":%q}`, email, name, password, role)
	resp, err := admin.Post(l.URL+"/api/v1/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("create user %s: %s %s", email, resp.Status, b)
	}
}

// teacherLesson makes, through the API, a teacher (by the admin) with a
// course and a published lesson awaiting its recording, and returns the
// teacher's session and the lesson's ID.
func (l *lectern) teacherLesson(t *testing.T, admin *http.Client, email, password string) (*http.Client, string) {
	t.Helper()
	l.createUser(t, admin, email, "Ada Lovelace", password, "teacher")
	teacher := l.apiLogin(t, email, password)
	var course, lesson struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Acoustics"}, &course, http.StatusCreated)
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons",
		map[string]string{"publish_at": "now", "title": "Tones"}, &lesson, http.StatusCreated)
	return teacher, lesson.ID
}

// apiLogin returns an HTTP client with a session for email.
func (l *lectern) apiLogin(t *testing.T, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	resp, err := c.Post(l.URL+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log in as %s: %s", email, resp.Status)
	}
	return c
}

// newBrowser starts Debian's chromium, headless, with a fresh profile (and
// the extra options), and returns a context for its first tab.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// A hidden tab must keep playing and sending heartbeats.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("mute-audio", true),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// Start the browser now: subscribing to events of a browser that is
	// still starting races with its start.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// artifactsDir is where screenshots go: LECTERN_TEST_ARTIFACTS, or a new
// temporary directory that outlives the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LECTERN_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lectern-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// makeClip generates a small test clip: 6 s of 640×360 video with a tone.
func makeClip(t *testing.T) string {
	t.Helper()
	return makeClipOf(t, 6)
}

// makeClipOf generates a test clip of secs seconds.
func makeClipOf(t *testing.T, secs int) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "lesson.mp4")
	cmd := exec.Command(ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=640x360:rate=25:duration=%d", secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate clip: %v\n%s", err, b)
	}
	return out
}
