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
	"github.com/lectern/lectern/server"
)

// roleIn is the user's role in the course, archived or not, "" when not
// a member.
func (w *ltiWorld) roleIn(t *testing.T, email, courseID string) lectern.MemberRole {
	t.Helper()
	u, err := w.ts.DB.FindUserByEmail(context.Background(), email)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	courses, err := w.ts.DB.FindCourses(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	archived, err := w.ts.DB.FindArchivedCourses(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(courses, archived...) {
		if c.ID == courseID {
			return c.MyRole
		}
	}
	return ""
}

type rosterSync struct {
	Contexts []struct {
		ContextID     string `json:"context_id"`
		SyncError     string `json:"sync_error"`
		SyncedMembers int    `json:"synced_members"`
		SyncedAt      *time.Time
		Result        *struct {
			Members, Added, Removed, Kept int
			NewUsers                      int `json:"new_users"`
		}
	}
}

func lmsMember(sub, role string) ltiplatform.Member {
	return ltiplatform.Member{Sub: sub, Roles: []string{role}}
}

// TestLTIRoster syncs an LMS course's roster (NRPS 2.0) into its Lectern
// course, as its teacher asks from a launched page: the platform pages
// the roster two members at a time and checks Lectern's token and scope;
// students appear before they ever launch (and their first launch finds
// them), roles are mapped as at launch, and those the LMS marks Inactive
// or Deleted or no longer lists lose access, while the course's owner and
// people who joined by code stay. An empty roster, a refused scope and a
// student asking change nothing.
func TestLTIRoster(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		for _, u := range []ltiplatform.User{{Sub: "s2", Name: "Ada Early", Email: "ada@school.example"},
			{Sub: "s3", Name: "Bo Bird", Email: "bo@school.example"}, {Sub: "s4", Name: "Cy Gone", Email: "cy@school.example"},
			{Sub: "t2", Name: "Tia Assistant", Email: "tia@school.example"}, {Sub: "g1", Name: "Gus Guest", Email: "gus@school.example"}} {
			w.p.AddUser(u)
		}
		active := []ltiplatform.Member{lmsMember("t1", ltiplatform.RoleInstructor), lmsMember("s1", ltiplatform.RoleLearner),
			lmsMember("s2", ltiplatform.RoleLearner), lmsMember("s3", "Learner"),
			lmsMember("t2", "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"),
			lmsMember("g1", "http://purl.imsglobal.org/vocab/lis/v2/membership#Guest"),
			{Sub: "s4", Roles: []string{ltiplatform.RoleLearner}, Status: "Inactive"}}
		w.p.SetMembers("c1", active)
		w.p.SetPageSize(2)

		teacherPage := w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		course := w.taughtCourse(t, w.userByEmail(t, "tess@school.example"))
		samPage := w.launch(t, w.p.ResourceLinkMessage("s1", "l1"))
		local, _ := fx.createUser(t, lectern.RoleStudent)
		if err := fx.DB.AddCourseMember(context.Background(), course.ID, local.ID, lectern.MemberStudent); err != nil {
			t.Fatal(err)
		}
		teacher := func(t *testing.T, method, path string) *response {
			return w.ts.client(t).do(t, method, path, nil, "X-Lectern-Launch", launchToken(t, teacherPage))
		}
		sync := func(t *testing.T) *response { return teacher(t, "POST", "/api/v1/courses/"+course.ID+"/lti/sync") }

		var got rosterSync
		sync(t).want(http.StatusOK).decode(&got)
		if len(got.Contexts) != 1 || got.Contexts[0].Result == nil {
			t.Fatalf("sync answered %+v", got)
		}
		if r := *got.Contexts[0].Result; r.Members != 5 || r.Added != 3 || r.NewUsers != 3 || r.Removed != 0 {
			t.Errorf("first sync did %+v, want 5 members, 3 added and new (s2, s3, t2), none removed", r)
		}
		if n := w.p.RosterPages(); n != 4 {
			t.Errorf("the platform served %d pages, want all 4 of the 7 members by 2", n)
		}
		for email, want := range map[string]lectern.MemberRole{"ada@school.example": lectern.MemberStudent,
			"bo@school.example": lectern.MemberStudent, "tia@school.example": lectern.MemberTeacher,
			"cy@school.example": "", "gus@school.example": "", "sam@school.example": lectern.MemberStudent} {
			if got := w.roleIn(t, email, course.ID); got != want {
				t.Errorf("%s is %q in the course, want %q", email, got, want)
			}
		}
		if pg := string(w.launch(t, w.p.ResourceLinkMessage("t1", "l1")).Body); !strings.Contains(pg, `id="lms-sync"`) ||
			!strings.Contains(pg, "5 members, synced") || !strings.Contains(pg, "Ada Early") {
			t.Errorf("the teacher's course page must show the roster's state and the synced students: %.3000s", pg)
		}
		ada := w.userByEmail(t, "ada@school.example")
		if ada.Name != "Ada Early" || ada.Role != lectern.RoleStudent {
			t.Errorf("provisioned before launching: %+v", ada)
		}
		w.launch(t, w.p.ResourceLinkMessage("s2", "l1"))
		if again := w.userByEmail(t, "ada@school.example"); again.ID != ada.ID {
			t.Errorf("Ada's first launch made a new user %s, want the synced one %s", again.ID, ada.ID)
		}

		// In the LMS: Sam is made inactive, Tia deleted, Bo dropped, and the
		// teacher (the course's owner) vanishes from the list.
		w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("s2", ltiplatform.RoleLearner),
			{Sub: "s1", Roles: []string{ltiplatform.RoleLearner}, Status: "Inactive"},
			{Sub: "t2", Roles: []string{ltiplatform.RoleInstructor}, Status: "Deleted"}})
		samToken := launchToken(t, samPage)
		w.ts.client(t).do(t, "GET", "/api/v1/courses/"+course.ID, nil, "X-Lectern-Launch", samToken).want(http.StatusOK)
		sync(t).want(http.StatusOK).decode(&got)
		if r := *got.Contexts[0].Result; r.Members != 1 || r.Removed != 3 || r.Kept != 1 {
			t.Errorf("second sync did %+v, want 1 member, 3 removed (Sam, Tia, Bo), the owner kept", r)
		}
		for email, want := range map[string]lectern.MemberRole{"sam@school.example": "", "tia@school.example": "",
			"bo@school.example": "", "ada@school.example": lectern.MemberStudent, "tess@school.example": lectern.MemberTeacher,
			local.Email: lectern.MemberStudent} {
			if got := w.roleIn(t, email, course.ID); got != want {
				t.Errorf("after the LMS changed: %s is %q, want %q", email, got, want)
			}
		}
		w.ts.client(t).do(t, "GET", "/api/v1/courses/"+course.ID, nil, "X-Lectern-Launch", samToken).wantError(http.StatusNotFound, lectern.ENOTFOUND)

		t.Run("EmptyRosterChangesNothing", func(t *testing.T) {
			w.p.SetMembers("c1", []ltiplatform.Member{{Sub: "s2", Roles: []string{ltiplatform.RoleLearner}, Status: "Inactive"}})
			defer w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("s2", ltiplatform.RoleLearner)})
			if msg := sync(t).wantError(http.StatusBadRequest, lectern.EINVALID); !strings.Contains(msg, "nobody active") {
				t.Errorf("message %q", msg)
			}
			if w.roleIn(t, "ada@school.example", course.ID) != lectern.MemberStudent {
				t.Error("an empty roster removed Ada")
			}
		})
		t.Run("ScopeRefused", func(t *testing.T) {
			w.p.DenyScope(lti.ScopeNRPS, true)
			defer w.p.DenyScope(lti.ScopeNRPS, false)
			msg := sync(t).wantError(http.StatusBadRequest, lectern.EINVALID)
			if !strings.Contains(msg, "Names and Role Provisioning") {
				t.Errorf("message %q does not say what to ask the LMS admin", msg)
			}
			var shown rosterSync
			teacher(t, "GET", "/api/v1/courses/"+course.ID+"/lti").want(http.StatusOK).decode(&shown)
			if len(shown.Contexts) != 1 || !strings.Contains(shown.Contexts[0].SyncError, "invalid_scope") || shown.Contexts[0].SyncedMembers != 1 {
				t.Errorf("the course's LMS link shows %+v, want the failure and the last good count", shown.Contexts)
			}
			var detail rosterSync
			w.admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+w.platform.ID, nil).want(http.StatusOK).decode(&detail)
			if len(detail.Contexts) != 1 || !strings.Contains(detail.Contexts[0].SyncError, "invalid_scope") {
				t.Errorf("the admin's view of the platform shows linked courses %+v, want the failed sync", detail.Contexts)
			}
			page := w.admin.do(t, "GET", "/admin/lti", nil).want(http.StatusOK).Body
			if !strings.Contains(string(page), `data-action="sync-platform"`) || !strings.Contains(string(page), "invalid_scope") {
				t.Errorf("the admin page must list the linked course with its failed sync: %.2000s", page)
			}
		})
		t.Run("StudentsMayNotSync", func(t *testing.T) {
			adaPage := w.launch(t, w.p.ResourceLinkMessage("s2", "l1"))
			w.ts.client(t).do(t, "POST", "/api/v1/courses/"+course.ID+"/lti/sync", nil, "X-Lectern-Launch", launchToken(t, adaPage)).
				wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		})
		t.Run("AdminSyncsAPlatform", func(t *testing.T) {
			w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("s2", ltiplatform.RoleLearner), lmsMember("s3", ltiplatform.RoleLearner)})
			fx.Clock.Advance(2 * time.Minute)
			var n struct{ Synced, Failed int }
			w.admin.do(t, "POST", "/api/v1/admin/lti/platforms/"+w.platform.ID+"/sync", nil).want(http.StatusOK).decode(&n)
			if n.Synced != 1 || n.Failed != 0 || w.roleIn(t, "bo@school.example", course.ID) != lectern.MemberStudent {
				t.Errorf("admin's sync: %+v; Bo is %q", n, w.roleIn(t, "bo@school.example", course.ID))
			}
		})
	})
}

