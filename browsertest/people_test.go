package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPeopleInTheBrowser: a teacher adds a teaching assistant by email on
// the course page and makes a student a teacher with the role menu; an
// address without an account is refused with a message saying mail
// cannot be sent; the teacher gives the course a new join code and the
// old one stops working. An admin looks at an account, deactivates it,
// and the person's next page load goes to the login page, where logging
// in is refused with a clear message. Axe checks the pages.
func TestPeopleInTheBrowser(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "grace@example.org", "teacher password 1"
		annEmail, annPassword         = "ann@example.org", "student password 1"
		bobEmail, bobPassword         = "bob@example.org", "student password 2"
	)
	l := startLectern(t, adminEmail, adminPassword)
	shots := artifactsDir(t)
	adminAPI := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, adminAPI, teacherEmail, "Grace Hopper", teacherPassword, "teacher")
	l.createUser(t, adminAPI, annEmail, "Ann Lee", annPassword, "student")
	l.createUser(t, adminAPI, bobEmail, "Bob Stone", bobPassword, "student")
	teacherAPI := l.apiLogin(t, teacherEmail, teacherPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Compilers"}, &course, http.StatusCreated)
	apiCall(t, l.apiLogin(t, bobEmail, bobPassword), "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	coursePath := "/courses/" + course.ID
	var users struct{ Users []struct{ ID, Email string } }
	apiCall(t, adminAPI, "GET", l.URL+"/api/v1/users", nil, &users, http.StatusOK)
	annID := ""
	for _, u := range users.Users {
		if u.Email == annEmail {
			annID = u.ID
		}
	}
	roles := func(t *testing.T) map[string]string {
		t.Helper()
		var ms struct {
			Members []struct {
				Email, Role string
			}
		}
		apiCall(t, teacherAPI, "GET", l.URL+"/api/v1/courses/"+course.ID+"/members", nil, &ms, http.StatusOK)
		out := map[string]string{}
		for _, m := range ms.Members {
			out[m.Email] = m.Role
		}
		return out
	}
	rowSelect := func(name string) string {
		return `document.querySelector('#member-rows select[aria-label="Role of ` + name + `"]')`
	}

	ann := newTab(t, l.URL, "ann", shots)
	ann.login(annEmail, annPassword)
	grace := newTab(t, l.URL, "grace", shots)
	grace.login(teacherEmail, teacherPassword)
	graceDialogs := answerDialogs(grace)

	t.Run("TeacherAddsATeachingAssistant", func(t *testing.T) {
		grace.use(t).open(coursePath)
		grace.waitFor("the member rows", `document.querySelectorAll("#member-rows tr[data-member-id]").length === 2`, stepTimeout)
		grace.do(
			chromedp.SendKeys(chromedp.CSS("#member-email"), annEmail),
			chromedp.SetValue(chromedp.CSS("#member-role"), "ta"),
			chromedp.Click(chromedp.CSS("#member-add-form button[type=submit]")),
		)
		grace.waitFor("Ann's row as a teaching assistant", rowSelect("Ann Lee")+`?.value === "ta"`, stepTimeout)
		grace.waitFor("the toast", `document.querySelector(".toast")?.textContent.includes("teaching assistant")`, stepTimeout)
		if got := roles(t)[annEmail]; got != "ta" {
			t.Errorf("Ann's role = %q, want ta", got)
		}
		if got := grace.text("#members-count"); got != "3 people" {
			t.Errorf("members count = %q", got)
		}
		grace.topShot("member-added-as-ta")
		// Ann sees the course, without the teacher's tools.
		ann.use(t).open(coursePath)
		ann.waitFor("Ann's course page", `document.querySelector("h1")?.textContent.includes("Compilers")`, stepTimeout)
		if eval[bool](ann, `!!document.querySelector("#members-section, #lesson-form, #join-code-rotate")`) {
			t.Error("a teaching assistant sees the members block, the new lesson form or the join code")
		}
	})

	t.Run("NoMailSaysSo", func(t *testing.T) {
		grace.use(t).do(chromedp.SendKeys(chromedp.CSS("#member-email"), "stranger@example.org"),
			chromedp.Click(chromedp.CSS("#member-add-form button[type=submit]")))
		grace.waitFor("the form's error", `!document.querySelector("#member-add-form .form-error").hidden`, stepTimeout)
		if msg := grace.text("#member-add-form .form-error"); !strings.Contains(msg, "cannot send mail") {
			t.Errorf("error shown = %q, want it to say mail cannot be sent", msg)
		}
	})

	t.Run("TeacherChangesARole", func(t *testing.T) {
		grace.use(t)
		grace.do(chromedp.Focus(chromedp.CSS(`#member-rows select[aria-label="Role of Bob Stone"]`)))
		grace.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = ` + rowSelect("Bob Stone") + `; s.value = "teacher"; s.dispatchEvent(new Event("change", { bubbles: true })); })()`))
		grace.waitFor("the toast", `document.querySelector(".toast")?.textContent.includes("Bob Stone is now a teacher")`, stepTimeout)
		grace.waitFor("Bob's row as a teacher", rowSelect("Bob Stone")+`?.value === "teacher" && !`+rowSelect("Bob Stone")+`.disabled`, stepTimeout)
		if got := roles(t)[bobEmail]; got != "teacher" {
			t.Errorf("Bob's role = %q, want teacher", got)
		}
		if got := eval[string](grace, `document.activeElement?.getAttribute("aria-label") ?? ""`); got != "Role of Bob Stone" {
			t.Errorf("focus after the change is on %q, want Bob's role menu", got)
		}
	})

	t.Run("NewJoinCode", func(t *testing.T) {
		oldCode := grace.use(t).text("#join-code-value")
		graceDialogs.next(true)
		grace.do(chromedp.Click(chromedp.CSS("#join-code-rotate")))
		grace.waitFor("the new code", `document.getElementById("join-code-value").textContent !== `+jsString(oldCode)+
			` && document.getElementById("join-link").getAttribute("href") !== `+jsString("/join/"+oldCode), stepTimeout)
		if msg := graceDialogs.last(); !strings.Contains(msg, "stop working") {
			t.Errorf("confirm message = %q", msg)
		}
		code := grace.text("#join-code-value")
		if link := eval[string](grace, `document.getElementById("join-link").getAttribute("href")`); link != "/join/"+code {
			t.Errorf("join link %q after the new code %q", link, code)
		}
		apiCall(t, adminAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusNotFound)
	})

	admin := newTab(t, l.URL, "admin", shots)
	adminDialogs := answerDialogs(admin)
	t.Run("AdminDeactivatesAnAccount", func(t *testing.T) {
		admin.use(t).open("/login")
		admin.loginTo(adminEmail, adminPassword, "/admin")
		admin.do(chromedp.Click(chromedp.CSS(`#user-rows tr[data-email="` + annEmail + `"] a`)))
		admin.waitFor("Ann's account page", `!!document.getElementById("user-deactivate")`, stepTimeout)
		if got := admin.text("#holdings"); !strings.Contains(got, "Member of 1 course") {
			t.Errorf("holdings read %q", got)
		}
		admin.topShot("admin-user")
		// Ann is on a page, logged in.
		ann.use(t).open("/courses")
		ann.waitFor("Ann's courses", `document.body.textContent.includes("Compilers")`, stepTimeout)

		adminDialogs.next(true)
		admin.use(t).do(chromedp.Click(chromedp.CSS("#user-deactivate")))
		admin.waitFor("the account shown deactivated", `document.getElementById("user-state")?.textContent.includes("Deactivated") && !!document.getElementById("user-reactivate")`, stepTimeout)
		if msg := adminDialogs.last(); !strings.Contains(msg, "Deactivate Ann Lee?") {
			t.Errorf("confirm message = %q", msg)
		}

		// Ann's next page load goes to the login page, which refuses her.
		ann.use(t).open(coursePath)
		ann.waitFor("the login page", `location.pathname === "/login" && !!document.getElementById("login-form")`, stepTimeout)
		ann.do(
			chromedp.SendKeys(chromedp.CSS("#email"), annEmail),
			chromedp.SendKeys(chromedp.CSS("#password"), annPassword),
			chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		)
		ann.waitFor("the refusal", `document.querySelector("#login-form .form-error")?.textContent.includes("deactivated")`, stepTimeout)
		ann.shot("login-deactivated")
	})

	t.Run("Axe", func(t *testing.T) {
		checkPages(t, []axePage{
			{name: "course members", tab: grace, path: coursePath, ready: `document.querySelectorAll("#member-rows select").length === 2`,
				setup: func(tb *tab) { tb.do(chromedp.ScrollIntoView(chromedp.CSS("#members-section"))) }},
			{name: "admin users", tab: admin, path: "/admin", ready: `!!document.querySelector("#user-rows .is-deactivated")`},
			{name: "deactivated account", tab: admin, path: "/admin/users/" + annID, ready: `!!document.getElementById("user-reactivate")`},
			{name: "invitation used", tab: ann, path: "/invitation?token=used", ready: `!!document.getElementById("invitation-invalid")`},
		})
	})

	t.Run("AdminReactivates", func(t *testing.T) {
		adminDialogs.next(true)
		admin.use(t).open("/admin")
		admin.do(chromedp.Click(chromedp.CSS(`#user-rows tr[data-email="` + annEmail + `"] a`)))
		admin.waitFor("Ann's account page", `!!document.getElementById("user-reactivate")`, stepTimeout)
		admin.do(chromedp.Click(chromedp.CSS("#user-reactivate")))
		admin.waitFor("the account active again", `!!document.getElementById("user-deactivate")`, stepTimeout)
		ann.use(t).login(annEmail, annPassword)
	})
}
