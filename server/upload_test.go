package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/storage/storagetest"
)

// testQueue is an in-process queue with the jobs client the server
// enqueues with.
type testQueue struct {
	*jobs.Queue
	Jobs *jobs.Client
}

func newTestQueue(t *testing.T, fx *fixture) *testQueue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := jobs.OpenQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return &testQueue{Queue: q, Jobs: &jobs.Client{Queue: q, DB: fx.DB, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

// taskIDs lists the IDs of the transcode tasks waiting in the queue.
func (q *testQueue) taskIDs(t *testing.T) []string {
	t.Helper()
	ids, err := q.PendingTaskIDs()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// storedKeys lists the keys stored under the lesson.
func (fx *fixture) storedKeys(t *testing.T, lessonID string) []string {
	t.Helper()
	keys := []string{}
	for obj, err := range fx.Store.List(context.Background(), lectern.LessonPrefix(lessonID)) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

func (fx *fixture) readObject(t *testing.T, key string) []byte {
	t.Helper()
	r, err := fx.Store.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unsized hides a body's length, so that the client sends it chunked.
type unsized struct{ io.Reader }

// mp4Head is how an MP4 starts (its ftyp box), which is all the upload
// routes look at; tests that run no worker need no more of a recording.
const mp4Head = "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"

// fakeRecording is an upload that starts like an MP4 and goes on with rest.
func fakeRecording(rest string) []byte { return []byte(mp4Head + rest) }

func TestUploadSource(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		q := newTestQueue(t, fx)
		const limit = 2 << 20
		ts := newServer(t, fx, func(o *server.Options) { o.Jobs = q.Jobs; o.MaxUploadBytes = limit })
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, outsider := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, teacher, "Uploads")
		student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
		newLesson := func(t *testing.T) string {
			t.Helper()
			var l struct{ ID string }
			teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Week"}).
				want(http.StatusCreated).decode(&l)
			return l.ID
		}
		put := func(t *testing.T, c *client, id string, body any) *response {
			t.Helper()
			return c.do(t, "PUT", "/api/v1/lessons/"+id+"/source", body, "Content-Type", "video/mp4")
		}
		// Over the 1 MiB JSON limit, under the upload limit.
		recording := fakeRecording(strings.Repeat("lesson-bytes", 150_000))

		t.Run("TeacherUploadQueuesOneTask", func(t *testing.T) {
			id := newLesson(t)
			var resp struct {
				Status string
				Lesson struct {
					ID, Status string
					Transcode  struct{ State string }
				}
			}
			put(t, teacher, id, recording).want(http.StatusAccepted).decode(&resp)
			if resp.Status != "queued" || resp.Lesson.ID != id || resp.Lesson.Status != "queued" || resp.Lesson.Transcode.State != "queued" {
				t.Errorf("response = %+v, want the lesson queued", resp)
			}
			if diff := cmp.Diff([]string{db.TranscodeTaskID(id, 1)}, q.taskIDs(t)); diff != "" {
				t.Errorf("queued tasks (-want +got):\n%s", diff)
			}
			keys := fx.storedKeys(t, id)
			if len(keys) != 1 || !bytes.Equal(fx.readObject(t, keys[0]), recording) {
				t.Fatalf("stored %v, want the recording alone", keys)
			}

			t.Run("ReuploadReplacesSource", func(t *testing.T) {
				second := fakeRecording("a better take")
				put(t, teacher, id, second).want(http.StatusAccepted)
				if diff := cmp.Diff([]string{db.TranscodeTaskID(id, 1), db.TranscodeTaskID(id, 2)}, q.taskIDs(t)); diff != "" {
					t.Errorf("queued tasks (-want +got):\n%s", diff)
				}
				keys := fx.storedKeys(t, id)
				if len(keys) != 1 || !bytes.Equal(fx.readObject(t, keys[0]), second) {
					t.Errorf("stored %v, want the second upload alone", keys)
				}
			})
		})

		t.Run("AdminMayUpload", func(t *testing.T) {
			id := newLesson(t)
			_, admin := ts.loginNew(t, lectern.RoleAdmin)
			put(t, admin, id, fakeRecording("x")).want(http.StatusAccepted)
		})

		refused := []struct {
			name   string
			client *client
			body   func() any
			status int
			code   string
		}{
			{"StudentForbidden", student, func() any { return fakeRecording("x") }, http.StatusForbidden, lectern.EFORBIDDEN},
			{"OutsiderNotFound", outsider, func() any { return fakeRecording("x") }, http.StatusNotFound, lectern.ENOTFOUND},
			{"EmptyBody", teacher, func() any { return "" }, http.StatusBadRequest, lectern.EINVALID},
			{"EmptyChunkedBody", teacher, func() any { return unsized{strings.NewReader("")} }, http.StatusBadRequest, lectern.EINVALID},
			{"TooLargeByLength", teacher, func() any { return make([]byte, limit+1) }, http.StatusRequestEntityTooLarge, lectern.ETOOLARGE},
			{"TooLargeStreamed", teacher, func() any { return unsized{bytes.NewReader(make([]byte, 3*limit))} }, http.StatusRequestEntityTooLarge, lectern.ETOOLARGE},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				id := newLesson(t)
				before := q.taskIDs(t)
				put(t, tt.client, id, tt.body()).wantError(tt.status, tt.code)
				if keys := fx.storedKeys(t, id); len(keys) > 0 {
					t.Errorf("a refused upload left %v", keys)
				}
				if diff := cmp.Diff(before, q.taskIDs(t)); diff != "" {
					t.Errorf("a refused upload queued a task (-before +after):\n%s", diff)
				}
				var l struct{ Status string }
				teacher.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).decode(&l)
				if l.Status != "awaiting_upload" {
					t.Errorf("lesson status after a refused upload = %q, want awaiting_upload", l.Status)
				}
			})
		}

		t.Run("ExactlyAtLimit", func(t *testing.T) {
			put(t, teacher, newLesson(t), unsized{bytes.NewReader(make([]byte, limit))}).want(http.StatusAccepted)
		})
	})
}

