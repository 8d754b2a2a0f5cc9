package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
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
				map[string]string{"title": strings.Repeat("A long lesson title. ", 9)})
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
