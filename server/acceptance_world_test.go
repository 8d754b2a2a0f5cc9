package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/server"
)

// The security acceptance tests (RELIABILITY 21, 22, 26) share one world:
// two courses, each with its teacher, two students, a published lesson, a
// queued transcode job, comments, a question answered by the teacher, a
// progress beat, a resumable upload in progress and a media link. The
// server has every optional route turned on (queue UI, metrics, tus), so
// that the router lists all of them.

// kit is one course and everything in it.
type kit struct {
	name                      string
	course                    courseJSON
	teacherU, studentU, mateU *lectern.User
	teacher, student, mate    *client
	lessonID, lessonTitle     string
	commentID                 string // a class comment by the student
	questionID                string // the student's question, for teachers
	answerID                  string // the teacher's answer to it
	notificationID            string // the student's unread answer
	tokenID                   string // the student's API token
	jobID                     string // the lesson's queued transcode
	suggestionID              string // a chapter suggestion on the lesson
	uploadURL                 string // the teacher's tus upload in progress
	mediaBase                 string // the student's media link: /media/<token>/
	files                     mediaOutput
	// secrets must never reach someone outside the course.
	secrets []string
}

// world is the server and the two courses.
type world struct {
	ts    *testServer
	srv   *server.Server
	q     *testQueue
	admin *client
	a, b  *kit
	// staleBase is a media link to B's lesson that A's student got while a
	// member of B, before leaving it.
	staleBase string
}

func newWorld(t *testing.T, fx *fixture) *world {
	t.Helper()
	q := newTestQueue(t, fx)
	ui := jobs.NewQueueUI(q.Queue, server.QueueUIPath)
	t.Cleanup(func() { ui.Close() })
	srv, err := server.New(server.Options{
		DB: fx.DB, Storage: fx.Store, Clock: fx.Clock, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Jobs: q.Jobs, QueueUI: ui, Metrics: prometheus.NewRegistry(),
		Uploads: server.UploadOptions{Dir: filepath.Join(t.TempDir(), "uploads")},
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	w := &world{ts: &testServer{fixture: fx, URL: hs.URL}, srv: srv, q: q}
	_, w.admin = w.ts.loginNew(t, lectern.RoleAdmin)
	w.a, w.b = w.newKit(t, "A"), w.newKit(t, "B")
	// A's student was once in B: they keep a media link from then.
	w.a.student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *w.b.course.JoinCode}).want(http.StatusOK)
	w.staleBase = mediaBase(t, playback(t, w.a.student, w.b.lessonID))
	w.a.student.do(t, "DELETE", "/api/v1/courses/"+w.b.course.ID+"/membership", nil).want(http.StatusNoContent)
	return w
}

