package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

// fillDisk writes zeros into a file under dir until the filesystem
// refuses, and returns the file's name: after it, the disk is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatalf("create filler: %v", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// Bytes of a last partial block.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
	return name
}

// wantStorageFull checks that r is the API's 507 for a full disk, with a
// message a person can read that names no path.
func wantStorageFull(t *testing.T, what string, r *response, paths ...string) {
	t.Helper()
	if r.Status != http.StatusInsufficientStorage {
		t.Errorf("%s on a full disk: %d %s, want 507", what, r.Status, r.Body)
		return
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("%s: error body %q: %v", what, r.Body, err)
	}
	if body.Error.Code != lectern.ENOSPACE || !strings.Contains(body.Error.Message, "space") {
		t.Errorf("%s: error %+v, want code %q and a message about space", what, body.Error, lectern.ENOSPACE)
	}
	for _, p := range paths {
		if bytes.Contains(r.Body, []byte(p)) {
			t.Errorf("%s: body %q shows the path %q", what, r.Body, p)
		}
	}
}

// TestSQLiteOnAFullDisk keeps writing to a server whose SQLite database is
// on a disk that is full: every write the database refuses is answered
// 507 with a clear message (never 500, never a path), and reads go on.
func TestSQLiteOnAFullDisk(t *testing.T) {
	mnt := testenv.SmallDisk(t, 8<<20)
	fx := openFixture(t, "sqlite:"+filepath.Join(mnt, "lectern.db"))
	ts := newServer(t, fx)
	teacherUser, pw := fx.createUser(t, lectern.RoleTeacher)
	teacher := ts.login(t, teacherUser, pw)
	var course lectern.Course
	teacher.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Course"}).want(http.StatusCreated).decode(&course)
	fillDisk(t, mnt)

	// SQLite may still find room in pages it already has: write until it
	// refuses.
	t.Run("LessonCreation", func(t *testing.T) {
		for i := 0; ; i++ {
			r := teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons",
				map[string]string{"publish_at": "now", "title": strings.Repeat("A long lesson title. ", 9)})
			if r.Status == http.StatusCreated {
				if i > 5000 {
					t.Fatalf("5000 lessons created on a full disk")
				}
				continue
			}
			wantStorageFull(t, "lesson creation", r, mnt)
			break
		}
	})
	t.Run("Login", func(t *testing.T) {
		for i := 0; ; i++ {
			c := ts.client(t)
			r := c.do(t, "POST", "/api/v1/session", map[string]string{"email": teacherUser.Email, "password": pw})
			if r.Status == http.StatusOK {
				if i > 5000 {
					t.Fatalf("5000 logins on a full disk")
				}
				continue
			}
			wantStorageFull(t, "login", r, mnt)
			break
		}
	})
	t.Run("ReadsStillWork", func(t *testing.T) {
		teacher.do(t, "GET", "/api/v1/courses", nil).want(http.StatusOK)
	})
}

// TestTusOnAFullDisk fills the disk of the resumable uploads with
// half-finished uploads: the write that finds the disk full, and new
// uploads, are answered 507 with a clear message and no path, and
// deleting an upload (tus DELETE) frees its space even on the full disk.
func TestTusOnAFullDisk(t *testing.T) {
	mnt := testenv.SmallDisk(t, 16<<20)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts := newServer(t, fx, func(o *server.Options) { o.Uploads.Dir = mnt })
	teacher, lessonID := newLessonFor(t, ts)
	c := tusClient{teacher}
	chunk := append(append([]byte{}, mp4Head...), make([]byte, 6<<20-len(mp4Head))...)
	// Three uploads of 8 MiB each fit on a 16 MiB disk when they start;
	// each then sends 6 MiB and stops half way.
	var urls []string
	for i := 0; i < 3; i++ {
		resp, url := c.create(t, lessonID, 8<<20)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create upload %d: %s", i, resp.Status)
		}
		urls = append(urls, url)
	}
	for i, url := range urls {
		r := c.rawPatch(t, url, 0, chunk)
		if i < 2 {
			if r.Status != http.StatusNoContent {
				t.Fatalf("PATCH %d: %d %s", i, r.Status, r.Body)
			}
			continue
		}
		// The third one runs out of disk half way.
		wantStorageFull(t, "PATCH onto a full disk", r, mnt)
	}
	free := func() int64 {
		n, err := disk.FreeSpace(mnt)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("NewUploadRefused", func(t *testing.T) {
		r := c.rawCreate(t, lessonID, 1<<20)
		wantStorageFull(t, "creating an upload on a full disk", r, mnt)
	})
	t.Run("DeleteFreesSpace", func(t *testing.T) {
		before := free()
		r := c.rawDo(t, "DELETE", urls[0], nil)
		if r.Status != http.StatusNoContent {
			t.Fatalf("DELETE on a full disk: %d %s", r.Status, r.Body)
		}
		if after := free(); after < before+5<<20 {
			t.Errorf("free space %d → %d after deleting a 6 MiB upload", before, after)
		}
		if bytes.Contains(r.Body, []byte(mnt)) {
			t.Errorf("DELETE body shows the path: %q", r.Body)
		}
	})
}

// rawDo sends a tus request and returns the whole response, body included.
func (c tusClient) rawDo(t *testing.T, method, url string, body []byte, headers ...string) *response {
	t.Helper()
	req, err := http.NewRequest(method, c.base+url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (c tusClient) rawPatch(t *testing.T, url string, offset int64, body []byte) *response {
	t.Helper()
	return c.rawDo(t, "PATCH", url, body, "Upload-Offset", strconv.FormatInt(offset, 10),
		"Content-Type", "application/offset+octet-stream")
}

func (c tusClient) rawCreate(t *testing.T, lessonID string, size int64) *response {
	t.Helper()
	meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lessonID))
	return c.rawDo(t, "POST", "/api/v1/uploads", nil, "Upload-Length", strconv.FormatInt(size, 10), "Upload-Metadata", meta)
}
