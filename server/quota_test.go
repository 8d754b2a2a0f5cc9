package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/server"
)

// recording returns n bytes that start like an MP4.
func recording(n int) []byte {
	b := make([]byte, n)
	copy(b, mp4Head)
	return b
}

// TestStorageQuota gives teachers a 3 MB quota: a teacher's sources and
// published outputs count against it; an upload that does not fit is
// refused with 507 and a clear message, by streaming PUT (with or
// without a Content-Length) and by tus at creation, and nothing of it is
// stored; the teacher sees their use on the courses page and the admin on
// the users page.
func TestStorageQuota(t *testing.T) {
	const quota = 3_000_000
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts := newServer(t, fx, func(o *server.Options) {
		o.StorageQuota = quota
		o.Uploads.Dir = t.TempDir()
	})
	ctx := context.Background()
	teacherUser, pw := fx.createUser(t, lectern.RoleTeacher)
	teacher := ts.login(t, teacherUser, pw)
	var course lectern.Course
	teacher.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Course"}).want(http.StatusCreated).decode(&course)
	newLesson := func() string {
		var l struct{ ID string }
		teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Lesson"}).
			want(http.StatusCreated).decode(&l)
		return l.ID
	}
	objects := func() int {
		n := 0
		for _, err := range fx.Store.List(ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}

	// 2 MB of source, then 600 kB of published output.
	first := newLesson()
	teacher.do(t, "PUT", "/api/v1/lessons/"+first+"/source", recording(2_000_000)).want(http.StatusAccepted)
	l, err := fx.DB.FindLessonByID(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := fx.DB.FindJobDetails(ctx, db.JobFilter{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	out := lectern.OutputPrefix(first, l.Attempt)
	if _, err := fx.Store.Put(ctx, out+"master.m3u8", bytes.NewReader(make([]byte, 600_000))); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.DB.PublishLesson(ctx, first, l.Attempt, db.Publication{JobID: jobs[0].ID, OutputPrefix: out}); err != nil {
		t.Fatal(err)
	}
	before := objects()

	wantOverQuota := func(t *testing.T, what string, r *response) {
		t.Helper()
		if r.Status != http.StatusInsufficientStorage {
			t.Fatalf("%s: %d %s, want 507", what, r.Status, r.Body)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		// 2.6 MB used of 3.0 MB, 400 kB left.
		if body.Error.Code != lectern.ENOSPACE || !strings.Contains(body.Error.Message, "2.6 MB of 3.0 MB") ||
			!strings.Contains(body.Error.Message, "400.0 kB is left") {
			t.Errorf("%s: error %+v, want insufficient_storage saying 2.6 MB of 3.0 MB are used and 400.0 kB left", what, body.Error)
		}
		if got := objects(); got != before {
			t.Errorf("%s: %d objects stored, want %d (nothing more)", what, got, before)
		}
	}
	second := newLesson()
	t.Run("StreamingWithLength", func(t *testing.T) {
		wantOverQuota(t, "PUT of 1 MB", teacher.do(t, "PUT", "/api/v1/lessons/"+second+"/source", recording(1_000_000)))
	})
	t.Run("StreamingWithoutLength", func(t *testing.T) {
		// An io.Reader body is sent chunked: its size is learnt only as it
		// arrives.
		body := io.MultiReader(bytes.NewReader(recording(1_000_000)))
		wantOverQuota(t, "chunked PUT of 1 MB", teacher.do(t, "PUT", "/api/v1/lessons/"+second+"/source", body))
	})
	t.Run("TusAtCreation", func(t *testing.T) {
		wantOverQuota(t, "tus creation of 1 MB", tusClient{teacher}.rawCreate(t, second, 1_000_000))
	})
	t.Run("SmallUploadFits", func(t *testing.T) {
		teacher.do(t, "PUT", "/api/v1/lessons/"+second+"/source", recording(300_000)).want(http.StatusAccepted)
	})
	t.Run("TeacherSeesUse", func(t *testing.T) {
		r := teacher.do(t, "GET", "/courses", nil).want(http.StatusOK)
		if !bytes.Contains(r.Body, []byte("2.9 MB of 3.0 MB")) {
			t.Errorf("courses page does not show 2.9 MB of 3.0 MB:\n%s", r.Body)
		}
	})
	t.Run("AdminSeesUse", func(t *testing.T) {
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		r := admin.do(t, "GET", "/admin", nil).want(http.StatusOK)
		if !bytes.Contains(r.Body, []byte("2.9 MB of 3.0 MB")) {
			t.Errorf("admin users page does not show the teacher's 2.9 MB of 3.0 MB:\n%s", r.Body)
		}
	})
}
