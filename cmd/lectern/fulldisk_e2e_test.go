package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/disk"
)

// recordingClient is an HTTP client with a session that keeps every
// response body it reads, so that a test can check them all at the end.
type recordingClient struct {
	t      *testing.T
	base   string
	hc     *http.Client
	bodies *[]string
}

type reply struct {
	Status int
	Body   []byte
}

func (c *recordingClient) do(method, path string, body []byte, headers ...string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil && len(headers) == 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	*c.bodies = append(*c.bodies, method+" "+path+": "+string(b))
	return reply{resp.StatusCode, b}
}

func (c *recordingClient) json(method, path string, v any) reply {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(method, path, b)
}

func newRecordingClient(t *testing.T, base string, bodies *[]string) *recordingClient {
	jar, _ := cookiejar.New(nil)
	return &recordingClient{t: t, base: base, hc: &http.Client{Jar: jar}, bodies: bodies}
}

// mustStatus fails the test unless r has status want.
func mustStatus(t *testing.T, what string, r reply, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, want)
	}
}

// wantInsufficientStorage checks r is the API's 507 with a message about
// space.
func wantInsufficientStorage(t *testing.T, what string, r reply) {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.Body, &body)
	if r.Status != http.StatusInsufficientStorage || body.Error.Code != "insufficient_storage" ||
		!strings.Contains(body.Error.Message, "space") {
		t.Errorf("%s: %d %s, want 507 insufficient_storage with a message about space", what, r.Status, r.Body)
	}
}

// mp4Start is how an MP4 starts, enough for the upload's first-bytes check.
const mp4Start = "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"

