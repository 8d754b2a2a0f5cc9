package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// navBadge finds the navigation's badge key in a page and returns its
// number and whether it is shown.
func navBadge(t *testing.T, page, key string) (n string, shown bool) {
	t.Helper()
	re := regexp.MustCompile(`<span class="nav-count" data-nav-count="` + key + `"[^>]*?( hidden)?><span class="nav-count-n" aria-hidden="true">(\d+)</span><span class="visually-hidden">, ([^<]*)</span>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return m[2] + " (" + m[3] + ")", m[1] == ""
}

func TestNavigationCounts(t *testing.T) {
	ts := pageServer(t)
	cl := newClassroom(t, ts)
	q1 := cl.post(t, cl.author, "question", "class", 1000, "first?")
	cl.post(t, cl.classmate, "question", "teachers", 2000, "second?")
	counts := func(t *testing.T, c *client) lectern.InboxCounts {
		t.Helper()
		var got lectern.InboxCounts
		c.do(t, "GET", "/api/v1/me/counts", nil).want(http.StatusOK).decode(&got)
		return got
	}
	page := func(t *testing.T, c *client, path string) string {
		t.Helper()
		return string(c.do(t, "GET", path, nil).want(http.StatusOK).Body)
	}

	t.Run("TeacherSeesOpenQuestions", func(t *testing.T) {
		if diff := cmp.Diff(lectern.InboxCounts{Teaches: true, OpenQuestions: 2}, counts(t, cl.teacher)); diff != "" {
			t.Errorf("teacher's counts (-want +got):\n%s", diff)
		}
		body := page(t, cl.teacher, "/courses")
		if !strings.Contains(body, `<a href="/inbox">Inbox`) {
			t.Errorf("a teacher's navigation has no inbox link")
		}
		if n, shown := navBadge(t, body, "open_questions"); n != "2 (2 open questions)" || !shown {
			t.Errorf("open questions badge = %q shown %v, want 2 shown", n, shown)
		}
	})
	t.Run("StudentHasNoInbox", func(t *testing.T) {
		body := page(t, cl.author, "/courses")
		if strings.Contains(body, `href="/inbox"`) {
			t.Errorf("a student's navigation offers the inbox")
		}
		if n, shown := navBadge(t, body, "unread_answers"); n != "0 (0 new answers)" || shown {
			t.Errorf("unread answers badge = %q shown %v, want 0 hidden", n, shown)
		}
		inbox := page(t, cl.author, "/inbox")
		if strings.Contains(inbox, "Question inbox") || !strings.Contains(inbox, "The inbox is where teachers answer questions") {
			t.Errorf("a student's /inbox is not the page for students:\n%s", inbox)
		}
		if !strings.Contains(inbox, "No new answers") {
			t.Errorf("a student's /inbox does not say there are no new answers")
		}
	})
	t.Run("AnAnswerShowsForTheAsker", func(t *testing.T) {
		cl.reply(t, cl.teacher, q1, "because of the phase")
		if diff := cmp.Diff(lectern.InboxCounts{UnreadAnswers: 1}, counts(t, cl.author)); diff != "" {
			t.Errorf("asker's counts (-want +got):\n%s", diff)
		}
		if got := counts(t, cl.teacher).OpenQuestions; got != 1 {
			t.Errorf("teacher's open questions after the answer = %d, want 1", got)
		}
		body := page(t, cl.author, "/courses")
		if n, shown := navBadge(t, body, "unread_answers"); n != "1 (1 new answer)" || !shown {
			t.Errorf("unread answers badge = %q shown %v, want 1 shown, singular", n, shown)
		}
		inbox := page(t, cl.author, "/inbox")
		if !strings.Contains(inbox, "because of the phase") || !strings.Contains(inbox, "/watch/"+cl.lessonID+"?t=1") {
			t.Errorf("a student's /inbox does not show the new answer with its link")
		}
	})
	t.Run("TeacherWithoutACourse", func(t *testing.T) {
		_, fresh := ts.loginNew(t, lectern.RoleTeacher)
		body := page(t, fresh, "/courses")
		if strings.Contains(body, `href="/inbox"`) {
			t.Errorf("a teacher who teaches nothing is offered the inbox")
		}
		if inbox := page(t, fresh, "/inbox"); !strings.Contains(inbox, "once you teach a course") {
			t.Errorf("/inbox of a teacher without a course does not say how to get questions")
		}
	})
	t.Run("NeedsALogin", func(t *testing.T) {
		ts.client(t).do(t, "GET", "/api/v1/me/counts", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
	})
}

func TestInboxPageCountsPerLesson(t *testing.T) {
	ts := pageServer(t)
	cl := newClassroom(t, ts)
	cl.post(t, cl.author, "question", "class", 1000, "one?")
	cl.post(t, cl.author, "question", "class", 2000, "two?")
	body := string(cl.teacher.do(t, "GET", "/inbox", nil).want(http.StatusOK).Body)
	for _, want := range []string{`id="lesson-counts"`, `data-lesson-id="` + cl.lessonID + `"`, "2 open questions", `data-status="open"`, "question-status"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox page lacks %s", want)
		}
	}
}
