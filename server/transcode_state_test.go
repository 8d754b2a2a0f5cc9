package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// transcodeOf returns the "transcode" object of lesson id as c sees it:
// nil when it is null, and whether the key was there at all.
func transcodeOf(t *testing.T, c *client, id string) map[string]any {
	t.Helper()
	l := c.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).fields()
	tr, _ := l["transcode"].(map[string]any)
	return tr
}

// listedLessons returns the course's lessons as c sees them, by id.
func listedLessons(t *testing.T, c *client, courseID string) map[string]map[string]any {
	t.Helper()
	var resp struct{ Lessons []map[string]any }
	c.do(t, "GET", "/api/v1/courses/"+courseID+"/lessons", nil).want(http.StatusOK).decode(&resp)
	out := map[string]map[string]any{}
	for _, l := range resp.Lessons {
		out[l["id"].(string)] = l
	}
	return out
}

// TestTranscodeStateContract checks the one shape in which the lesson
// API, the lesson list and the admin jobs API tell a job's state, and
// who is told it.
func TestTranscodeStateContract(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		ts := newServer(t, fx)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		course := createCourse(t, teacher, "States")
		student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
		upload := func(t *testing.T, title string) string {
			t.Helper()
			var l struct{ ID string }
			teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": title}).
				want(http.StatusCreated).decode(&l)
			teacher.do(t, "PUT", "/api/v1/lessons/"+l.ID+"/source", fakeRecording("a recording"), "Content-Type", "video/mp4").
				want(http.StatusAccepted)
			fx.Clock.Advance(time.Second) // the next upload comes later
			return l.ID
		}
		jobOf := func(t *testing.T, lessonID string) *db.JobStatus {
			t.Helper()
			j, err := fx.DB.FindCurrentJob(ctx, lessonID)
			if err != nil {
				t.Fatal(err)
			}
			return j
		}
		first, second := upload(t, "First"), upload(t, "Second")

		t.Run("TeacherSeesQueuePosition", func(t *testing.T) {
			want := map[string]any{
				"state": "queued", "percent": 0.0, "try": 1.0, "max_tries": 6.0, "queue_position": 2.0,
				"retry_at": nil, "error": "", "failure": "", "advice": "", "retryable": false,
			}
			if diff := cmp.Diff(want, transcodeOf(t, teacher, second)); diff != "" {
				t.Errorf("second upload's transcode (-want +got):\n%s", diff)
			}
			listed := listedLessons(t, teacher, course.ID)
			for id, pos := range map[string]float64{first: 1, second: 2} {
				tr, _ := listed[id]["transcode"].(map[string]any)
				if tr == nil || tr["queue_position"] != pos || tr["state"] != "queued" {
					t.Errorf("listed lesson %s: transcode %v, want queued at position %v", id, tr, pos)
				}
				if listed[id]["playable"] != false {
					t.Errorf("listed lesson %s: playable %v, want false before any output", id, listed[id]["playable"])
				}
			}
			if tr := transcodeOf(t, admin, first); tr == nil || tr["queue_position"] != 1.0 {
				t.Errorf("admin's view of the first upload: %v, want queued at position 1", tr)
			}
		})
		t.Run("StudentSeesNoTranscode", func(t *testing.T) {
			l := student.do(t, "GET", "/api/v1/lessons/"+first, nil).want(http.StatusOK).fields()
			if l["transcode"] != nil || l["status"] != "queued" || l["playable"] != false {
				t.Errorf("student's lesson: transcode %v, status %v, playable %v; want no transcode, queued, not playable",
					l["transcode"], l["status"], l["playable"])
			}
			for id, l := range listedLessons(t, student, course.ID) {
				if l["transcode"] != nil {
					t.Errorf("student's list shows lesson %s's transcode: %v", id, l["transcode"])
				}
			}
		})
		t.Run("Retrying", func(t *testing.T) {
			j := jobOf(t, first)
			if err := fx.DB.MarkTranscoding(ctx, first, j.Attempt, j.ID, "w"); err != nil {
				t.Fatal(err)
			}
			retryAt := time.Now().UTC().Add(90 * time.Second).Truncate(time.Second)
			if err := fx.DB.RetryTranscode(ctx, first, j.Attempt, j.ID, "", "storage is down", "", retryAt); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"state": "retrying", "percent": 0.0, "try": 2.0, "max_tries": 6.0, "queue_position": nil,
				"retry_at": retryAt.Format(time.RFC3339), "error": "storage is down", "failure": "",
				"advice": "Nothing to do for now: Lectern tries again by itself.", "retryable": false,
			}
			if diff := cmp.Diff(want, transcodeOf(t, teacher, first)); diff != "" {
				t.Errorf("retrying transcode (-want +got):\n%s", diff)
			}
			// The first left the line: the second is next.
			if tr := transcodeOf(t, teacher, second); tr["queue_position"] != 1.0 {
				t.Errorf("second upload's position = %v, want 1", tr["queue_position"])
			}
			var resp struct{ Jobs []map[string]any }
			admin.do(t, "GET", "/api/v1/admin/jobs?state=retrying", nil).want(http.StatusOK).decode(&resp)
			if len(resp.Jobs) != 1 || resp.Jobs[0]["lesson_id"] != first {
				t.Fatalf("?state=retrying listed %v, want the first upload's job", resp.Jobs)
			}
			got := resp.Jobs[0]
			for k, v := range want {
				if diff := cmp.Diff(v, got[k]); diff != "" {
					t.Errorf("admin job %s (-want +got):\n%s", k, diff)
				}
			}
			if _, ok := got["queue"]; !ok {
				t.Error("admin job has no queue")
			}
			// A retrying job is unfinished: no second attempt beside it.
			admin.do(t, "POST", "/api/v1/admin/jobs/"+j.ID+"/retry", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
		})
		t.Run("RefusedCannotBeRetried", func(t *testing.T) {
			j := jobOf(t, second)
			if err := fx.DB.FailTranscode(ctx, second, j.Attempt, j.ID, "", lectern.FailureRefused,
				"The file is damaged or incomplete: it ends too early", ""); err != nil {
				t.Fatal(err)
			}
			tr := transcodeOf(t, teacher, second)
			if tr["state"] != "failed" || tr["failure"] != "refused" || tr["retryable"] != false ||
				tr["error"] != "The file is damaged or incomplete: it ends too early" ||
				!strings.Contains(tr["advice"].(string), "upload that file") {
				t.Errorf("refused transcode: %v; want failed, refused, not retryable, with the reason and advice", tr)
			}
			msg := admin.do(t, "POST", "/api/v1/admin/jobs/"+j.ID+"/retry", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
			if !strings.Contains(msg, "cannot change") || !strings.Contains(msg, "upload another file") {
				t.Errorf("retry of a refused job: %q; want it to say a retry cannot change it and another file is needed", msg)
			}
			if again := jobOf(t, second); again.ID != j.ID {
				t.Errorf("the refused retry started a new job %s", again.ID)
			}
		})
		t.Run("SetupFailureRetryable", func(t *testing.T) {
			id := upload(t, "Setup")
			j := jobOf(t, id)
			if err := fx.DB.MarkTranscoding(ctx, id, j.Attempt, j.ID, "w"); err != nil {
				t.Fatal(err)
			}
			if err := fx.DB.FailTranscode(ctx, id, j.Attempt, j.ID, "", lectern.FailureSetup, "A problem on the server stopped processing", ""); err != nil {
				t.Fatal(err)
			}
			tr := transcodeOf(t, teacher, id)
			if tr["failure"] != "setup" || tr["retryable"] != true || !strings.Contains(tr["advice"].(string), "not with your file") {
				t.Errorf("setup failure: %v; want failure setup, retryable, advice saying it is the server", tr)
			}
			admin.do(t, "POST", "/api/v1/admin/jobs/"+j.ID+"/retry", nil).want(http.StatusAccepted)
			if tr := transcodeOf(t, teacher, id); tr["state"] != "queued" || tr["try"] != 1.0 {
				t.Errorf("after an admin's retry: %v, want a new job queued at try 1", tr)
			}
		})
		t.Run("PlayableWhileReuploading", func(t *testing.T) {
			id := upload(t, "Published")
			j := jobOf(t, id)
			if _, err := fx.DB.PublishLesson(ctx, id, j.Attempt, db.Publication{JobID: j.ID,
				OutputPrefix: lectern.OutputPrefix(id, j.Attempt), DurationMS: 1000}); err != nil {
				t.Fatal(err)
			}
			teacher.do(t, "PUT", "/api/v1/lessons/"+id+"/source", fakeRecording("another recording"), "Content-Type", "video/mp4").
				want(http.StatusAccepted)
			for _, c := range []*client{student, teacher} {
				l := c.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).fields()
				if l["status"] != "queued" || l["playable"] != true {
					t.Errorf("re-uploaded lesson: status %v, playable %v; want queued and still playable", l["status"], l["playable"])
				}
			}
			if tr := transcodeOf(t, teacher, id); tr["state"] != "queued" {
				t.Errorf("re-upload's transcode: %v, want queued", tr)
			}
		})
	})
}
