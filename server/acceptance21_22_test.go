package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// TestAcceptance21_IDORMatrix is RELIABILITY 21: a student of course A
// (and, for good measure, A's teacher) calls every route the router
// answers, plus the tus endpoint in front of it, with the IDs of course B:
// course, lessons, comments, the transcode job, a member, an upload, media
// links. Every route that names course content answers 404 (403 where the
// route is for admins only, before any lookup); routes that name none
// (my account, my courses, health) carry nothing of B. Nothing of B
// changes. The routes come from the router, so a route added without an
// entry in routeCases fails this test.
func TestAcceptance21_IDORMatrix(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newWorld(t, fx)
		checkRouteCases(t, w.srv)
		before := w.snapshot(t, w.b)
		for name, caller := range map[string]*client{"StudentOfA": w.a.student, "TeacherOfA": w.a.teacher} {
			t.Run(name, func(t *testing.T) {
				for _, key := range sortedCases() {
					rc := routeCases[key]
					for _, p := range rc.probes(w, w.b) {
						r := w.send(t, caller, p)
						what := key + ": " + p.method + " " + p.path
						if want := want21(rc, p); len(want) > 0 && !slices.Contains(want, r.Status) {
							t.Errorf("%s: status %d, want one of %v; body %.200s", what, r.Status, want, r.Body)
						}
						if r.Status >= 500 && r.Status != p.want {
							t.Errorf("%s: status %d; body %.200s", what, r.Status, r.Body)
						}
						wantNoSecrets(t, what, r.Body, w.b)
					}
				}
			})
		}
		if diff := cmp.Diff(before, w.snapshot(t, w.b)); diff != "" {
			t.Errorf("course B changed under A's people (-before +after):\n%s", diff)
		}
	})
}

// want21 is the statuses a member of A may get for a probe with B's IDs;
// none means any status below 500. Admin routes refuse before looking
// anything up: the API with 403, the admin pages with 404.
func want21(rc routeCase, p probe) []int {
	switch {
	case p.want != 0:
		return []int{p.want}
	case rc.access == admin:
		return []int{http.StatusForbidden, http.StatusNotFound}
	case rc.ids:
		return []int{http.StatusNotFound}
	}
	return nil
}

// TestAcceptance22_RoleEscalation is RELIABILITY 22: a student of course B
// calls every route for B's teachers, for teachers by account, and for
// admins (upload, delete, retry, cancel, the queue UI, analytics, user
// creation, member removal…), and B's teacher calls every admin route:
// each answers 403 (or 404), and nothing changes. The routes come from
// the router through routeCases. The queue UI needs an admin's session:
// without one a browser is sent to the login page.
func TestAcceptance22_RoleEscalation(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newWorld(t, fx)
		checkRouteCases(t, w.srv)
		before := w.snapshot(t, w.b)
		callers := []struct {
			name    string
			c       *client
			refused func(access) bool
		}{
			{"StudentOfB", w.b.student, func(a access) bool { return a == teacher || a == author || a == creator || a == admin }},
			{"TeacherOfB", w.b.teacher, func(a access) bool { return a == admin }},
		}
		for _, caller := range callers {
			t.Run(caller.name, func(t *testing.T) {
				n := 0
				for _, key := range sortedCases() {
					rc := routeCases[key]
					if !caller.refused(rc.access) {
						continue
					}
					for _, p := range rc.probes(w, w.b) {
						n++
						r := w.send(t, caller.c, p)
						if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
							t.Errorf("%s (%s): %s %s answered %d, want 403 or 404; body %.200s",
								key, accessNames[rc.access], p.method, p.path, r.Status, r.Body)
						}
					}
				}
				t.Logf("%d requests refused", n)
			})
		}
		if diff := cmp.Diff(before, w.snapshot(t, w.b)); diff != "" {
			t.Errorf("course B changed under its student and teacher (-before +after):\n%s", diff)
		}

		t.Run("QueueUINeedsAnAdminSession", func(t *testing.T) {
			ui := server.QueueUIPath
			anon := w.ts.client(t)
			anon.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			r := anon.do(t, "GET", ui, nil, "Accept", "text/html").want(http.StatusSeeOther)
			if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("anonymous browser sent to %q, want the login page", loc)
			}
			anon.do(t, "GET", ui+"/api/queues", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			// An admin who logged out is anonymous again.
			admin, pw := fx.createUser(t, lectern.RoleAdmin)
			c := w.ts.login(t, admin, pw)
			c.do(t, "GET", ui+"/api/queues", nil).want(http.StatusOK)
			c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
			c.do(t, "GET", ui+"/api/queues", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			w.admin.do(t, "GET", ui, nil).want(http.StatusOK)
		})
	})
}