// TestAcceptance29_FullDiskAndAbandonedUploads runs "lectern serve" with
// its data dir on a small real filesystem and fills it with half-finished
// resumable uploads (RELIABILITY 29): the upload that reaches the reserve
// and new uploads get 507 with a clear message; once the disk is full to
// the last byte, login and lesson creation never answer 500 and /readyz
// says not ready because of low disk; a tus DELETE frees its space on the
// full disk; the sweeper frees the rest; and no response body shows the
// mount path.
func TestAcceptance29_FullDiskAndAbandonedUploads(t *testing.T) {
	mnt := testenv.SmallDisk(t, 64<<20)
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = mnt
	cfg.DatabaseURL = "sqlite:" + filepath.Join(mnt, "lectern.db")
	cfg.Secret = strings.Repeat("0123456789abcdef", 4)
	cfg.AdminEmail, cfg.AdminPassword = "admin@example.org", "admin password"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.MinFreeDisk = 8 << 20
	cfg.UploadExpiry = time.Hour
	cfg.sweepEvery = 200 * time.Millisecond
	m := NewServeMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	t.Cleanup(func() { m.Close() })
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("serve: %v", err)
	}
	base := "http://" + m.Addr()
	var bodies []string
	admin := newRecordingClient(t, base, &bodies)
	mustStatus(t, "admin login", admin.json("POST", "/api/v1/session", map[string]string{"email": cfg.AdminEmail, "password": cfg.AdminPassword}), http.StatusOK)
	mustStatus(t, "create teacher", admin.json("POST", "/api/v1/users", map[string]string{
		"email": "teacher@example.org", "name": "Teacher", "password": "teacher password", "role": "teacher"}), http.StatusCreated)
	teacher := newRecordingClient(t, base, &bodies)
	teacherLogin := map[string]string{"email": "teacher@example.org", "password": "teacher password"}
	mustStatus(t, "teacher login", teacher.json("POST", "/api/v1/session", teacherLogin), http.StatusOK)
	var course, lesson struct{ ID string }
	r := teacher.json("POST", "/api/v1/courses", map[string]string{"title": "Course"})
	mustStatus(t, "create course", r, http.StatusCreated)
	_ = json.Unmarshal(r.Body, &course)
	r = teacher.json("POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Lesson"})
	mustStatus(t, "create lesson", r, http.StatusCreated)
	_ = json.Unmarshal(r.Body, &lesson)

	free := func() int64 {
		n, err := disk.FreeSpace(mnt)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tusMeta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lesson.ID))
	create := func(size int64) reply {
		return teacher.do("POST", "/api/v1/uploads", nil, "Tus-Resumable", "1.0.0",
			"Upload-Length", strconv.FormatInt(size, 10), "Upload-Metadata", tusMeta)
	}
	patch := func(url string, offset int64, body []byte) reply {
		return teacher.do("PATCH", url, body, "Tus-Resumable", "1.0.0",
			"Upload-Offset", strconv.FormatInt(offset, 10), "Content-Type", "application/offset+octet-stream")
	}

	// Five uploads of 16 MiB start while the disk has room for each; each
	// sends 12 MiB and is abandoned. The fifth reaches the reserve.
	var urls []string
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("POST", base+"/api/v1/uploads", nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", strconv.Itoa(16<<20))
		req.Header.Set("Upload-Metadata", tusMeta)
		resp, err := teacher.hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create upload %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
		urls = append(urls, resp.Header.Get("Location"))
	}
	chunk := append([]byte(mp4Start), make([]byte, 12<<20-len(mp4Start))...)
	for i, url := range urls {
		r := patch(url, 0, chunk)
		if i < 4 {
			mustStatus(t, "PATCH "+strconv.Itoa(i), r, http.StatusNoContent)
			continue
		}
		wantInsufficientStorage(t, "the PATCH that reaches the disk's reserve", r)
	}
	if f := free(); f > 9<<20 {
		t.Fatalf("%d bytes free after the uploads, want about the 8 MiB reserve", f)
	}
	t.Run("UploadsRefused", func(t *testing.T) {
		wantInsufficientStorage(t, "a new resumable upload", create(4<<20))
		wantInsufficientStorage(t, "a streaming upload", teacher.do("PUT", "/api/v1/lessons/"+lesson.ID+"/source",
			append([]byte(mp4Start), make([]byte, 4<<20)...), "Content-Type", "video/mp4"))
	})

	// Something else takes the reserve: the disk is full to the last byte.
	filler := filepath.Join(mnt, "filler")
	fillFile(t, filler)
	t.Run("WritesNever500", func(t *testing.T) {
		for i := 0; i < 200; i++ {
			r := newRecordingClient(t, base, &bodies).json("POST", "/api/v1/session", teacherLogin)
			if r.Status >= 500 && r.Status != http.StatusInsufficientStorage {
				t.Fatalf("login on a full disk: %d %s", r.Status, r.Body)
			}
			if r.Status != http.StatusOK {
				wantInsufficientStorage(t, "login on a full disk", r)
				t.Logf("login %d refused: %s", i+1, r.Body)
				break
			}
		}
		for i := 0; i < 200; i++ {
			r := teacher.json("POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": strings.Repeat("Lesson ", 25)})
			if r.Status >= 500 && r.Status != http.StatusInsufficientStorage {
				t.Fatalf("lesson creation on a full disk: %d %s", r.Status, r.Body)
			}
			if r.Status != http.StatusCreated {
				wantInsufficientStorage(t, "lesson creation on a full disk", r)
				t.Logf("lesson creation %d refused: %s", i+1, r.Body)
				break
			}
		}
		var off int64
		if r := teacher.do("HEAD", urls[4], nil, "Tus-Resumable", "1.0.0"); r.Status == http.StatusOK {
			off = headOffset(t, teacher, urls[4])
		}
		wantInsufficientStorage(t, "resuming an upload on a full disk", patch(urls[4], off, make([]byte, 1<<20)))
	})
	t.Run("ReadyzSaysLowDisk", func(t *testing.T) {
		r := admin.do("GET", "/readyz", nil)
		var body struct {
			Checks  map[string]string
			Reasons map[string]string
		}
		_ = json.Unmarshal(r.Body, &body)
		if r.Status != http.StatusServiceUnavailable || body.Checks["disk"] != "failed" ||
			!strings.Contains(body.Reasons["disk"], "low disk space") {
			t.Errorf("/readyz on a full disk: %d %s, want 503 with disk failed for low disk space", r.Status, r.Body)
		}
	})
	t.Run("DeleteFreesSpace", func(t *testing.T) {
		before := free()
		mustStatus(t, "tus DELETE on a full disk", teacher.do("DELETE", urls[0], nil, "Tus-Resumable", "1.0.0"), http.StatusNoContent)
		if after := free(); after < before+11<<20 {
			t.Errorf("free space %d → %d after deleting a 12 MiB upload", before, after)
		}
	})
	t.Run("SweeperFreesTheRest", func(t *testing.T) {
		// The other four were last written two hours ago.
		uploads := filepath.Join(mnt, "uploads")
		past := time.Now().Add(-2 * time.Hour)
		entries, err := os.ReadDir(uploads)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Chtimes(filepath.Join(uploads, e.Name()), past, past); err != nil {
				t.Fatal(err)
			}
		}
		before := free()
		for deadline := time.Now().Add(hangGuard); ; time.Sleep(100 * time.Millisecond) {
			entries, err := os.ReadDir(uploads)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sweeper left %d files in the uploads directory", len(entries))
			}
		}
		if after := free(); after < before+40<<20 {
			t.Errorf("free space %d → %d after the sweep, want the four uploads' 40+ MiB back", before, after)
		}
		for _, url := range urls[1:] {
			if r := teacher.do("HEAD", url, nil, "Tus-Resumable", "1.0.0"); r.Status != http.StatusNotFound {
				t.Errorf("HEAD of a swept upload: %d, want 404", r.Status)
			}
		}
	})
	t.Run("RecoversOnceThereIsRoom", func(t *testing.T) {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, "readyz with room", admin.do("GET", "/readyz", nil), http.StatusOK)
		mustStatus(t, "login with room", newRecordingClient(t, base, &bodies).json("POST", "/api/v1/session", teacherLogin), http.StatusOK)
	})
	for _, b := range bodies {
		if strings.Contains(b, mnt) || strings.Contains(b, "/tmp/") {
			t.Errorf("a response shows a server path: %s", b)
		}
	}
}

// headOffset asks a tus upload's offset.
func headOffset(t *testing.T, c *recordingClient, url string) int64 {
	t.Helper()
	req, _ := http.NewRequest("HEAD", c.base+url, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		t.Fatalf("Upload-Offset %q: %v", resp.Header.Get("Upload-Offset"), err)
	}
	return n
}

// fillFile writes zeros into name until the filesystem refuses.
func fillFile(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatalf("create filler: %v", err)
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 4 << 10, 512, 1} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
}
