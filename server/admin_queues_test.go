package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/server"
)

func TestQueueUI(t *testing.T) {
	t.Parallel()
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	q := newTestQueue(t, fx)
	ui := jobs.NewQueueUI(q.Queue, server.QueueUIPath)
	t.Cleanup(func() { ui.Close() })
	ts := newServer(t, fx, func(o *server.Options) { o.Jobs = q.Jobs; o.QueueUI = ui })
	_, teacher := ts.loginNew(t, lectern.RoleTeacher)
	_, student := ts.loginNew(t, lectern.RoleStudent)
	_, admin := ts.loginNew(t, lectern.RoleAdmin)
	if err := q.Jobs.EnqueueTranscode(context.Background(), &lectern.Job{LessonID: "l1", ID: "j1", Attempt: 1}); err != nil {
		t.Fatal(err)
	}

	t.Run("NonAdminsRefused", func(t *testing.T) {
		for _, c := range []*client{student, teacher} {
			c.do(t, "GET", server.QueueUIPath, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			c.do(t, "GET", server.QueueUIPath+"/api/queues", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			c.do(t, "DELETE", server.QueueUIPath+"/api/queues/transcode/pending_tasks:batch_delete", nil).
				wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		}
		anon := ts.client(t)
		anon.do(t, "GET", server.QueueUIPath+"/api/queues", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		anon.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r := anon.do(t, "GET", server.QueueUIPath, nil, "Accept", "text/html").want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("redirect to %q, want the login page", loc)
		}
	})
	t.Run("AdminSeesQueue", func(t *testing.T) {
		page := admin.do(t, "GET", server.QueueUIPath, nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), "<div id=\"root\">") && !strings.Contains(string(page.Body), "root") {
			t.Errorf("queue UI page does not look like asynqmon: %.200s", page.Body)
		}
		var queues struct {
			Queues []struct {
				Queue   string `json:"queue"`
				Pending int    `json:"pending"`
			} `json:"queues"`
		}
		admin.do(t, "GET", server.QueueUIPath+"/api/queues", nil).want(http.StatusOK).decode(&queues)
		if len(queues.Queues) != 1 || queues.Queues[0].Queue != jobs.QueueTranscode || queues.Queues[0].Pending != 1 {
			t.Errorf("queues = %+v, want the transcode queue with one pending task", queues.Queues)
		}
	})
	t.Run("PageStaysOnThisSite", func(t *testing.T) {
		for _, path := range []string{server.QueueUIPath, server.QueueUIPath + "/redis", server.QueueUIPath + "/queues/transcode"} {
			r := admin.do(t, "GET", path, nil).want(http.StatusOK)
			page := string(r.Body)
			for _, bad := range []string{"fonts.googleapis.com", `href="http`, `href="//`, `src="http`, `src="//`, `rel="manifest"`} {
				if strings.Contains(page, bad) {
					t.Errorf("%s still has %s", path, bad)
				}
			}
			for _, want := range []string{"/static/css/queue-ui.css?v=", "/static/js/queue-ui.js?v=", `<a href="/admin">`, `id="root"`} {
				if !strings.Contains(page, want) {
					t.Errorf("%s lacks %s", path, want)
				}
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "font-src 'self'") {
				t.Errorf("%s Content-Security-Policy = %q, want requests kept on this site", path, csp)
			}
		}
		css := string(admin.do(t, "GET", "/static/css/queue-ui.css", nil).want(http.StatusOK).Body)
		if !strings.Contains(css, ".lectern-back") || strings.Contains(css, "@import") || strings.Contains(css, "url(") {
			t.Errorf("queue-ui.css does not style the back link, or loads something: %s", css)
		}
		// The UI's own scripts and API pass through untouched.
		admin.do(t, "GET", server.QueueUIPath+"/api/queues", nil).want(http.StatusOK)
	})
	t.Run("AdminPausesAndDeletes", func(t *testing.T) {
		admin.do(t, "POST", server.QueueUIPath+"/api/queues/transcode:pause", nil).want(http.StatusNoContent)
		stats, err := q.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(stats, func(s jobs.QueueStats) bool { return s.Name == jobs.QueueTranscode }); i < 0 || !stats[i].Paused {
			t.Errorf("queue %s is not paused: %+v", jobs.QueueTranscode, stats)
		}
		id := "transcode:l1:1"
		admin.do(t, "DELETE", server.QueueUIPath+"/api/queues/transcode/pending_tasks/"+id, nil).want(http.StatusNoContent)
		if ids := q.taskIDs(t); len(ids) != 0 {
			t.Errorf("pending after delete = %v, want none", ids)
		}
	})
	t.Run("ViewsOnMiniredis", func(t *testing.T) {
		// Which asynqmon views the embedded queue (miniredis) can answer;
		// the ones it cannot are reported, not hidden.
		for _, path := range []string{"/api/queues", "/api/queue_stats", "/api/servers", "/api/redis_info",
			"/api/queues/transcode/pending_tasks", "/api/queues/transcode/completed_tasks"} {
			r := admin.do(t, "GET", server.QueueUIPath+path, nil)
			if r.Status != http.StatusOK {
				t.Logf("asynqmon %s on miniredis: %d %.120s", path, r.Status, r.Body)
			}
		}
		admin.do(t, "GET", server.QueueUIPath+"/api/queues/transcode/pending_tasks", nil).want(http.StatusOK)
	})
}
