package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/testenv"
)

// TestSSOLogin: a student clicks "Log in with …" on Lectern's login
// page, logs in at the school's identity provider (a real OpenID Connect
// provider running on this machine), and lands logged in on Lectern,
// which made their account; the login page with the button passes axe.
func TestSSOLogin(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	shots := artifactsDir(t)
	addr := testenv.FreeAddr(t)
	issuer := testenv.OIDCIssuer(t)
	sam := testenv.OIDCUser{ID: "sub-sam", Username: "sam", Password: "sam-pass-1", FirstName: "Sam", LastName: "Student",
		Email: "sam@school.example", EmailVerified: true}
	testenv.StartOIDCProvider(t, issuer, "http://"+addr+"/auth/oidc/callback", sam)
	l := startLectern(t, adminEmail, adminPassword, "LECTERN_ADDR="+addr, "LECTERN_PUBLIC_URL=http://"+addr,
		"LECTERN_OIDC_ISSUER="+issuer, "LECTERN_OIDC_CLIENT_ID="+testenv.OIDCClientID,
		"LECTERN_OIDC_CLIENT_SECRET="+testenv.OIDCClientSecret, "LECTERN_OIDC_BUTTON_LABEL=Springfield High")

	b := newTab(t, l.URL, "student", shots)
	checkPages(t, []axePage{{name: "login with single sign-on", tab: b, path: "/login",
		ready: `!!document.getElementById("sso-login")`}})
	b = b.use(t)
	b.open("/login")
	b.waitFor("the single sign-on button", `!!document.getElementById("sso-login")`, stepTimeout)
	if s := b.text("#sso-login"); s != "Log in with Springfield High" {
		b.fail("the button says %q", s)
	}
	b.shot("sso-login-page")
	b.do(chromedp.Click(chromedp.CSS("#sso-login")))
	b.waitFor("the provider's login form", `location.href.startsWith("`+issuer+`") && !!document.getElementById("username")`, stepTimeout)
	b.shot("sso-provider-form")
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), sam.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), sam.Password),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	b.waitFor("Lectern's courses page, logged in", `location.origin === "`+l.URL+`" && location.pathname === "/courses"`, stepTimeout)
	me := eval[map[string]any](b, `fetch("/api/v1/me").then(r => r.json())`)
	if me["email"] != sam.Email || me["role"] != "student" {
		b.fail("logged in as %v, want the student %s", me, sam.Email)
	}
	b.shot("sso-logged-in")
	if !strings.Contains(b.text("body"), "Sam Student") {
		b.fail("the courses page does not name Sam Student: %q", b.text("body"))
	}
}