// TestLTIRosterPeriodic lets the background sync do it: a course linked
// by its teacher's launch gets its roster without anyone asking, and,
// once the interval has passed, loses the students the LMS dropped.
func TestLTIRosterPeriodic(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx, func(o *server.Options) { o.LTIRosterInterval = 30 * time.Millisecond })
		w.p.AddUser(ltiplatform.User{Sub: "s2", Name: "Ada Early", Email: "ada@school.example"})
		w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("t1", ltiplatform.RoleInstructor), lmsMember("s2", ltiplatform.RoleLearner)})
		w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		course := w.taughtCourse(t, w.userByEmail(t, "tess@school.example"))
		eventually(t, "Ada to be synced into the course", func() bool {
			return w.roleIn(t, "ada@school.example", course.ID) == lectern.MemberStudent
		})
		w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("t1", ltiplatform.RoleInstructor)})
		fx.Clock.Advance(time.Second)
		eventually(t, "Ada to be dropped from the course", func() bool { return w.roleIn(t, "ada@school.example", course.ID) == "" })
	})
}

// TestLTIRosterLeavesArchivedCourse: an archived course is read-only for
// everyone, so neither its teacher's sync nor an admin's (the path the
// background sync takes) changes its members, the LMS is not even asked,
// and the course's LMS link says why; a launch from the LMS lets its
// members in and nobody else. Restored, it syncs again.
func TestLTIRosterLeavesArchivedCourse(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		w.p.AddUser(ltiplatform.User{Sub: "s2", Name: "Ada Early", Email: "ada@school.example"})
		w.p.AddUser(ltiplatform.User{Sub: "s3", Name: "Bo Bird", Email: "bo@school.example"})
		w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("t1", ltiplatform.RoleInstructor), lmsMember("s2", ltiplatform.RoleLearner)})
		teacherPage := w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		course := w.taughtCourse(t, w.userByEmail(t, "tess@school.example"))
		teacher := func(t *testing.T, method, path string) *response {
			return w.ts.client(t).do(t, method, path, nil, "X-Lectern-Launch", launchToken(t, teacherPage))
		}
		teacher(t, "POST", "/api/v1/courses/"+course.ID+"/lti/sync").want(http.StatusOK)
		if got := w.roleIn(t, "ada@school.example", course.ID); got != lectern.MemberStudent {
			t.Fatalf("Ada is %q after the first sync", got)
		}
		teacher(t, "POST", "/api/v1/courses/"+course.ID+"/archive").want(http.StatusOK)

		// In the LMS, Ada leaves and Bo joins.
		w.p.SetMembers("c1", []ltiplatform.Member{lmsMember("t1", ltiplatform.RoleInstructor), lmsMember("s3", ltiplatform.RoleLearner)})
		pages := w.p.RosterPages()
		teacher(t, "POST", "/api/v1/courses/"+course.ID+"/lti/sync").wantError(http.StatusConflict, lectern.ECONFLICT)
		fx.Clock.Advance(2 * time.Minute)
		var n struct{ Synced, Failed int }
		w.admin.do(t, "POST", "/api/v1/admin/lti/platforms/"+w.platform.ID+"/sync", nil).want(http.StatusOK).decode(&n)
		if n.Synced != 0 || n.Failed != 1 {
			t.Errorf("admin's sync of the archived course's platform: %+v, want 1 failed", n)
		}
		if ada, bo := w.roleIn(t, "ada@school.example", course.ID), w.roleIn(t, "bo@school.example", course.ID); ada != lectern.MemberStudent || bo != "" {
			t.Errorf("after syncing the archived course Ada is %q and Bo %q, want the members unchanged (Ada a student, Bo none)", ada, bo)
		}
		if got := w.p.RosterPages(); got != pages {
			t.Errorf("the platform served %d roster pages for an archived course", got-pages)
		}
		var shown rosterSync
		w.admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+w.platform.ID, nil).want(http.StatusOK).decode(&shown)
		if len(shown.Contexts) != 1 || !strings.Contains(shown.Contexts[0].SyncError, "archived") {
			t.Errorf("the platform's linked course shows %+v, want it to say the course is archived", shown.Contexts)
		}

		// From the LMS, Bo is refused (nobody joins an archived course);
		// the teacher, a member, still opens it.
		wantRefused(t, w.launch(t, w.p.ResourceLinkMessage("s3", "l1")), lti.ReasonContext)
		if bo := w.roleIn(t, "bo@school.example", course.ID); bo != "" {
			t.Errorf("Bo's launch made him %q of the archived course", bo)
		}
		launchToken(t, w.launch(t, w.p.ResourceLinkMessage("t1", "l1")))

		teacher(t, "POST", "/api/v1/courses/"+course.ID+"/unarchive").want(http.StatusOK)
		teacher(t, "POST", "/api/v1/courses/"+course.ID+"/lti/sync").want(http.StatusOK)
		if ada, bo := w.roleIn(t, "ada@school.example", course.ID), w.roleIn(t, "bo@school.example", course.ID); ada != "" || bo != lectern.MemberStudent {
			t.Errorf("restored and synced, Ada is %q and Bo %q, want Bo in her place", ada, bo)
		}
	})
}