func (w *world) newKit(t *testing.T, name string) *kit {
	t.Helper()
	k := &kit{name: name}
	k.teacherU, k.teacher = w.ts.loginNew(t, lectern.RoleTeacher)
	k.studentU, k.student = w.ts.loginNew(t, lectern.RoleStudent)
	k.mateU, k.mate = w.ts.loginNew(t, lectern.RoleStudent)
	k.course = createCourse(t, k.teacher, "Course "+name+" secret-course-"+name)
	for _, c := range []*client{k.student, k.mate} {
		c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *k.course.JoinCode}).want(http.StatusOK)
	}
	k.lessonTitle = "Lesson secret-lesson-" + name
	var l struct{ ID string }
	k.teacher.do(t, "POST", "/api/v1/courses/"+k.course.ID+"/lessons", map[string]string{"publish_at": "now", "title": k.lessonTitle}).
		want(http.StatusCreated).decode(&l)
	k.lessonID = l.ID
	k.files = publishMediaOutput(t, w.ts.fixture, k.lessonID, 1)

	post := func(c *client, body map[string]any) string {
		t.Helper()
		var cm struct{ ID string }
		c.do(t, "POST", "/api/v1/lessons/"+k.lessonID+"/comments", body).want(http.StatusCreated).decode(&cm)
		return cm.ID
	}
	k.commentID = post(k.student, map[string]any{"kind": "comment", "visibility": "class", "at_ms": 1000, "body": "secret-comment-" + name})
	k.questionID = post(k.student, map[string]any{"kind": "question", "visibility": "teachers", "at_ms": 2000, "body": "secret-question-" + name})
	k.answerID = post(k.teacher, map[string]any{"parent_id": k.questionID, "body": "secret-answer-" + name})
	var notes notificationsJSON
	k.student.do(t, "GET", "/api/v1/me/notifications", nil).want(http.StatusOK).decode(&notes)
	if len(notes.Notifications) != 1 {
		t.Fatalf("course %s: the student has %d notifications, want the answer", name, len(notes.Notifications))
	}
	k.notificationID = notes.Notifications[0].ID
	k.student.do(t, "PUT", "/api/v1/lessons/"+k.lessonID+"/progress",
		`{"session_id":"tab","seq":1,"position_ms":3000,"ranges":[[0,3000]]}`).want(http.StatusOK)
	k.mediaBase = mediaBase(t, playback(t, k.student, k.lessonID))

	// Two versions of English captions (so there is one to restore) and
	// chapters, all carrying the course's secret words.
	for i, status := range []int{http.StatusCreated, http.StatusOK} {
		k.teacher.do(t, "PUT", "/api/v1/lessons/"+k.lessonID+"/captions/en",
			fmt.Sprintf("WEBVTT\n\n00:00.000 --> 00:02.000\nsecret-caption-%s version %d\n", name, i+1),
			"Content-Type", "text/vtt").want(status)
	}
	k.teacher.do(t, "PUT", "/api/v1/lessons/"+k.lessonID+"/chapters",
		[]map[string]any{{"start_ms": 0, "title": "secret-chapter-" + name}}).want(http.StatusOK)
	// A slide change the transcoder would suggest as a chapter.
	if err := w.ts.fixture.DB.SetChapterSuggestions(context.Background(), k.lessonID, []int64{3000}); err != nil {
		t.Fatal(err)
	}
	var sugs struct{ Suggestions []struct{ ID string } }
	k.teacher.do(t, "GET", "/api/v1/lessons/"+k.lessonID+"/chapter-suggestions", nil).want(http.StatusOK).decode(&sugs)
	if len(sugs.Suggestions) != 1 {
		t.Fatalf("course %s: %d chapter suggestions, want 1", name, len(sugs.Suggestions))
	}
	k.suggestionID = sugs.Suggestions[0].ID
	var tok struct{ ID string }
	k.student.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "secret-token-" + name}).
		want(http.StatusCreated).decode(&tok)
	k.tokenID = tok.ID

	// A re-upload waits in the queue (no worker runs); the lesson stays
	// playable from its published output.
	k.teacher.do(t, "PUT", "/api/v1/lessons/"+k.lessonID+"/source", fakeRecording("recording-"+name), "Content-Type", "video/mp4").
		want(http.StatusAccepted)
	var jobs struct {
		Jobs []struct {
			ID       string `json:"id"`
			LessonID string `json:"lesson_id"`
		}
	}
	w.admin.do(t, "GET", "/api/v1/admin/jobs", nil).want(http.StatusOK).decode(&jobs)
	for _, j := range jobs.Jobs {
		if j.LessonID == k.lessonID {
			k.jobID = j.ID
		}
	}
	if k.jobID == "" {
		t.Fatalf("course %s: no job for the uploaded lesson", name)
	}
	resp, url := tusClient{k.teacher}.create(t, k.lessonID, 1000)
	if resp.StatusCode != http.StatusCreated || url == "" {
		t.Fatalf("course %s: tus creation answered %d, Location %q", name, resp.StatusCode, url)
	}
	k.uploadURL = url
	k.secrets = []string{k.course.Title, *k.course.JoinCode, k.lessonTitle, "secret-comment-" + name,
		"secret-question-" + name, "secret-answer-" + name, "secret-caption-" + name, "secret-chapter-" + name,
		"secret-token-" + name, k.studentU.Email, k.mateU.Email}
	return k
}

