package browsertest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/testenv"
)

// TestPasswordResetThroughMail: a person who forgot their password asks
// for a link from the login page, gets it by mail (from a real SMTP
// server), sets a new password ticking "Also revoke my API tokens", and
// is logged in; their other session and their API token have ended, and
// the link does not work twice.
func TestPasswordResetThroughMail(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	const email, password, newPassword = "sam@example.org", "student password 1", "a fresh password 2"
	shots := artifactsDir(t)
	mta := testenv.StartSMTP(t, false)
	l := startLectern(t, adminEmail, adminPassword, "LECTERN_SMTP_HOST="+mta.Host,
		fmt.Sprintf("LECTERN_SMTP_PORT=%d", mta.Port), "LECTERN_SMTP_TLS=none", "LECTERN_MAIL_FROM=Lectern <lectern@example.org>")
	l.createUser(t, l.apiLogin(t, adminEmail, adminPassword), email, "Sam Student", password, "student")
	elsewhere := l.apiLogin(t, email, password)
	var token struct{ Token string }
	apiCall(t, elsewhere, "POST", l.URL+"/api/v1/tokens", map[string]string{"name": "backup script"}, &token, http.StatusCreated)

	b := newTab(t, l.URL, "student", shots)
	b.open("/login")
	b.do(chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`)))
	b.waitFor("the forgot password page", `!!document.getElementById("forgot-form")`, stepTimeout)
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("#forgot-form button[type=submit]")))
	b.waitFor("the answer", `!document.getElementById("forgot-sent").hidden`, stepTimeout)
	if s := b.text("#forgot-sent"); !strings.Contains(s, "If an account uses this address") {
		b.fail("the answer says %q", s)
	}

	// The link is to the public URL, http://localhost:PORT here; the
	// browser follows it at the address the test knows.
	mailed := mta.WaitMessages(t, 1, 30*time.Second)[0].Link(t, "http://")
	u, err := url.Parse(mailed)
	if err != nil || u.Path != "/reset-password" || u.Query().Get("token") == "" {
		t.Fatalf("the mail's link is %q", mailed)
	}
	link := l.URL + u.RequestURI()
	b.do(chromedp.Navigate(link))
	b.waitFor("the new password form", `!!document.getElementById("reset-form")`, stepTimeout)
	b.do(chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), newPassword+"x"),
		chromedp.Click(chromedp.CSS("#reset-form button[type=submit]")))
	b.waitFor("the mismatch to be shown", `!document.querySelector("#reset-form .form-error").hidden`, stepTimeout)
	b.wantAX("the API tokens choice", `document.getElementById("end-api-tokens")`, "checkbox", "Also revoke my API tokens", "checked=false")
	b.do(chromedp.SetValue(chromedp.CSS("#password2"), newPassword),
		chromedp.Click(chromedp.CSS(`label[for="end-api-tokens"]`)),
		chromedp.Click(chromedp.CSS("#reset-form button[type=submit]")))
	b.waitFor("the courses page, logged in", `location.pathname === "/courses"`, stepTimeout)
	var resp *http.Response
	b.shot("password-reset-done")

	resp, err = elsewhere.Get(l.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the other session after the reset: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", l.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token.Token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API token after a reset that revoked it: %d, want 401", resp.StatusCode)
	}
	l.apiLogin(t, email, newPassword)

	b.do(chromedp.Navigate(link))
	b.waitFor("the used link's page", `!!document.getElementById("reset-invalid")`, stepTimeout)
}
