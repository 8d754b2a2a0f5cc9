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

// TestAccountEmailChangeAndSessions: on the account page a student asks
// to change their address, opens the confirmation link from the mail
// (a real SMTP server) and confirms; the old address is told. Then they
// end the session they have in another browser, which stops working,
// while this one goes on. axe finds nothing on the pages.
func TestAccountEmailChangeAndSessions(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	const email, password, newEmail = "kim@example.org", "student password 1", "kim.new@example.org"
	shots := artifactsDir(t)
	mta := testenv.StartSMTP(t, false)
	l := startLectern(t, adminEmail, adminPassword, "LECTERN_SMTP_HOST="+mta.Host,
		fmt.Sprintf("LECTERN_SMTP_PORT=%d", mta.Port), "LECTERN_SMTP_TLS=none", "LECTERN_MAIL_FROM=Lectern <lectern@example.org>")
	l.createUser(t, l.apiLogin(t, adminEmail, adminPassword), email, "Kim Student", password, "student")
	elsewhere := l.apiLogin(t, email, password)
	status := func(c *http.Client) int {
		resp, err := c.Get(l.URL + "/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	b := newTab(t, l.URL, "student", shots)
	b.login(email, password)
	b.open("/account")
	b.waitFor("the account page", `!!document.getElementById("email-form")`, stepTimeout)
	for _, f := range axeCheck(b) {
		t.Errorf("axe on the account page: %s", f)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#new-email"), newEmail),
		chromedp.SendKeys(chromedp.CSS("#email-password"), password),
		chromedp.Click(chromedp.CSS("#email-form button[type=submit]")))
	b.waitFor("the answer", `!document.getElementById("email-sent").hidden`, stepTimeout)
	if s := b.text("#current-email"); s != email {
		b.fail("the address shown before confirming is %q", s)
	}

	msg := mta.WaitMessages(t, 1, 30*time.Second)[0]
	if len(msg.To) != 1 || msg.To[0] != newEmail {
		t.Fatalf("the confirmation went to %v, want %s", msg.To, newEmail)
	}
	mailed := msg.Link(t, "http://")
	u, err := url.Parse(mailed)
	if err != nil || u.Path != "/confirm-email" || u.Query().Get("token") == "" {
		t.Fatalf("the mail's link is %q", mailed)
	}
	b.do(chromedp.Navigate(l.URL + u.RequestURI()))
	b.waitFor("the confirmation page", `!!document.getElementById("confirm-email-form")`, stepTimeout)
	for _, f := range axeCheck(b) {
		t.Errorf("axe on the confirmation page: %s", f)
	}
	b.do(chromedp.Click(chromedp.CSS("#confirm-email-form button[type=submit]")))
	b.waitFor("the confirmation", `!document.getElementById("confirm-email-done").hidden`, stepTimeout)
	if s := b.text("#confirm-email-done"); !strings.Contains(s, newEmail) {
		b.fail("the confirmation says %q", s)
	}
	b.shot("email-confirmed")
	notice := mta.WaitMessages(t, 2, 30*time.Second)[1]
	if notice.To[0] != email {
		t.Errorf("the notice went to %v, want the old address %s", notice.To, email)
	}

	// Two sessions: this browser, and the other one.
	b.open("/account")
	b.waitFor("the sessions", `document.querySelectorAll("#session-list li").length === 2`, stepTimeout)
	if s := b.text("#current-email"); s != newEmail {
		b.fail("the account page shows %q after confirming", s)
	}
	b.do(chromedp.Click(chromedp.CSS("#session-list [data-end-session]")))
	b.waitFor("the session to go", `document.querySelectorAll("#session-list li").length === 1`, stepTimeout)
	b.shot("session-ended")
	if code := status(elsewhere); code != http.StatusUnauthorized {
		t.Errorf("the ended session answers %d, want 401", code)
	}
	b.open("/account")
	b.waitFor("this browser still logged in", `!!document.getElementById("email-form")`, stepTimeout)
}
