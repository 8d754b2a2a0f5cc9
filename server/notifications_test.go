package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type notificationsJSON struct {
	Notifications []struct {
		ID          string `json:"id"`
		QuestionID  string `json:"question_id"`
		LessonID    string `json:"lesson_id"`
		LessonTitle string `json:"lesson_title"`
		AtMS        int64  `json:"at_ms"`
		Question    string `json:"question"`
		Answer      string `json:"answer"`
		AnsweredBy  string `json:"answered_by"`
		Link        string `json:"link"`
	} `json:"notifications"`
	Unread int `json:"unread"`
}

func notifications(t *testing.T, c *client) notificationsJSON {
	t.Helper()
	var got notificationsJSON
	c.do(t, "GET", "/api/v1/me/notifications", nil).want(http.StatusOK).decode(&got)
	return got
}

func TestNotifications(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		q1 := cl.post(t, cl.author, "question", "teachers", 125400, "why?")
		q2 := cl.post(t, cl.author, "question", "class", 3000, "how?")
		t.Run("NothingUntilATeacherAnswers", func(t *testing.T) {
			cl.reply(t, cl.classmate, q2, "no idea")
			if got := notifications(t, cl.author); got.Unread != 0 {
				t.Errorf("notifications after a classmate's reply: %+v", got)
			}
		})
		t.Run("AnsweredWithExcerptAndLink", func(t *testing.T) {
			long := strings.Repeat("because ", 100)
			cl.reply(t, cl.teacher, q1, long)
			got := notifications(t, cl.author)
			if got.Unread != 1 || len(got.Notifications) != 1 {
				t.Fatalf("notifications = %+v, want one", got)
			}
			n := got.Notifications[0]
			if n.QuestionID != q1.ID || n.LessonID != cl.lessonID || n.LessonTitle != "Fourier" || n.AtMS != 125400 ||
				n.Question != "why?" || n.AnsweredBy != "Test teacher" || n.Link != "/watch/"+cl.lessonID+"?t=125" {
				t.Errorf("notification = %+v", n)
			}
			if r := []rune(n.Answer); len(r) != 200 || !strings.HasSuffix(n.Answer, "…") || !strings.HasPrefix(long, string(r[:len(r)-1])) {
				t.Errorf("answer excerpt = %q, want the first 199 characters and an ellipsis", n.Answer)
			}
			if got := notifications(t, cl.classmate); got.Unread != 0 {
				t.Errorf("classmate's notifications = %+v, want none", got)
			}
		})
		t.Run("MarkRead", func(t *testing.T) {
			ts.Clock.Advance(time.Second)
			cl.reply(t, cl.teacher, q2, "like this")
			got := notifications(t, cl.author)
			var questions []string
			for _, n := range got.Notifications {
				questions = append(questions, n.QuestionID)
			}
			if diff := cmp.Diff([]string{q2.ID, q1.ID}, questions); diff != "" {
				t.Fatalf("notifications, newest first (-want +got):\n%s", diff)
			}
			var marked struct{ Marked int }
			cl.classmate.do(t, "POST", "/api/v1/me/notifications/read", map[string]any{"ids": []string{got.Notifications[0].ID}}).
				want(http.StatusOK).decode(&marked)
			if marked.Marked != 0 {
				t.Errorf("a classmate marked %d of the author's notifications read", marked.Marked)
			}
			cl.author.do(t, "POST", "/api/v1/me/notifications/read", map[string]any{"ids": []string{got.Notifications[0].ID}}).
				want(http.StatusOK).decode(&marked)
			if after := notifications(t, cl.author); marked.Marked != 1 || after.Unread != 1 || after.Notifications[0].QuestionID != q1.ID {
				t.Errorf("after reading one: marked %d, left %+v", marked.Marked, after)
			}
			cl.author.do(t, "POST", "/api/v1/me/notifications/read", nil).want(http.StatusOK).decode(&marked)
			if after := notifications(t, cl.author); marked.Marked != 1 || after.Unread != 0 {
				t.Errorf("after reading all: marked %d, left %+v", marked.Marked, after)
			}
		})
	})
}
