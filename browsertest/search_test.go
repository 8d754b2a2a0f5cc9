package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// slashKey presses "/" as a keyboard does: one keyDown that carries its
// text, which the page may cancel (chromedp.KeyEvent sends the character
// as a separate event that a page cannot cancel).
func slashKey() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "/", Code: "Slash",
			Text: "/", UnmodifiedText: "/", WindowsVirtualKeyCode: 191, NativeVirtualKeyCode: 191}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		for _, k := range []input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestSearchFindsTheMoment: a student presses "/" anywhere, searches for
// a phrase said in a lesson, sees where it was said (captions, at 0:12,
// the phrase marked) and follows the hit to that moment of the video; the
// course page's search looks in that course only.
func TestSearchFindsTheMoment(t *testing.T) {
	const (
		adminEmail, adminPassword  = "admin@example.org", "admin-password-1"
		teacherEmail, studentEmail = "tess@example.org", "sam@example.org"
		password                   = "a-good-password-1"
	)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Tess Teacher", password, "teacher")
	l.createUser(t, admin, studentEmail, "Sam Student", password, "student")
	teacher := l.apiLogin(t, teacherEmail, password)
	student := l.apiLogin(t, studentEmail, password)

	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Phonetics"}, &course, http.StatusCreated)
	var lesson struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Acoustics of vowels"}, &lesson, http.StatusCreated)
	l.uploadAndWait(t, teacher, lesson.ID, makeLongClip(t, 20))
	srt := "1\n00:00:03,000 --> 00:00:05,000\nWelcome back to phonetics\n\n" +
		"2\n00:00:12,000 --> 00:00:15,000\nThe formant frequencies shape each vowel\n"
	req, _ := http.NewRequest("PUT", l.URL+"/api/v1/lessons/"+lesson.ID+"/captions/en", strings.NewReader(srt))
	resp, err := teacher.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload captions: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	apiCall(t, student, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": course.JoinCode}, nil, http.StatusOK)
	other := map[string]string{"title": "Phonetics elsewhere"}
	var otherCourse struct{ ID string }
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses", other, &otherCourse, http.StatusCreated)
	apiCall(t, teacher, "POST", l.URL+"/api/v1/courses/"+otherCourse.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Vowels in another course"}, nil, http.StatusCreated)

	shots := artifactsDir(t)
	b := newTab(t, l.URL, "student", shots)
	b.login(studentEmail, password)

	t.Run("SlashSearchesFromAnyPage", func(t *testing.T) {
		b.use(t)
		b.do(slashKey())
		if id := eval[string](b, `document.activeElement.id`); id != "top-search" {
			b.fail(`"/" focused %q, want the header's search field`, id)
		}
		b.do(chromedp.KeyEvent(`"formant frequencies"` + kb.Enter))
		b.waitFor("the results", `location.pathname === "/search" && document.querySelector(".search-hit mark")`, stepTimeout)
		if q := eval[string](b, `document.getElementById("search-q").value`); q != `"formant frequencies"` {
			b.fail("the results page's field holds %q, want what was typed after /", q)
		}
		marks := eval[[]string](b, `[...document.querySelectorAll(".search-hit mark")].map(m => m.textContent)`)
		if strings.Join(marks, " ") != "formant frequencies" {
			b.fail("marked words %q, want formant frequencies", marks)
		}
		if got := b.text(".search-hit-link"); !strings.Contains(got, "Captions (en)") || !strings.Contains(got, "0:12") ||
			!strings.Contains(got, "The formant frequencies shape each vowel") {
			b.fail("hit reads %q", got)
		}
		if got := b.text(".search-group-title"); got != "Acoustics of vowels" {
			b.fail("group title %q", got)
		}
		if got := b.text("#search-status"); got != "1 result in 1 lesson." {
			b.fail("status %q", got)
		}
		b.topShot("search-results")
		b.phone()
		b.topShot("search-results-phone")
		b.desktop()
		b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}))
		b.topShot("search-results-dark")
		b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}})
			return err
		}))
	})

	t.Run("HitJumpsToItsMoment", func(t *testing.T) {
		b.use(t)
		b.do(chromedp.Click(chromedp.CSS(".search-hit-link")))
		b.waitFor("the watch page at 0:12", fmt.Sprintf(`location.pathname === "/watch/%s" && location.search === "?t=12"`, lesson.ID), stepTimeout)
		b.waitFor("the video at 0:12", `(v => v && v.readyState > 0 && v.currentTime >= 11.5 && v.currentTime < 15)(document.getElementById("video"))`, time.Minute)
	})

	t.Run("CourseSearchStaysInTheCourse", func(t *testing.T) {
		b.use(t)
		b.open("/courses/" + course.ID)
		b.do(chromedp.WaitVisible(chromedp.CSS("#course-search-q")))
		b.topShot("course-with-search")
		b.do(slashKey())
		if id := eval[string](b, `document.activeElement.id`); id != "course-search-q" {
			b.fail(`"/" on the course page focused %q, want the course's search field`, id)
		}
		b.do(chromedp.KeyEvent("vowels" + kb.Enter))
		b.waitFor("the course's results", `document.querySelector(".search-hit")`, stepTimeout)
		titles := eval[[]string](b, `[...document.querySelectorAll(".search-group-title")].map(h => h.textContent)`)
		if strings.Join(titles, "|") != "Acoustics of vowels" {
			b.fail("lessons found %q, want only this course's", titles)
		}
		if h1 := b.text("h1"); h1 != "Search Phonetics" {
			b.fail("heading %q", h1)
		}
		b.topShot("search-course")
	})
}
