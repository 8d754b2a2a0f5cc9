package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// ssoWorld is a Lectern with single sign-on at a real OpenID Connect
// provider running on this machine (testenv.StartOIDCProvider).
type ssoWorld struct {
	*testServer
	provider testenv.OIDCProvider
}

// Accounts at the provider.
var (
	ssoStudent = testenv.OIDCUser{ID: "sub-stu", Username: "stu", Password: "stu-pass-1", FirstName: "Sam", LastName: "Student",
		Email: "sam@school.example", EmailVerified: true}
	ssoTeacher = testenv.OIDCUser{ID: "sub-tea", Username: "tea", Password: "tea-pass-1", FirstName: "Tess", LastName: "Staff",
		Email: "tess@school.example", EmailVerified: true}
	ssoUnverified = testenv.OIDCUser{ID: "sub-unv", Username: "unv", Password: "unv-pass-1", FirstName: "Una", LastName: "Student",
		Email: "una@school.example", EmailVerified: false}
)

func newSSOWorld(t *testing.T, fx *fixture, edit ...func(*server.OIDCOptions)) *ssoWorld {
	t.Helper()
	issuer := testenv.OIDCIssuer(t)
	opts := &server.OIDCOptions{Issuer: issuer, ClientID: testenv.OIDCClientID, ClientSecret: testenv.OIDCClientSecret,
		ButtonLabel: "Springfield High", TeacherClaim: "family_name", TeacherValue: "Staff"}
	for _, e := range edit {
		e(opts)
	}
	ts := newServer(t, fx, func(o *server.Options) { o.OIDC = opts })
	p := testenv.StartOIDCProvider(t, issuer, ts.URL+server.OIDCCallbackPath, ssoStudent, ssoTeacher, ssoUnverified)
	return &ssoWorld{testServer: ts, provider: p}
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// ssoLogin starts a login at Lectern with c, logs in as u at the
// provider's form, and returns the last response (Lectern's page after
// the callback, or its refusal) and where it came from.
func (w *ssoWorld) ssoLogin(t *testing.T, c *client, u testenv.OIDCUser) (*response, *url.URL) {
	t.Helper()
	resp, err := c.hc.Get(w.URL + server.OIDCLoginPath)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if !strings.HasPrefix(resp.Request.URL.String(), w.provider.Issuer) {
		t.Fatalf("login went to %s, not to the provider; body: %s", resp.Request.URL, body)
	}
	m := hiddenID.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at the provider: %s", body)
	}
	resp, err = c.hc.PostForm(w.provider.Issuer+"login/username",
		url.Values{"id": {html.UnescapeString(m[1])}, "username": {u.Username}, "password": {u.Password}})
	if err != nil {
		t.Fatal(err)
	}
	data := readAll(t, resp)
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: []byte(data)}, resp.Request.URL
}

// startSSO starts a login with c and returns its state, read from
// Lectern's redirect to the provider.
func startSSO(t *testing.T, w *ssoWorld, c *client) string {
	t.Helper()
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := c.do(t, "GET", server.OIDCLoginPath, nil)
	c.hc.CheckRedirect = nil
	loc, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), w.provider.Issuer) {
		t.Fatalf("login start: %d to %q", r.Status, r.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("the login asks the provider without state, nonce or PKCE: %s", loc)
	}
	return q.Get("state")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// me returns who c is logged in as, or nil.
func me(t *testing.T, c *client) map[string]any {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/me", nil)
	if r.Status != http.StatusOK {
		return nil
	}
	var v map[string]any
	r.decode(&v)
	return v
}

// TestSSOLogin: a student logs in through the provider (code flow with
// PKCE, state and nonce) and lands logged in on Lectern as a new
// student; logging in again finds the same account; a teacher by claim
// becomes a teacher; the login page offers the button.
func TestSSOLogin(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newSSOWorld(t, fx)
		page := w.client(t).do(t, "GET", "/login", nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), "Log in with Springfield High") || !strings.Contains(string(page.Body), `href="/auth/oidc/login"`) {
			t.Fatalf("login page has no single sign-on button: %s", page.Body)
		}

		c := w.client(t)
		r, at := w.ssoLogin(t, c, ssoStudent)
		r.want(http.StatusOK)
		if at.Path != "/courses" || !strings.HasPrefix(at.String(), w.URL) {
			t.Fatalf("after single sign-on the student is at %s, want Lectern's /courses", at)
		}
		u := me(t, c)
		if u == nil || u["email"] != ssoStudent.Email || u["role"] != "student" || u["name"] != "Sam Student" {
			t.Fatalf("logged in as %v, want the new student sam@school.example", u)
		}

		// The second login finds the same account, by subject.
		c2 := w.client(t)
		w.ssoLogin(t, c2, ssoStudent)
		if u2 := me(t, c2); u2 == nil || u2["id"] != u["id"] {
			t.Fatalf("second login is %v, want the same user %v", u2, u["id"])
		}

		// The teacher claim (family_name = Staff here) makes a teacher.
		tc := w.client(t)
		w.ssoLogin(t, tc, ssoTeacher)
		if tu := me(t, tc); tu == nil || tu["role"] != "teacher" {
			t.Fatalf("teacher by claim logged in as %v, want role teacher", tu)
		}
		if n, _ := fx.DB.CountUsers(context.Background()); n != 2 {
			t.Fatalf("%d users after three single sign-ons of two people, want 2", n)
		}
	})
}

