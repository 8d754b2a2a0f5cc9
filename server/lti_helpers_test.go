package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/server"
)

// ltiWorld is a Lectern server with a test platform registered in it:
// a course "Biology" (context c1) with teacher t1 and student s1, and a
// link l1 placed in it.
type ltiWorld struct {
	ts       *testServer
	p        *ltiplatform.Platform
	admin    *client
	platform lectern.LTIPlatform
}

func newLTIWorld(t *testing.T, fx *fixture, edit ...func(*server.Options)) *ltiWorld {
	t.Helper()
	// Scores are sent as soon as they are due: tests wait for them.
	// Rosters are synced only when a test asks, unless edit says otherwise.
	ts := newServer(t, fx, append([]func(*server.Options){func(o *server.Options) {
		o.LTIScoreInterval, o.LTIRosterInterval = 20*time.Millisecond, -1
	}}, edit...)...)
	_, admin := ts.loginNew(t, lectern.RoleAdmin)
	p := ltiplatform.New(t, ltiplatform.Options{Now: fx.Clock.Now})
	p.SetTool(ltiplatform.Tool{LoginURL: ts.URL + "/lti/login", RedirectURL: ts.URL + "/lti/launch", JWKSURL: ts.URL + "/lti/jwks"})
	w := &ltiWorld{ts: ts, p: p, admin: admin}
	body := map[string]any{"name": "Test LMS", "issuer": p.URL, "client_id": p.ClientID, "deployment_ids": []string{p.DeploymentID},
		"auth_login_url": p.AuthURL(), "token_url": p.TokenURL(), "jwks_url": p.JWKSURL()}
	admin.do(t, "POST", "/api/v1/admin/lti/platforms", body).want(http.StatusCreated).decode(&w.platform)
	p.AddUser(ltiplatform.User{Sub: "t1", Name: "Tess Teacher", Email: "tess@school.example"})
	p.AddUser(ltiplatform.User{Sub: "s1", Name: "Sam Student", Email: "sam@school.example"})
	p.AddContext(ltiplatform.Context{ID: "c1", Title: "Biology", Members: []ltiplatform.Member{
		{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}}, {Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}}})
	p.AddLink(ltiplatform.Link{ID: "l1", ContextID: "c1", Title: "Week 1"}, 0)
	return w
}

// launchForm runs a launch up to the form the platform posts to
// Lectern's launch URL, and returns that form.
func (w *ltiWorld) launchForm(t *testing.T, b *ltiplatform.Browser, m *ltiplatform.Message, storage string) *ltiplatform.Form {
	t.Helper()
	login, err := b.Get(w.p.LoginURL(m, storage))
	if err != nil {
		t.Fatal(err)
	}
	if login.Status != http.StatusOK {
		t.Fatalf("login: status %d: %s", login.Status, login.Body)
	}
	auth, err := login.Form("lti-auth")
	if err != nil {
		t.Fatal(err)
	}
	post, err := b.Submit(auth, login.Origin())
	if err != nil {
		t.Fatal(err)
	}
	f, err := post.Form("f")
	if err != nil {
		t.Fatalf("the platform's answer: %v", err)
	}
	return f
}

// post submits the platform's form to Lectern, from the platform's page.
func (w *ltiWorld) post(t *testing.T, b *ltiplatform.Browser, f *ltiplatform.Form) *ltiplatform.Page {
	t.Helper()
	pg, err := b.Submit(f, w.p.URL)
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

// launch runs a whole launch in a browser that keeps cookies.
func (w *ltiWorld) launch(t *testing.T, m *ltiplatform.Message) *ltiplatform.Page {
	t.Helper()
	b := ltiplatform.NewBrowser(true)
	return w.post(t, b, w.launchForm(t, b, m, ""))
}

var launchTokenRe = regexp.MustCompile(`<meta name="lectern-launch" content="([^"]+)">`)

// launchToken is the session token a launched page carries.
func launchToken(t *testing.T, pg *ltiplatform.Page) string {
	t.Helper()
	m := launchTokenRe.FindSubmatch(pg.Body)
	if m == nil {
		t.Fatalf("the launched page carries no launch token (status %d): %.400s", pg.Status, pg.Body)
	}
	return string(m[1])
}

// wantRefused checks that pg is the refusal page with reason and words.
func wantRefused(t *testing.T, pg *ltiplatform.Page, reason string) {
	t.Helper()
	body := string(pg.Body)
	if pg.Status != http.StatusForbidden || !strings.Contains(body, `id="lti-refused"`) {
		t.Fatalf("status %d, want the 403 refusal page: %.600s", pg.Status, body)
	}
	if !strings.Contains(body, `<code id="lti-refused-reason">`+reason+`</code>`) {
		t.Errorf("refusal page does not give reason %q: %.800s", reason, body)
	}
	if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Errorf("refusal page shows internals: %.800s", body)
	}
}

// userBySub returns the Lectern user the platform's sub became.
func (w *ltiWorld) userByEmail(t *testing.T, email string) *lectern.User {
	t.Helper()
	u, err := w.ts.DB.FindUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// me asks who the launch token belongs to.
func (w *ltiWorld) me(t *testing.T, token string) *response {
	t.Helper()
	return w.ts.client(t).do(t, "GET", "/api/v1/me", nil, "X-Lectern-Launch", token)
}

// tamperSub changes the sub of a signed JWT, keeping its signature.
func tamperSub(t *testing.T, tok, sub string) string {
	t.Helper()
	parts := strings.SplitN(tok, ".", 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = sub
	raw, _ = json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
}

// eventually waits (up to 20 s) for cond, failing with what.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// taughtCourse returns the one course the user teaches.
func (w *ltiWorld) taughtCourse(t *testing.T, u *lectern.User) *lectern.Course {
	t.Helper()
	courses, err := w.ts.DB.FindCourses(context.Background(), u)
	if err != nil || len(courses) != 1 {
		t.Fatalf("courses of %s: %v, %v", u.Email, courses, err)
	}
	return courses[0]
}

// readyLesson adds a lesson of durationMS, ready to watch, to a course.
func (w *ltiWorld) readyLesson(t *testing.T, courseID, title string, durationMS int64) *lectern.Lesson {
	t.Helper()
	ctx := context.Background()
	l := &lectern.Lesson{CourseID: courseID, Title: title, PublishedAt: new(time.Unix(0, 0))}
	if err := w.ts.DB.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	ready := lectern.LessonReady
	l, err := w.ts.DB.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &durationMS})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
