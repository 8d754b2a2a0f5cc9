package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

type inboxJSON struct {
	Questions []struct {
		commentJSON
		CourseTitle string `json:"course_title"`
		LessonTitle string `json:"lesson_title"`
		Link        string `json:"link"`
	} `json:"questions"`
	Lessons []struct {
		LessonID   string `json:"lesson_id"`
		Unanswered int    `json:"unanswered"`
	} `json:"lessons"`
	NextCursor *string `json:"next_cursor"`
}

func inbox(t *testing.T, c *client, query string) inboxJSON {
	t.Helper()
	var got inboxJSON
	c.do(t, "GET", "/api/v1/questions"+query, nil).want(http.StatusOK).decode(&got)
	return got
}

func TestQuestionInbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		cv := cl.converse(t)
		second := readyLesson(t, ts, cl.courseID, "Laplace", classDurationMS)
		// The test clock stands still unless moved: oldest first needs
		// distinct times.
		ts.Clock.Advance(time.Second)
		late := cl.post(t, cl.author, "question", "teachers", 0, "one more")
		ts.Clock.Advance(time.Second)
		var later commentJSON
		cl.classmate.do(t, "POST", "/api/v1/lessons/"+second+"/comments",
			map[string]any{"kind": "question", "visibility": "class", "at_ms": 61999, "body": "and this?"}).
			want(http.StatusCreated).decode(&later)

		t.Run("CourseTeacher", func(t *testing.T) {
			got := inbox(t, cl.teacher, "?status=open")
			var ids []string
			for _, q := range got.Questions {
				ids = append(ids, q.ID)
			}
			if diff := cmp.Diff([]string{cv.classQuestion.ID, late.ID, later.ID}, ids); diff != "" {
				t.Fatalf("open questions, oldest first (-want +got):\n%s", diff)
			}
			last := got.Questions[2]
			if last.CourseTitle != "Signals" || last.LessonTitle != "Laplace" || last.AtMS != 61999 || last.Link != "/watch/"+second+"?t=61" {
				t.Errorf("question = %+v; want course Signals, lesson Laplace, at 61999, link /watch/%s?t=61", last, second)
			}
			counts := map[string]int{}
			for _, l := range got.Lessons {
				counts[l.LessonID] = l.Unanswered
			}
			if diff := cmp.Diff(map[string]int{cl.lessonID: 2, second: 1}, counts); diff != "" {
				t.Errorf("unanswered per lesson (-want +got):\n%s", diff)
			}
			answered := inbox(t, cl.teacher, "?status=answered")
			if len(answered.Questions) != 1 || answered.Questions[0].ID != cv.shyQuestion.ID {
				t.Errorf("answered questions = %+v, want the shy question", answered.Questions)
			}
			paged := inbox(t, cl.teacher, "?limit=2")
			if len(paged.Questions) != 2 || paged.NextCursor == nil {
				t.Errorf("first page of 2: %d questions, next cursor %v", len(paged.Questions), paged.NextCursor)
			}
		})
		for name, c := range map[string]*client{"Author": cl.author, "Classmate": cl.classmate,
			"OtherCourseTeacher": cl.otherTeacher, "AdminTeachingNothing": cl.admin} {
			t.Run(name, func(t *testing.T) {
				if got := inbox(t, c, ""); len(got.Questions) != 0 || len(got.Lessons) != 0 {
					t.Errorf("inbox = %+v, want empty", got)
				}
			})
		}
		t.Run("BadQuery", func(t *testing.T) {
			for _, q := range []string{"?status=stale", "?cursor=nope", "?limit=-1"} {
				cl.teacher.do(t, "GET", "/api/v1/questions"+q, nil).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
		})
	})
}