// TestSSOLinksVerifiedEmail: an existing student whose address the
// provider vouches for is linked and made a teacher by the claim; an
// admin stays an admin; an account whose address the provider did not
// verify is not taken over.
func TestSSOLinksVerifiedEmail(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	w := newSSOWorld(t, fx)
	ctx := context.Background()
	mk := func(email string, role lectern.Role) *lectern.User {
		u, err := server.NewUser(email, "Existing "+string(role), role, "local-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := fx.DB.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	tess := mk(ssoTeacher.Email, lectern.RoleStudent)
	una := mk(ssoUnverified.Email, lectern.RoleStudent)
	sam := mk(ssoStudent.Email, lectern.RoleAdmin)

	c := w.client(t)
	w.ssoLogin(t, c, ssoTeacher)
	if u := me(t, c); u == nil || u["id"] != tess.ID || u["role"] != "teacher" {
		t.Fatalf("verified email logged in as %v, want the existing account %s made a teacher", u, tess.ID)
	}

	c = w.client(t)
	w.ssoLogin(t, c, ssoStudent)
	if u := me(t, c); u == nil || u["id"] != sam.ID || u["role"] != "admin" {
		t.Fatalf("admin logged in as %v, want admin %s still an admin", u, sam.ID)
	}

	c = w.client(t)
	r, _ := w.ssoLogin(t, c, ssoUnverified)
	r.want(http.StatusForbidden)
	if !strings.Contains(string(r.Body), "did not confirm that this address is yours") {
		t.Fatalf("unverified email refusal says: %s", r.Body)
	}
	if u := me(t, c); u != nil {
		t.Fatalf("unverified email logged in as %v", u)
	}
	if linked, _ := fx.DB.HasOIDCIdentity(ctx, una.ID); linked {
		t.Fatal("the account with the unverified address was linked to the provider account")
	}
	// Its owner still logs in with the password.
	w.login(t, una, "local-password-1")

	// A deactivated account is not let in by single sign-on either.
	if _, err := fx.DB.SetUserActive(ctx, tess.ID, false); err != nil {
		t.Fatal(err)
	}
	c = w.client(t)
	r, _ = w.ssoLogin(t, c, ssoTeacher)
	r.want(http.StatusForbidden)
	if !strings.Contains(string(r.Body), "deactivated") || me(t, c) != nil {
		t.Fatalf("deactivated account: %s", r.Body)
	}
}

// TestSSORefusals: a forged state, a replayed callback, an expired login
// and a refusal at the provider each show a page in words and log nobody
// in.
func TestSSORefusals(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	w := newSSOWorld(t, fx)

	// Capture the callback URL the provider sends the browser to.
	var callback *url.URL
	c := w.client(t)
	c.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == server.OIDCCallbackPath {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	w.ssoLogin(t, c, ssoStudent)
	if callback == nil {
		t.Fatal("the provider never sent the browser back to Lectern")
	}
	c.hc.CheckRedirect = nil

	// A forged state (another value, same code) is refused.
	forged := *callback
	q := forged.Query()
	q.Set("state", "forged-state")
	forged.RawQuery = q.Encode()
	r := c.do(t, "GET", forged.RequestURI(), nil).want(http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "This login has expired") || me(t, c) != nil {
		t.Fatalf("forged state: body %s", r.Body)
	}

	// The real callback logs in, once.
	c.do(t, "GET", callback.RequestURI(), nil)
	if me(t, c) == nil {
		t.Fatal("the real callback did not log in")
	}
	other := w.client(t)
	r = other.do(t, "GET", callback.RequestURI(), nil).want(http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "not started in this browser") || me(t, other) != nil {
		t.Fatalf("replayed callback in another browser: %s", r.Body)
	}
	r = c.do(t, "GET", callback.RequestURI(), nil).want(http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "used already") {
		t.Fatalf("replayed callback in the same browser: %s", r.Body)
	}

	// A login that takes too long is refused.
	late := w.client(t)
	state := startSSO(t, w, late)
	fx.Clock.Advance(11 * time.Minute)
	r = late.do(t, "GET", server.OIDCCallbackPath+"?code=x&state="+url.QueryEscape(state), nil).want(http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "too old") {
		t.Fatalf("late callback: %s", r.Body)
	}

	// The provider turning the login down (as when the user declines).
	declined := w.client(t)
	state = startSSO(t, w, declined)
	r = declined.do(t, "GET", server.OIDCCallbackPath+"?error=access_denied&state="+url.QueryEscape(state), nil).want(http.StatusForbidden)
	if !strings.Contains(string(r.Body), "did not let you into Lectern") || !strings.Contains(string(r.Body), `href="/login"`) {
		t.Fatalf("declined: %s", r.Body)
	}
}

// TestSSOTurnsOffLocalPasswords: with local passwords off, a linked user
// cannot log in, change or reset a password; an unlinked one still can.
func TestSSOTurnsOffLocalPasswords(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	w := newSSOWorld(t, fx, func(o *server.OIDCOptions) { o.DisableLocalPasswords = true })
	ctx := context.Background()
	u, err := server.NewUser(ssoStudent.Email, "Sam", lectern.RoleStudent, "local-password-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.DB.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Before linking, the password works.
	w.login(t, u, "local-password-1")
	c := w.client(t)
	w.ssoLogin(t, c, ssoStudent)
	if me(t, c) == nil {
		t.Fatal("single sign-on did not log in")
	}
	r := w.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": "local-password-1"})
	msg := r.wantError(http.StatusForbidden, "forbidden")
	if !strings.Contains(msg, "Log in with Springfield High") {
		t.Fatalf("password login of a single sign-on user says %q", msg)
	}
	r = c.do(t, "PUT", "/api/v1/me/password", map[string]string{"current_password": "local-password-1", "new_password": "another-pass-2"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("password change of a single sign-on user: %d %s", r.Status, r.Body)
	}
	// Someone never linked still logs in with a password.
	other, pw := fx.createUser(t, lectern.RoleTeacher)
	w.login(t, other, pw)
}
