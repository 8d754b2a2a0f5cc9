package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// dialogs answers a tab's confirm() dialogs: each is accepted or dismissed
// as the test said beforehand, and its message is kept.
type dialogs struct {
	mu       sync.Mutex
	answers  []bool
	messages []string
}

// answerDialogs starts answering b's dialogs.
func answerDialogs(b *tab) *dialogs {
	d := &dialogs{}
	ctx := b.ctx
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			d.mu.Lock()
			accept := len(d.answers) > 0 && d.answers[0]
			if len(d.answers) > 0 {
				d.answers = d.answers[1:]
			}
			d.messages = append(d.messages, ev.Message)
			d.mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	return d
}

// next says how to answer the next dialog.
func (d *dialogs) next(accept bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answers = append(d.answers, accept)
}

// last is the message of the last dialog shown.
func (d *dialogs) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.messages) == 0 {
		return ""
	}
	return d.messages[len(d.messages)-1]
}

// TestCourseMembersPage is the course page's members block: the teacher
// sees everyone in the course, removes a student after confirming (and
// nothing happens when they cancel), the removed student's course page is
// gone at once; a student leaves a course after confirming. A form another
// site submits in the removed student's browser to put her back is refused
// (RELIABILITY 26 in a real browser).
func TestCourseMembersPage(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "grace@example.org", "teacher password 1"
		annEmail, annPassword         = "ann@example.org", "student password 1"
		bobEmail, bobPassword         = "bob@example.org", "student password 2"
	)
	l := startLectern(t, adminEmail, adminPassword)
	shots := artifactsDir(t)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Grace Hopper", teacherPassword, "teacher")
	l.createUser(t, admin, annEmail, "Ann Lee", annPassword, "student")
	l.createUser(t, admin, bobEmail, "Bob Stone", bobPassword, "student")
	teacher := l.apiLogin(t, teacherEmail, teacherPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Compilers"}, &course, http.StatusCreated)
	var lesson struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Parsing"}, &lesson, http.StatusCreated)
	for _, s := range [][2]string{{annEmail, annPassword}, {bobEmail, bobPassword}} {
		apiCall(t, l.apiLogin(t, s[0], s[1]), "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	}
	var members struct {
		Members []struct {
			UserID string `json:"user_id"`
			Email  string `json:"email"`
		}
	}
	apiCall(t, teacher, "GET", l.URL+"/api/v1/courses/"+course.ID+"/members", nil, &members, http.StatusOK)
	ids := map[string]string{}
	for _, m := range members.Members {
		ids[m.Email] = m.UserID
	}
	coursePath := "/courses/" + course.ID
	rowSel := func(email string) string { return fmt.Sprintf(`#member-rows tr[data-member-id=%q]`, ids[email]) }

	ann := newTab(t, l.URL, "ann", shots)
	ann.login(annEmail, annPassword)
	bob := newTab(t, l.URL, "bob", shots)
	bob.login(bobEmail, bobPassword)
	grace := newTab(t, l.URL, "grace", shots)
	grace.login(teacherEmail, teacherPassword)
	graceDialogs := answerDialogs(grace)

	t.Run("TeacherSeesMembers", func(t *testing.T) {
		grace.use(t).open(coursePath)
		grace.waitFor("the member rows", `document.querySelectorAll("#member-rows tr[data-member-id]").length === 3`, stepTimeout)
		if got := grace.text("#members-count"); got != "3 people" {
			t.Errorf("members count = %q, want 3 people", got)
		}
		owner := grace.text(rowSel(teacherEmail))
		if !strings.Contains(owner, "Grace Hopper") || !strings.Contains(owner, "Created the course") ||
			eval[bool](grace, `!!document.querySelector(`+jsString(rowSel(teacherEmail)+" button")+`)`) {
			t.Errorf("owner's row = %q: want their name, \"Created the course\" and no Remove button", owner)
		}
		if got := eval[string](grace, `document.querySelector(`+jsString(rowSel(annEmail)+" button")+`)?.getAttribute("aria-label") ?? ""`); got != "Remove Ann Lee" {
			t.Errorf("Ann's Remove button is labelled %q, want \"Remove Ann Lee\"", got)
		}
		grace.topShot("course-members")
	})

	t.Run("Phone", func(t *testing.T) {
		grace.use(t).phone()
		grace.open(coursePath)
		grace.waitFor("the member rows", `document.querySelectorAll("#member-rows tr[data-member-id]").length === 3`, stepTimeout)
		grace.topShot("phone-course-members")
		grace.desktop()
		grace.open(coursePath)
		grace.waitFor("the member rows", `document.querySelectorAll("#member-rows tr[data-member-id]").length === 3`, stepTimeout)
	})

	t.Run("CancelKeepsTheStudent", func(t *testing.T) {
		graceDialogs.next(false)
		// The click returns once the dialog is answered. (That no removal
		// was sent shows below: after Ann's removal two people are left.)
		grace.use(t).do(chromedp.Click(chromedp.CSS(rowSel(bobEmail) + " button")))
		if msg := graceDialogs.last(); !strings.Contains(msg, "Bob Stone") || !strings.Contains(msg, "Compilers") {
			t.Errorf("confirm message = %q, want it to name Bob Stone and the course", msg)
		}
		if !eval[bool](grace, `!!document.querySelector(`+jsString(rowSel(bobEmail))+`)`) {
			t.Error("Bob's row went away although the removal was canceled")
		}
		apiCall(t, l.apiLogin(t, bobEmail, bobPassword), "GET", l.URL+"/api/v1/courses/"+course.ID, nil, nil, http.StatusOK)
	})

	t.Run("TeacherRemovesAStudent", func(t *testing.T) {
		ann.use(t).open(coursePath)
		ann.waitFor("Ann's course page", `!!document.querySelector("#leave-course")`, stepTimeout)
		graceDialogs.next(true)
		grace.use(t).do(chromedp.Click(chromedp.CSS(rowSel(annEmail) + " button")))
		grace.waitFor("Ann's row to go", `!document.querySelector(`+jsString(rowSel(annEmail))+`)`, stepTimeout)
		grace.waitFor("the toast", `document.querySelector(".toast")?.textContent.includes("Ann Lee was removed")`, stepTimeout)
		if got := grace.text("#members-count"); got != "2 people" {
			t.Errorf("members count after the removal = %q, want 2 people", got)
		}
		if got := eval[string](grace, `document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.id ?? ""`); got != "Remove Bob Stone" {
			t.Errorf("focus after the removal is on %q, want the next Remove button", got)
		}
		grace.topShot("course-member-removed")
		// Ann's next page load finds nothing.
		ann.open(coursePath)
		ann.waitFor("the not-found page", `document.title.startsWith("Not found")`, stepTimeout)
		ann.open("/courses")
		ann.waitFor("Ann's courses", `document.readyState === "complete"`, stepTimeout)
		if eval[bool](ann, `document.body.textContent.includes("Compilers")`) {
			ann.fail("Ann's course list still shows the course she was removed from")
		}
	})

	t.Run("CrossSiteFormRefused", func(t *testing.T) {
		// A page elsewhere tries to put Ann back into the course with
		// her browser.
		evil := evilSite(t, l.URL+"/api/v1/courses/join", `<input name="code" value="`+course.JoinCode+`">`)
		ann.use(t).do(chromedp.Navigate(evil))
		ann.waitFor("the forged form's answer", `document.body.textContent.includes("cross-origin request refused")`, stepTimeout)
		ann.shot("cross-site-form-refused")
		apiCall(t, l.apiLogin(t, annEmail, annPassword), "GET", l.URL+"/api/v1/courses/"+course.ID, nil, nil, http.StatusNotFound)
	})

	t.Run("StudentLeaves", func(t *testing.T) {
		bobDialogs := answerDialogs(bob)
		bob.use(t).open(coursePath)
		bob.waitFor("the Leave button", `!!document.querySelector("#leave-course")`, stepTimeout)
		if eval[bool](bob, `!!document.querySelector("#members-section")`) {
			t.Error("a student sees the members block")
		}
		bob.topShot("course-leave")
		bobDialogs.next(true)
		bob.do(chromedp.Click(chromedp.CSS("#leave-course")))
		bob.waitFor("the courses page", `location.pathname === "/courses"`, stepTimeout)
		if msg := bobDialogs.last(); !strings.Contains(msg, "Leave Compilers?") {
			t.Errorf("confirm message = %q, want it to ask about leaving Compilers", msg)
		}
		if eval[bool](bob, `document.body.textContent.includes("Compilers")`) {
			bob.fail("Bob's course list still shows the course he left")
		}
		grace.use(t).open(coursePath)
		grace.waitFor("the member rows", `document.querySelectorAll("#member-rows tr[data-member-id]").length === 1`, stepTimeout)
	})

}

// evilSite serves, on another site (localhost rather than 127.0.0.1), a
// page whose form posts fields to target as soon as it loads, and returns
// the page's URL.
func evilSite(t *testing.T, target, fields string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="%s">%s</form>
<script>document.getElementById("f").submit()</script>`, target, fields)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://localhost:" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port) + "/"
}
