package browsertest

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAcceptance28_LoginNextStaysOnSite is RELIABILITY 28 in a real
// browser: a link to the login page whose next= points elsewhere (each of
// the tricks browsers are known to resolve to another origin, written into
// the address as an attacker would) never sends the person there, whether
// they log in on the page (login.js follows next, and is tested on its
// own by handing it the hostile value) or were logged in
// already (the server redirects); a next= on this site is honoured.
func TestAcceptance28_LoginNextStaysOnSite(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	const email, password = "sam@example.org", "student password 1"
	l := startLectern(t, adminEmail, adminPassword)
	l.createUser(t, l.apiLogin(t, adminEmail, adminPassword), email, "Sam Student", password, "student")
	b := newTab(t, l.URL, "student", artifactsDir(t))

	// RELIABILITY 28's five, and two that decode once more on the way.
	hostile := []string{
		"//evil.example", "/\\evil.example", "/%09/evil.example", "https:evil.example", "javascript:alert(1)",
		"%2F%2Fevil.example", "/%5Cevil.example",
	}
	landOnSite := func(next, how string) {
		t.Helper()
		b.waitFor("the courses page after "+how+" with next="+next,
			`location.origin === `+jsString(l.URL)+` && location.pathname === "/courses"`, stepTimeout)
		if eval[bool](b, `window.__lecternPwned === true`) {
			b.fail("next=%s ran script on the page", next)
		}
	}
	for _, next := range hostile {
		// Logged out: the login page, then login.js follows next. The
		// server already empties a hostile next; login.js must hold on its
		// own too, so the page is handed the value as if it had not.
		b.open("/courses") // a page of this site, to log out from
		eval[bool](b, `fetch("/api/v1/session", {method: "DELETE"}).then(() => true)`)
		b.open("/login?next=" + next)
		raw, err := url.QueryUnescape(next)
		if err != nil {
			raw = next
		}
		b.do(
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.Evaluate[chromedp.Void](`window.__lecternPwned = false; window.alert = () => { window.__lecternPwned = true };
				document.getElementById("login-form").dataset.next = `+jsString(raw)),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		)
		landOnSite(next, "logging in")

		// Logged in already: the server's redirect from /login.
		b.open("/login?next=" + next)
		landOnSite(next, "opening the login page logged in")
	}

	// A path on this site is where the person lands.
	b.open("/login?next=" + url.QueryEscape("/account/tokens"))
	b.waitFor("the tokens page from next=", `location.origin === `+jsString(l.URL)+` && location.pathname === "/account/tokens"`, stepTimeout)
}
