package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

// TestLTILaunch follows launches through the OIDC login to the page they
// open: the instructor's first launch creates the course, later launches
// find it, a learner's launch of a link to a lesson opens that lesson,
// users are matched by (issuer, sub), and the page's launch token is a
// session of its own.
func TestLTILaunch(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		ctx := context.Background()

		pg := w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		if pg.Status != http.StatusOK || !strings.Contains(string(pg.Body), "Biology") {
			t.Fatalf("instructor's first launch: status %d, want the new course's page: %.500s", pg.Status, pg.Body)
		}
		tess := w.userByEmail(t, "tess@school.example")
		if tess.Name != "Tess Teacher" || tess.Role != lectern.RoleTeacher {
			t.Errorf("instructor became %+v", tess)
		}
		courses, _ := fx.DB.FindCourses(ctx, tess)
		if len(courses) != 1 || courses[0].Title != "Biology" || courses[0].MyRole != lectern.MemberTeacher {
			t.Fatalf("instructor's courses: %+v, want Biology as its teacher", courses)
		}
		course := courses[0]
		if got := w.me(t, launchToken(t, pg)).want(http.StatusOK).fields()["id"]; got != tess.ID {
			t.Errorf("launch token is %v's, want %s", got, tess.ID)
		}
		w.ts.client(t).do(t, "GET", "/api/v1/me", nil, "X-Lectern-Launch", "made-up").want(http.StatusUnauthorized)

		// Again, with a new name in the LMS: the same user and course.
		w.p.AddUser(ltiplatform.User{Sub: "t1", Name: "Tess T. Teacher", Email: "tess@school.example"})
		w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		again, _ := fx.DB.FindCourses(ctx, tess)
		if len(again) != 1 || again[0].ID != course.ID {
			t.Errorf("second launch: courses %+v, want only %s", again, course.ID)
		}
		if u := w.userByEmail(t, "tess@school.example"); u.ID != tess.ID || u.Name != "Tess T. Teacher" {
			t.Errorf("second launch: user %+v, want %s renamed", u, tess.ID)
		}

		lesson := &lectern.Lesson{CourseID: course.ID, Title: "Mitosis in 5 minutes", PublishedAt: new(time.Unix(0, 0))}
		if err := fx.DB.CreateLesson(ctx, lesson); err != nil {
			t.Fatal(err)
		}
		w.p.AddLink(ltiplatform.Link{ID: "l2", ContextID: "c1", Title: "Mitosis", Custom: map[string]string{lti.CustomLesson: lesson.ID}}, 100)
		pg = w.launch(t, w.p.ResourceLinkMessage("s1", "l2"))
		if pg.Status != http.StatusOK || !strings.Contains(string(pg.Body), "Mitosis in 5 minutes") || !strings.Contains(string(pg.Body), `class="page-watch"`) {
			t.Fatalf("learner's launch: status %d, want the lesson's watch page: %.500s", pg.Status, pg.Body)
		}
		if csp := pg.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") || pg.Header.Get("X-Frame-Options") != "" {
			t.Errorf("a launched page must be framable by the LMS: CSP %q, X-Frame-Options %q", csp, pg.Header.Get("X-Frame-Options"))
		}
		sam := w.userByEmail(t, "sam@school.example")
		token := launchToken(t, pg)
		w.ts.client(t).do(t, "GET", "/api/v1/lessons/"+lesson.ID, nil, "X-Lectern-Launch", token).want(http.StatusOK)
		if sam.Role != lectern.RoleStudent {
			t.Errorf("learner became %+v", sam)
		}

		t.Run("LMSUsersHaveNoPassword", func(t *testing.T) {
			w.ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": sam.Email, "password": ""}).want(http.StatusBadRequest)
			w.ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": sam.Email, "password": "anything at all"}).
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("EmailOfALocalAccountIsNotTaken", func(t *testing.T) {
			local, _ := fx.createUser(t, lectern.RoleTeacher)
			w.p.AddUser(ltiplatform.User{Sub: "s9", Name: "Sneaky", Email: local.Email})
			w.p.SetMembers("c1", []ltiplatform.Member{{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}},
				{Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}, {Sub: "s9", Roles: []string{ltiplatform.RoleLearner}}})
			pg := w.launch(t, w.p.ResourceLinkMessage("s9", "l2"))
			tok := launchToken(t, pg)
			got := w.me(t, tok).want(http.StatusOK).fields()
			if got["id"] == local.ID || !strings.HasSuffix(got["email"].(string), ".invalid") {
				t.Errorf("the LMS user with a local account's email became %v, want a separate account", got)
			}
		})

		t.Run("UnlinkedContextForALearner", func(t *testing.T) {
			w.p.AddContext(ltiplatform.Context{ID: "c2", Title: "Chemistry", Members: []ltiplatform.Member{{Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}}})
			w.p.AddLink(ltiplatform.Link{ID: "l9", ContextID: "c2", Title: "Acids"}, 0)
			wantRefused(t, w.launch(t, w.p.ResourceLinkMessage("s1", "l9")), lti.ReasonContext)
		})

		t.Run("AdministratorAsConfigured", func(t *testing.T) {
			w.p.AddUser(ltiplatform.User{Sub: "a1", Name: "Ada Admin", Email: "ada@school.example"})
			w.p.SetMembers("c1", []ltiplatform.Member{{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}},
				{Sub: "a1", Roles: []string{ltiplatform.RoleAdministrator}}})
			b := map[string]any{"name": "Test LMS", "issuer": w.p.URL, "client_id": w.p.ClientID, "deployment_ids": []string{w.p.DeploymentID},
				"auth_login_url": w.p.AuthURL(), "token_url": w.p.TokenURL(), "jwks_url": w.p.JWKSURL(), "admin_role": "admin"}
			w.admin.do(t, "PUT", "/api/v1/admin/lti/platforms/"+w.platform.ID, b).want(http.StatusOK)
			launchToken(t, w.launch(t, w.p.ResourceLinkMessage("a1", "l1")))
			if u := w.userByEmail(t, "ada@school.example"); u.Role != lectern.RoleAdmin {
				t.Errorf("LMS administrator became %s, want admin as configured", u.Role)
			}
		})

		var detail struct {
			Launches []lectern.LTILaunchRecord `json:"launches"`
		}
		w.admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+w.platform.ID, nil).want(http.StatusOK).decode(&detail)
		outcomes := map[string]int{}
		for _, l := range detail.Launches {
			outcomes[l.Outcome]++
		}
		if outcomes["ok"] < 5 || outcomes[lti.ReasonContext] != 1 {
			t.Errorf("admin sees launches %v, want every launch let in and the one refused", outcomes)
		}
	})
}
