package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/testenv"
)

// transcodeGuard bounds the wait for a lesson to be transcoded. It only
// turns a hang into a failure; nothing asserts on how fast it is.
const transcodeGuard = 5 * time.Minute

// The admin every end-to-end server is started with.
const (
	e2eAdminEmail    = "admin@example.org"
	e2eAdminPassword = "admin password 1"
)

// TestLessonEndToEnd uploads a 1280×720, 10 s recording with sound to a
// running lectern, waits for it to be transcoded, and plays it back
// through /media/… as an enrolled student: in embedded mode ("serve") and
// in the scaled setup (api and worker processes on PostgreSQL, Redis and
// MinIO).
//
// It is not parallel with the package's other tests: its two transcodes
// keep every core busy, which would starve their timing-sensitive process
// checks (graceful shutdown of an in-flight request).
func TestLessonEndToEnd(t *testing.T) {
	_, ffprobe := testenv.FFmpeg(t)
	clip := makeLessonClip(t)

	t.Run("Embedded", func(t *testing.T) {
		t.Parallel()
		env := embeddedEnv(t.TempDir())
		env["LECTERN_ADMIN_EMAIL"], env["LECTERN_ADMIN_PASSWORD"] = e2eAdminEmail, e2eAdminPassword
		p := startLectern(t, env, "serve")
		lessonEndToEnd(t, p.ready(), clip, ffprobe)
		p.stop()
	})
	t.Run("Scaled", func(t *testing.T) {
		t.Parallel()
		s3 := testenv.S3Bucket(t)
		env := map[string]string{
			"LECTERN_DATABASE_URL":   testenv.PostgresURL(t),
			"LECTERN_REDIS_URL":      testenv.RedisURL(t),
			"LECTERN_S3_ENDPOINT":    s3.Endpoint,
			"LECTERN_S3_ACCESS_KEY":  s3.AccessKey,
			"LECTERN_S3_SECRET_KEY":  s3.SecretKey,
			"LECTERN_S3_BUCKET":      s3.Bucket,
			"LECTERN_SECRET":         strings.Repeat("0123456789abcdef", 4),
			"LECTERN_ADDR":           "127.0.0.1:0",
			"LECTERN_LOG_FORMAT":     "json",
			"LECTERN_ADMIN_EMAIL":    e2eAdminEmail,
			"LECTERN_ADMIN_PASSWORD": e2eAdminPassword,
		}
		apiEnv, workerEnv := maps(env, "LECTERN_DATA_DIR", t.TempDir()), maps(env, "LECTERN_DATA_DIR", t.TempDir())
		api := startLectern(t, apiEnv, "api")
		base := api.ready()
		worker := startLectern(t, workerEnv, "worker")
		worker.waitLog("worker started")
		lessonEndToEnd(t, base, clip, ffprobe)
		worker.stop()
		api.stop()
	})
}

// maps returns a copy of env with k set to v.
func maps(env map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range env {
		out[key] = val
	}
	return out
}

// makeLessonClip generates the recording: 1280×720 at 30 fps for 10 s,
// with a tone, in MP4.
func makeLessonClip(t *testing.T) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "lesson.mp4")
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=10",
		"-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-shortest", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make the lesson clip: %v\n%s", err, b)
	}
	return out
}

// lessonEndToEnd is the journey through a server at base: people, a
// course and a lesson, the upload, the wait, and playback.
func lessonEndToEnd(t *testing.T, base, clip, ffprobe string) {
	t.Helper()
	admin := newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	teacher := admin.newUser(t, "teacher")
	student := admin.newUser(t, "student")
	outsider := admin.newUser(t, "student")

	var course struct {
		ID       string
		JoinCode string `json:"join_code"`
	}
	teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Optics"}, http.StatusCreated, &course)
	student.call(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}, http.StatusOK, nil)
	var lesson struct{ ID string }
	teacher.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Refraction"}, http.StatusCreated, &lesson)

	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var accepted struct{ Status string }
	teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, &accepted)
	if accepted.Status != "queued" {
		t.Errorf("upload answered status %q, want queued", accepted.Status)
	}
	waitReady(t, teacher, lesson.ID)

	var playback struct {
		HLSURL string `json:"hls_url"`
	}
	student.call(t, "GET", "/api/v1/lessons/"+lesson.ID+"/playback", nil, http.StatusOK, &playback)
	if !strings.HasPrefix(playback.HLSURL, "/media/") || !strings.HasSuffix(playback.HLSURL, "/master.m3u8") {
		t.Fatalf("hls_url = %q, want /media/<token>/master.m3u8", playback.HLSURL)
	}
	master := base + playback.HLSURL
	checkEveryFileAnswers(t, student, master)
	checkRungs(t, ffprobe, master)

	t.Run("OutsiderRefused", func(t *testing.T) {
		outsider.call(t, "GET", "/api/v1/lessons/"+lesson.ID, nil, http.StatusNotFound, nil)
		outsider.call(t, "GET", "/api/v1/lessons/"+lesson.ID+"/playback", nil, http.StatusNotFound, nil)
		if status, body := outsider.get(t, master); status != http.StatusForbidden || bytes.Contains(body, []byte("#EXTM3U")) {
			t.Errorf("outsider with the student's media URL: %d %q, want 403 and no playlist", status, body)
		}
	})
	t.Run("TamperedTokenRefused", func(t *testing.T) {
		token := strings.Split(playback.HLSURL, "/")[2]
		tampered := []byte(token)
		tampered[len(tampered)/2] ^= 1
		u := base + strings.Replace(playback.HLSURL, token, string(tampered), 1)
		if status, body := student.get(t, u); status != http.StatusForbidden || bytes.Contains(body, []byte("#EXTM3U")) {
			t.Errorf("tampered media URL: %d %q, want 403 and no playlist", status, body)
		}
	})
}