// An upload whose task cannot be enqueued is still accepted: its job stays
// queued in the database, where the start-up requeue finds it.
func TestUploadSourceQueueDown(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		q := newTestQueue(t, fx)
		q.Close() // Redis is gone: every enqueue fails
		ts := newServer(t, fx, func(o *server.Options) { o.Jobs = q.Jobs })
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, teacher, "Queue down")
		var l struct{ ID string }
		teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Week"}).
			want(http.StatusCreated).decode(&l)
		teacher.do(t, "PUT", "/api/v1/lessons/"+l.ID+"/source", fakeRecording("recording")).want(http.StatusAccepted)
		jobs, err := fx.DB.FindUnfinishedJobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].LessonID != l.ID || jobs[0].State != lectern.JobQueued {
			t.Errorf("unfinished jobs = %+v, want the upload's, queued", jobs)
		}
	})
}

// BenchmarkUploadLarge PUTs a 512 MiB generated recording to a server on
// SQLite and disk storage, in this process. peak-live-B is the largest
// live heap seen (every MiB of the upload) and B/op what client and server
// allocated per upload: both stay flat whatever the size, because the body
// streams from the connection to storage.
func BenchmarkUploadLarge(b *testing.B) {
	const size = 512 << 20
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "lectern.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	store, err := disk.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Options{DB: d, Storage: store, Secret: []byte("0123456789abcdef0123456789abcdef"), MaxUploadBytes: size})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	hc := benchLogin(b, d, hs.URL)
	course := &lectern.Course{Title: "Bench", OwnerID: benchUserID(b, hc, hs.URL)}
	if err := d.CreateCourse(ctx, course); err != nil {
		b.Fatal(err)
	}
	lesson := &lectern.Lesson{CourseID: course.ID, Title: "Long lecture", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, lesson); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	b.SetBytes(size)
	h := &storagetest.HeapSampler{}
	for i := 0; b.Loop(); i++ {
		h.R = storagetest.Generated(uint64(i), size)
		req, err := http.NewRequest("PUT", hs.URL+"/api/v1/lessons/"+lesson.ID+"/source", h)
		if err != nil {
			b.Fatal(err)
		}
		req.ContentLength = size
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("upload: %s: %s", resp.Status, body)
		}
	}
	b.ReportMetric(float64(h.Peak()), "peak-live-B")
}

// benchLogin creates a teacher and returns a client with its session.
func benchLogin(b *testing.B, d *db.DB, base string) *http.Client {
	b.Helper()
	u, err := server.NewUser("bench@example.org", "Bench", lectern.RoleTeacher, "bench password")
	if err != nil {
		b.Fatal(err)
	}
	if err := d.CreateUser(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(`{"email":"bench@example.org","password":"bench password"}`))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("login: %s", resp.Status)
	}
	return hc
}

func benchUserID(b *testing.B, hc *http.Client, base string) string {
	b.Helper()
	resp, err := hc.Get(base + "/api/v1/me")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		b.Fatal(err)
	}
	return me.ID
}
