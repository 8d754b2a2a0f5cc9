package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// TestQuickStartEndToEnd runs Lectern the way the README's quick start
// does: "lectern serve" in a fresh folder, with no setting but the listen
// address (so the data folder is the relative ./lectern-data), logs in
// with the banner's generated admin, uploads a recording and plays it
// back through /media.
func TestQuickStartEndToEnd(t *testing.T) {
	t.Parallel()
	testenv.FFmpeg(t)
	clip := makeQuickStartClip(t)
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	// lecternEnv passes on PATH (where ffmpeg is found) and HOME, and no
	// LECTERN_* variable of the test process.
	p := startLecternIn(t, dir, map[string]string{"LECTERN_ADDR": addr}, "serve")

	email := bannerValue(t, p, "email:")
	password := bannerValue(t, p, "password:")
	base := "http://" + addr
	waitHealthy(t, p, base)

	admin := newSession(t, base, email, password)
	var course struct{ ID string }
	admin.call(t, "POST", "/api/v1/courses", map[string]string{"title": "First steps"}, http.StatusCreated, &course)
	var lesson struct{ ID string }
	admin.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Hello"}, http.StatusCreated, &lesson)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	admin.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	waitReadyNoFailedTry(t, admin, lesson.ID)

	var playback struct {
		HLSURL string `json:"hls_url"`
	}
	admin.call(t, "GET", "/api/v1/lessons/"+lesson.ID+"/playback", nil, http.StatusOK, &playback)
	if !strings.HasPrefix(playback.HLSURL, "/media/") {
		t.Fatalf("hls_url = %q, want /media/<token>/master.m3u8", playback.HLSURL)
	}
	master := base + playback.HLSURL
	status, body := admin.get(t, master)
	if status != http.StatusOK || !strings.HasPrefix(string(body), "#EXTM3U") {
		t.Fatalf("GET master playlist: %d %q", status, body)
	}
	variants := playlistURIs(body)
	if len(variants) == 0 {
		t.Fatalf("the master playlist names no media playlist:\n%s", body)
	}
	media := resolve(t, master, variants[0])
	status, body = admin.get(t, media)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %q", variants[0], status, body)
	}
	var segment string
	for _, uri := range playlistURIs(body) {
		if strings.HasSuffix(uri, ".m4s") {
			segment = uri
			break
		}
	}
	if segment == "" {
		t.Fatalf("%s names no segment:\n%s", variants[0], body)
	}
	if status, data := admin.get(t, resolve(t, media, segment)); status != http.StatusOK || len(data) == 0 {
		t.Errorf("GET segment %s: %d, %d bytes", segment, status, len(data))
	}
	p.stop()

	data := filepath.Join(dir, "lectern-data")
	for _, name := range []string{"lectern.db", "secret", "objects"} {
		if _, err := os.Stat(filepath.Join(data, name)); err != nil {
			t.Errorf("the quick start did not keep its data in %s: %v", data, err)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(data, workDirName)); len(left) != 0 {
		t.Errorf("transcode work directories left behind: %d", len(left))
	}
}

// makeQuickStartClip generates a small recording: 2 s of 320×240 video
// with a tone, in MP4.
func makeQuickStartClip(t *testing.T) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "hello.mp4")
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make the clip: %v\n%s", err, b)
	}
	return out
}

// freeLoopbackAddr returns a loopback address with a port nothing listens
// on right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// bannerValue returns the value after label on the first-admin banner.
func bannerValue(t *testing.T, p *proc, label string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s+(\S+)`).FindStringSubmatch(p.waitStdout(label))
	if m == nil {
		t.Fatalf("no %s in the first-admin banner:\n%s", label, p.stdout)
	}
	return m[1]
}

// waitHealthy waits until base answers /healthz.
func waitHealthy(t *testing.T, p *proc, base string) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("lectern exited (%v) before answering /healthz", p.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz never answered 200 (last error %v)", base, err)
		}
	}
}

// waitReadyNoFailedTry waits until the lesson is ready, and fails at once
// when a transcode try fails: the quick start must work on the first try.
func waitReadyNoFailedTry(t *testing.T, s *session, id string) {
	t.Helper()
	for deadline := time.Now().Add(transcodeGuard); ; time.Sleep(200 * time.Millisecond) {
		var l struct {
			Status    string
			Transcode *struct {
				State   string
				Percent float64
				Error   string
			}
		}
		s.call(t, "GET", "/api/v1/lessons/"+id, nil, http.StatusOK, &l)
		switch {
		case l.Status == "ready":
			return
		case l.Status == "failed" || (l.Transcode != nil && l.Transcode.Error != ""):
			t.Fatalf("transcode failed: status %q, transcode %+v", l.Status, l.Transcode)
		case time.Now().After(deadline):
			t.Fatalf("gave up waiting for the transcode; last status %q, transcode %+v", l.Status, l.Transcode)
		}
	}
}
