package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAPITokensPage: from the account menu a person opens the API tokens
// page, creates a token that expires, sees its secret once with a copy
// button, uses it from a script, and revokes it after a confirmation; a
// cancelled confirmation keeps it. The page reads well on a phone.
func TestAPITokensPage(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	const email, password = "sam@example.org", "student password 1"
	shots := artifactsDir(t)
	l := startLectern(t, adminEmail, adminPassword)
	l.createUser(t, l.apiLogin(t, adminEmail, adminPassword), email, "Sam Student", password, "student")
	b := newTab(t, l.URL, "student", shots)
	b.login(email, password)

	b.do(chromedp.Click(chromedp.CSS(`.account a[href="/account/tokens"]`)))
	b.waitFor("the tokens page", `location.pathname === "/account/tokens" && !!document.getElementById("token-form")`, stepTimeout)
	if !eval[bool](b, `!document.getElementById("token-empty").hidden && document.getElementById("token-table").hidden`) {
		b.fail("a person without tokens is not told they have none")
	}

	b.do(chromedp.SendKeys(chromedp.CSS("#token-name"), "nightly export"),
		chromedp.SetValue(chromedp.CSS("#token-expiry"), "30"),
		chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
	b.waitFor("the new token's secret", `!document.getElementById("token-secret-box").hidden`, stepTimeout)
	secret := strings.TrimSpace(b.text("#token-secret"))
	if !strings.HasPrefix(secret, "lct_") {
		b.fail("the secret shown is %q, want a token starting lct_", secret)
	}
	row := b.text(`#token-rows tr.is-new`)
	if !strings.Contains(row, "nightly export") || !strings.Contains(row, "Never") || !eval[bool](b, `document.getElementById("token-empty").hidden`) {
		b.fail("the new token's row says %q", row)
	}
	b.do(chromedp.Click(chromedp.CSS(`[data-copy="token-secret"]`)))
	b.waitFor("the copy to be confirmed", `document.querySelector(".toast").textContent.includes("copied") || document.querySelector(".toast").textContent.includes("Ctrl+C")`, stepTimeout)
	b.shot("tokens-created")

	// The script's view: the token works.
	bearer := func(want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", l.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /api/v1/me with the token: %d, want %d", resp.StatusCode, want)
		}
	}
	bearer(http.StatusOK)

	// Shown once: a reload lists the token without its secret.
	b.open("/account/tokens")
	b.waitFor("the list after a reload", `document.querySelectorAll("#token-rows tr").length === 1`, stepTimeout)
	if eval[bool](b, `document.body.textContent.includes(`+jsString(secret)+`)`) {
		b.fail("the secret is shown again after a reload")
	}
	b.waitFor("the use recorded", `document.querySelector("#token-rows tr td[data-label='Last used']").textContent.trim() !== "Never" || (location.reload(), false)`, 20*time.Second)

	// Revoking asks first; saying no keeps the token.
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => false`),
		chromedp.Click(chromedp.CSS(`[data-revoke]`)))
	time.Sleep(500 * time.Millisecond)
	if n := eval[int](b, `document.querySelectorAll("#token-rows tr").length`); n != 1 {
		b.fail("declining the confirmation removed the token (%d rows)", n)
	}
	bearer(http.StatusOK)

	b.phone()
	b.topShot("tokens-phone")
	b.desktop()

	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`[data-revoke]`)))
	b.waitFor("the row to go", `document.querySelectorAll("#token-rows tr").length === 0 && !document.getElementById("token-empty").hidden`, stepTimeout)
	bearer(http.StatusUnauthorized)
	b.shot("tokens-revoked")
}
