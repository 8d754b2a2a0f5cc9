package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScheduledLessonAppears: a teacher schedules a draft lesson a few
// seconds ahead on its page, in the course's time zone; the page says
// when; the student's course page does not show the lesson, then shows it
// once its time has come, without the teacher doing anything. The lesson
// page with its Publishing card passes axe.
func TestScheduledLessonAppears(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "grace@example.org", "teacher password 1"
		studentEmail, studentPassword = "sam@example.org", "student password 1"
		zone                          = "Asia/Kolkata"
	)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Grace Hopper", teacherPassword, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", studentPassword, "student")
	teacher := l.apiLogin(t, teacherEmail, teacherPassword)
	student := l.apiLogin(t, studentEmail, studentPassword)
	var course struct {
		ID       string
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Compilers"}, &course, http.StatusCreated)
	apiCall(t, teacher, "PATCH", l.URL+"/api/v1/courses/"+course.ID, map[string]string{"time_zone": zone}, nil, http.StatusOK)
	apiCall(t, student, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	var lesson struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"title": "Register allocation"}, &lesson, http.StatusCreated)

	grace := newTab(t, l.URL, "grace", artifactsDir(t))
	sam := newTab(t, l.URL, "sam", artifactsDir(t))
	row := `!!document.querySelector('.lesson-row[data-lesson-id="` + lesson.ID + `"]')`

	gt := grace.use(t)
	gt.login(teacherEmail, teacherPassword)
	gt.open("/lessons/" + lesson.ID + "/upload")
	gt.waitFor("the draft on the Publishing card", `document.getElementById("publish-card").dataset.state === "draft"`, stepTimeout)
	if got := gt.text("label[for=publish-at]"); got != "Publish at ("+zone+")" {
		t.Errorf("the schedule input is labelled %q, want it to name the course's zone", got)
	}
	for _, f := range axeCheck(gt) {
		t.Errorf("axe on the lesson page: %s", f)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(15 * time.Second).Truncate(time.Second)
	gt.do(chromedp.SetValue(chromedp.CSS("#publish-at"), at.In(loc).Format("2006-01-02T15:04:05")),
		chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)))
	gt.waitFor("the lesson scheduled", `document.getElementById("publish-card").dataset.state === "scheduled"`, stepTimeout)
	if got, want := gt.text("#publish-state"), at.In(loc).Format("15:04"); !strings.Contains(got, want) || !strings.Contains(got, zone) {
		t.Errorf("the Publishing card says %q, want the time %s in %s", got, want, zone)
	}
	gt.open("/courses/" + course.ID)
	gt.waitFor("the Scheduled badge on the course page", `!!document.querySelector('[data-publication-for="`+lesson.ID+`"].badge-scheduled')`, stepTimeout)

	st := sam.use(t)
	st.login(studentEmail, studentPassword)
	st.open("/courses/" + course.ID)
	st.waitFor("the course page", `!!document.getElementById("lessons-heading")`, stepTimeout)
	if time.Now().Before(at) && eval[bool](st, row) {
		t.Fatal("the student sees the scheduled lesson before its time")
	}
	// Nobody does anything: the student reloads until it is there.
	deadline := time.Now().Add(2 * time.Minute)
	for !eval[bool](st, row) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled lesson did not appear for the student by %s", deadline)
		}
		time.Sleep(2 * time.Second)
		st.open("/courses/" + course.ID)
		st.waitFor("the course page", `!!document.getElementById("lessons-heading")`, stepTimeout)
	}
	if time.Now().Before(at) {
		t.Errorf("the lesson appeared before its time %s", at)
	}
	st.shot("scheduled-lesson-appeared")

	// A watch-by date shows on the lesson for the student, in their zone.
	by := time.Date(2031, 1, 14, 17, 0, 0, 0, loc)
	apiCall(t, teacher, "PATCH", l.URL+"/api/v1/lessons/"+lesson.ID, map[string]string{"watch_by": by.Format(time.RFC3339)}, nil, http.StatusOK)
	st.open("/watch/" + lesson.ID)
	st.waitFor("the watch-by date", `(document.querySelector("#watch-by time")?.textContent || "").startsWith("Watch by ")`, stepTimeout)
	mine := eval[string](st, `Intl.DateTimeFormat().resolvedOptions().timeZone`)
	myLoc, err := time.LoadLocation(mine)
	if err != nil {
		myLoc = time.UTC
	}
	if got, want := st.text("#watch-by"), "Watch by "+by.In(myLoc).Format("Mon 2 Jan, 15:04"); got != want {
		t.Errorf("the watch page says %q, want %q (the student's zone, %s)", got, want, mine)
	}
	if strings.Contains(st.text("body"), zone) {
		t.Errorf("the student's watch page names the course's zone: students see no scheduling")
	}
}
