package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

type adminJob struct {
	ID          string `json:"id"`
	LessonID    string `json:"lesson_id"`
	LessonTitle string `json:"lesson_title"`
	CourseID    string `json:"course_id"`
	CourseTitle string `json:"course_title"`
	TeacherName string `json:"teacher_name"`
	State       string `json:"state"`
	Attempt     int    `json:"attempt"`
	Error       string `json:"error"`
}

func listJobs(t *testing.T, c *client, query string) []adminJob {
	t.Helper()
	var resp struct{ Jobs []adminJob }
	c.do(t, "GET", "/api/v1/admin/jobs"+query, nil).want(http.StatusOK).decode(&resp)
	return resp.Jobs
}

func TestAdminJobs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		q := newTestQueue(t, fx)
		ts := newServer(t, fx, func(o *server.Options) {
			o.Jobs = q.Jobs
		})
		teacherUser, teacher := ts.loginNew(t, lectern.RoleTeacher)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		course := createCourse(t, teacher, "Operations")
		upload := func(t *testing.T, title string) string {
			t.Helper()
			var l struct{ ID string }
			teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": title}).
				want(http.StatusCreated).decode(&l)
			teacher.do(t, "PUT", "/api/v1/lessons/"+l.ID+"/source", fakeRecording("not really a video"), "Content-Type", "video/mp4").
				want(http.StatusAccepted)
			return l.ID
		}
		jobOf := func(t *testing.T, lessonID, query string) adminJob {
			t.Helper()
			for _, j := range listJobs(t, admin, query) {
				if j.LessonID == lessonID {
					return j
				}
			}
			t.Fatalf("no job of lesson %s in %q", lessonID, query)
			return adminJob{}
		}

		t.Run("OnlyAdmins", func(t *testing.T) {
			for _, c := range []*client{student, teacher} {
				c.do(t, "GET", "/api/v1/admin/jobs", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
				c.do(t, "POST", "/api/v1/admin/jobs/x/cancel", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
				c.do(t, "POST", "/api/v1/admin/jobs/x/retry", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			}
			ts.client(t).do(t, "GET", "/api/v1/admin/jobs", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
		t.Run("ListJoined", func(t *testing.T) {
			id := upload(t, "Listed")
			got := jobOf(t, id, "?state=queued")
			want := adminJob{ID: got.ID, LessonID: id, LessonTitle: "Listed", CourseID: course.ID,
				CourseTitle: "Operations", TeacherName: teacherUser.Name, State: "queued", Attempt: 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
			for _, j := range listJobs(t, admin, "?state=failed") {
				if j.LessonID == id {
					t.Errorf("queued job listed under state=failed")
				}
			}
			admin.do(t, "GET", "/api/v1/admin/jobs?state=bogus", nil).wantError(http.StatusBadRequest, lectern.EINVALID)
		})
		t.Run("CancelQueuedThenRetry", func(t *testing.T) {
			id := upload(t, "Canceled")
			job := jobOf(t, id, "")
			taskID := "transcode:" + id + ":1"
			if !contains(q.taskIDs(t), taskID) {
				t.Fatalf("task %s not queued: %v", taskID, q.taskIDs(t))
			}
			var resp struct{ Job adminJob }
			admin.do(t, "POST", "/api/v1/admin/jobs/"+job.ID+"/cancel", nil).want(http.StatusOK).decode(&resp)
			if resp.Job.State != "canceled" || resp.Job.Error == "" {
				t.Errorf("canceled job = %+v, want canceled with a reason", resp.Job)
			}
			if contains(q.taskIDs(t), taskID) {
				t.Errorf("task %s still queued after cancel", taskID)
			}
			var lesson struct{ Status string }
			teacher.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).decode(&lesson)
			if lesson.Status != "failed" {
				t.Errorf("lesson status after cancel = %q, want failed", lesson.Status)
			}
			admin.do(t, "POST", "/api/v1/admin/jobs/"+job.ID+"/cancel", nil).wantError(http.StatusConflict, lectern.ECONFLICT)

			admin.do(t, "POST", "/api/v1/admin/jobs/"+job.ID+"/retry", nil).want(http.StatusAccepted).decode(&resp)
			if resp.Job.Attempt != 2 || resp.Job.State != "queued" || resp.Job.LessonID != id {
				t.Errorf("retried job = %+v, want attempt 2 queued", resp.Job)
			}
			if !contains(q.taskIDs(t), "transcode:"+id+":2") {
				t.Errorf("retry queued no task: %v", q.taskIDs(t))
			}
			teacher.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).decode(&lesson)
			if lesson.Status != "queued" {
				t.Errorf("lesson status after retry = %q, want queued", lesson.Status)
			}
			admin.do(t, "POST", "/api/v1/admin/jobs/"+job.ID+"/retry", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
		})
		t.Run("UnknownJob", func(t *testing.T) {
			admin.do(t, "POST", "/api/v1/admin/jobs/nope/cancel", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			admin.do(t, "POST", "/api/v1/admin/jobs/nope/retry", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	reg := prometheus.NewRegistry()
	ts := newServer(t, fx, func(o *server.Options) { o.Metrics = reg })
	_, teacher := ts.loginNew(t, lectern.RoleTeacher)
	createCourse(t, teacher, "Measured")
	body := string(ts.client(t).do(t, "GET", "/metrics", nil).want(http.StatusOK).Body)
	for _, want := range []string{
		`lectern_http_requests_total{method="POST",route="/api/v1/courses",status="201"} 1`,
		`lectern_http_request_duration_seconds_count{method="POST",route="/api/v1/session"} 1`,
		`lectern_upload_bytes_total 0`,
		`lectern_media_served_bytes_total 0`,
		`lectern_progress_heartbeats_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if resp := ts.client(t).do(t, "GET", "/healthz", nil); resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("response has no X-Request-Id")
	}
}