// waitReady polls the lesson until its transcode is published, logging
// the progress it saw, and fails if the transcode fails.
func waitReady(t *testing.T, s *session, id string) {
	t.Helper()
	var seen []float64
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
		if l.Transcode != nil && (len(seen) == 0 || seen[len(seen)-1] != l.Transcode.Percent) {
			seen = append(seen, l.Transcode.Percent)
		}
		switch {
		case l.Status == "ready":
			t.Logf("transcode percent seen while polling: %v", seen)
			if seen[len(seen)-1] != 100 {
				t.Errorf("a ready lesson's transcode is at %v %%, want 100", seen[len(seen)-1])
			}
			return
		case l.Status == "failed":
			t.Fatalf("transcode failed: %+v", l.Transcode)
		case time.Now().After(deadline):
			t.Fatalf("gave up waiting for the transcode; last status %q, percent seen %v", l.Status, seen)
		}
	}
}

// checkEveryFileAnswers fetches the master playlist, every media playlist
// it names, and every init segment and segment those name.
func checkEveryFileAnswers(t *testing.T, s *session, master string) {
	t.Helper()
	status, body := s.get(t, master)
	if status != http.StatusOK {
		t.Fatalf("GET master playlist: %d %s", status, body)
	}
	variants := playlistURIs(body)
	if len(variants) != 4 {
		t.Errorf("master playlist names %d media playlists, want 4 (720p, 480p, 360p, audio):\n%s", len(variants), body)
	}
	files := 0
	for _, v := range variants {
		vURL := resolve(t, master, v)
		status, body := s.get(t, vURL)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d", v, status)
			continue
		}
		segs := playlistURIs(body)
		if len(segs) < 3 {
			t.Errorf("%s names %d files, want an init segment and segments for 10 s", v, len(segs))
		}
		for _, seg := range segs {
			if status, _ := s.get(t, resolve(t, vURL, seg)); status != http.StatusOK {
				t.Errorf("GET %s from %s: %d", seg, v, status)
			}
			files++
		}
	}
	t.Logf("fetched the master playlist, %d media playlists and %d segments", len(variants), files)
}

// playlistURIs returns the URIs an HLS playlist names: its URI lines and
// URI="…" attributes (EXT-X-MEDIA, EXT-X-MAP), without duplicates.
func playlistURIs(playlist []byte) []string {
	var uris []string
	sc := bufio.NewScanner(bytes.NewReader(playlist))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if _, rest, ok := strings.Cut(line, `URI="`); ok && strings.HasPrefix(line, "#") {
			uri, _, _ := strings.Cut(rest, `"`)
			uris = append(uris, uri)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			uris = append(uris, line)
		}
	}
	slices.Sort(uris)
	return slices.Compact(uris)
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r).String()
}

// checkRungs has ffprobe open the master playlist over HTTP, as a player
// would, and checks the rungs it finds.
func checkRungs(t *testing.T, ffprobe, master string) {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error",
		"-protocol_whitelist", "http,tcp,file,crypto",
		"-show_entries", "stream=codec_type,width,height", "-of", "json", master).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ffprobe %s: %v\n%s", master, err, stderr)
	}
	var probe struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			Height    int
		}
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("decode ffprobe output: %v", err)
	}
	var heights []int
	audio := false
	for _, s := range probe.Streams {
		switch s.CodecType {
		case "video":
			heights = append(heights, s.Height)
		case "audio":
			audio = true
		}
	}
	slices.Sort(heights)
	heights = slices.Compact(heights)
	if diff := cmp.Diff([]int{360, 480, 720}, heights); diff != "" || !audio {
		t.Errorf("ffprobe of the master playlist: video heights (-want +got):\n%s\naudio found: %v", diff, audio)
	}
}

// session is a logged-in API client.
type session struct {
	base string
	hc   *http.Client
}

func newSession(t *testing.T, base, email, password string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &session{base: base, hc: &http.Client{Jar: jar}}
	s.call(t, "POST", "/api/v1/session", map[string]string{"email": email, "password": password}, http.StatusOK, nil)
	return s
}

// newUser creates a user with role (the session must be an admin's) and
// returns a session logged in as them.
func (s *session) newUser(t *testing.T, role string) *session {
	t.Helper()
	email := testenv.Name(role) + "@example.org"
	password := "password of " + email
	s.call(t, "POST", "/api/v1/users", map[string]string{"email": email, "name": role, "password": password, "role": role}, http.StatusCreated, nil)
	return newSession(t, s.base, email, password)
}

// call sends a request to the API and decodes the answer into out. body is
// JSON unless it is an io.Reader (sent as is).
func (s *session) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r, ctype = b, "video/mp4"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := body.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			req.ContentLength = fi.Size()
		}
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// get fetches an absolute URL with the session's cookies.
func (s *session) get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := s.hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, data
}
