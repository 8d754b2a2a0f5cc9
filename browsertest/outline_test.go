package browsertest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestCourseOutlineByKeyboard: a teacher moves lessons between sections
// on the course page with the keyboard alone (Move, arrow, Escape; and
// Alt+arrow), hears where each went, keeps the focus on the lesson's Move
// button, and the new order is saved: the API and a reload show it.
func TestCourseOutlineByKeyboard(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "grace@example.org", "teacher password 1"
	)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Grace Hopper", teacherPassword, "teacher")
	teacher := l.apiLogin(t, teacherEmail, teacherPassword)
	var course struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Compilers"}, &course, http.StatusCreated)
	base := l.URL + "/api/v1/courses/" + course.ID
	var week1, week2, lessonA, lessonB struct{ ID string }
	apiCall(t, teacher, "POST", base+"/sections", map[string]string{"title": "Week 1"}, &week1, http.StatusCreated)
	apiCall(t, teacher, "POST", base+"/sections", map[string]string{"title": "Week 2"}, &week2, http.StatusCreated)
	apiCall(t, teacher, "POST", base+"/lessons", map[string]string{"publish_at": "now", "title": "Lexing", "section_id": week1.ID}, &lessonA, http.StatusCreated)
	apiCall(t, teacher, "POST", base+"/lessons", map[string]string{"publish_at": "now", "title": "Parsing", "section_id": week1.ID}, &lessonB, http.StatusCreated)

	grace := newTab(t, l.URL, "grace", artifactsDir(t))
	grace.use(t).login(teacherEmail, teacherPassword)
	grace.open("/courses/" + course.ID)
	grace.waitFor("the lesson rows", `document.querySelectorAll(".lesson-row").length === 2`, stepTimeout)
	move := func(id string) string { return `.lesson-row[data-lesson-id="` + id + `"] [data-move]` }
	order := `JSON.stringify([...document.querySelectorAll(".lesson-group")].map(g => g.querySelector(".section-title").textContent + ":" + [...g.querySelectorAll(".lesson-row")].map(r => r.dataset.title).join(",")))`
	said := func(want string) {
		t.Helper()
		grace.waitFor("the announcement "+want, `document.getElementById("outline-live").textContent === `+jsString(want), stepTimeout)
	}
	focused := func(id string) {
		t.Helper()
		if !eval[bool](grace, `document.activeElement === document.querySelector(`+jsString(move(id))+`)`) {
			t.Errorf("the focus left the Move button of lesson %s", id)
		}
	}

	if got := eval[string](grace, `document.querySelector(`+jsString(move(lessonB.ID))+`).getAttribute("aria-label")`); got != "Move Parsing" {
		t.Errorf("Move button is labelled %q, want \"Move Parsing\"", got)
	}
	// Pick Parsing up with Enter, move it down past the end of week 1
	// into week 2, put it down with Escape.
	grace.do(chromedp.Focus(chromedp.CSS(move(lessonB.ID))))
	grace.key(kb.Enter)
	grace.waitFor("Parsing picked up", `document.querySelector(`+jsString(move(lessonB.ID))+`).getAttribute("aria-pressed") === "true"`, stepTimeout)
	grace.key(kb.ArrowDown)
	said("Parsing moved to position 1 of 1 in Week 2.")
	focused(lessonB.ID)
	grace.key(kb.Escape)
	grace.waitFor("Parsing put down", `document.querySelector(`+jsString(move(lessonB.ID))+`).getAttribute("aria-pressed") === "false"`, stepTimeout)

	// Alt+Down moves Lexing at once, to the top of week 2.
	grace.do(chromedp.Focus(chromedp.CSS(move(lessonA.ID))))
	grace.key(kb.ArrowDown, chromedp.ModifierAlt)
	said("Lexing moved to position 1 of 2 in Week 2.")
	focused(lessonA.ID)
	if got, want := eval[string](grace, order), `["Not in a section:","Week 1:","Week 2:Lexing,Parsing"]`; got != want {
		t.Errorf("page order = %s, want %s", got, want)
	}
	if got := eval[string](grace, `[...document.querySelectorAll(".lesson-num")].map(n => n.textContent).join(",")`); got != "1,2" {
		t.Errorf("lesson numbers = %s, want 1,2", got)
	}

	// Saved: the API has it (the two saves run one after the other).
	var outline struct {
		Sections []struct {
			ID        string   `json:"id"`
			LessonIDs []string `json:"lesson_ids"`
		}
	}
	deadline := time.Now().Add(stepTimeout)
	for {
		apiCall(t, teacher, "GET", base+"/outline", nil, &outline, http.StatusOK)
		if len(outline.Sections) == 2 && slices.Equal(outline.Sections[1].LessonIDs, []string{lessonA.ID, lessonB.ID}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outline saved = %+v, want week 2 to hold Lexing then Parsing", outline.Sections)
		}
		time.Sleep(100 * time.Millisecond)
	}
	grace.open("/courses/" + course.ID)
	grace.waitFor("the lesson rows", `document.querySelectorAll(".lesson-row").length === 2`, stepTimeout)
	if got := eval[string](grace, order); !strings.Contains(got, `"Week 2:Lexing,Parsing"`) {
		t.Errorf("after a reload the page shows %s, want week 2 to hold Lexing then Parsing", got)
	}
}