// path puts the kit's IDs into a route pattern.
func (k *kit) path(pattern string) string {
	r := strings.NewReplacer(":course", k.course.ID, ":lesson", k.lessonID, ":comment", k.commentID,
		":answer", k.answerID, ":job", k.jobID, ":mate", k.mateU.ID, ":token", k.tokenID,
		":suggestion", k.suggestionID)
	return r.Replace(pattern)
}

// wantNoSecrets fails when body carries any of k's secrets.
func wantNoSecrets(t *testing.T, what string, body []byte, k *kit) {
	t.Helper()
	for _, s := range k.secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("%s: the answer carries %q from course %s", what, s, k.name)
		}
	}
}

// snapshot is what the people of a course see of it: the course, its
// members, lessons, comments, the student's progress and notifications,
// the transcode job, the upload in progress and the stored objects. A
// request that must change nothing must leave it equal.
func (w *world) snapshot(t *testing.T, k *kit) map[string]string {
	t.Helper()
	out := map[string]string{}
	get := func(name string, c *client, path string) {
		t.Helper()
		r := c.do(t, "GET", path, nil)
		out[name] = http.StatusText(r.Status) + " " + string(r.Body)
	}
	get("course", k.teacher, k.path("/api/v1/courses/:course"))
	get("members", k.teacher, k.path("/api/v1/courses/:course/members"))
	get("lessons", k.teacher, k.path("/api/v1/courses/:course/lessons"))
	get("lesson", k.teacher, k.path("/api/v1/lessons/:lesson"))
	get("comments(teacher)", k.teacher, k.path("/api/v1/lessons/:lesson/comments"))
	get("comments(student)", k.student, k.path("/api/v1/lessons/:lesson/comments"))
	get("answer", k.teacher, k.path("/api/v1/comments/:answer"))
	get("progress", k.student, k.path("/api/v1/lessons/:lesson/progress"))
	get("mate's courses", k.mate, "/api/v1/courses")
	get("notifications", k.student, "/api/v1/me/notifications")
	get("analytics", k.teacher, k.path("/api/v1/lessons/:lesson/analytics"))
	get("captions", k.student, k.path("/api/v1/lessons/:lesson/captions"))
	get("caption file", k.student, k.path("/api/v1/lessons/:lesson/captions/en"))
	get("caption versions", k.teacher, k.path("/api/v1/lessons/:lesson/captions/en/versions"))
	get("chapters", k.student, k.path("/api/v1/lessons/:lesson/chapters"))
	get("chapter suggestions", k.teacher, k.path("/api/v1/lessons/:lesson/chapter-suggestions"))
	get("tokens", k.student, "/api/v1/tokens")
	get("preferences", k.student, "/api/v1/me/preferences")
	var jobs struct{ Jobs []json.RawMessage }
	w.admin.do(t, "GET", "/api/v1/admin/jobs", nil).want(http.StatusOK).decode(&jobs)
	for _, j := range jobs.Jobs {
		if bytes.Contains(j, []byte(k.lessonID)) {
			out["job"] += string(j)
		}
	}
	resp, err := tusClient{k.teacher}.req(t, "HEAD", k.uploadURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	out["upload"] = resp.Status + " offset " + resp.Header.Get("Upload-Offset")
	out["objects"] = strings.Join(w.ts.storedKeys(t, k.lessonID), " ")
	get("users", w.admin, "/api/v1/users")
	queues, err := w.q.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range queues {
		ids, err := w.q.PendingTaskIDs(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		out["queue "+info.Name] = fmt.Sprintf("paused %v, pending %v", info.Paused, ids)
	}
	for _, rel := range []string{"master.m3u8", "v0/seg_00000.m4s"} {
		r := k.student.do(t, "GET", k.mediaBase+rel, nil)
		out["media "+rel] = http.StatusText(r.Status)
	}
	return out
}
