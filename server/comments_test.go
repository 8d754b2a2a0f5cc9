package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// classDurationMS is how long the lessons of comment tests last.
const classDurationMS = 10 * 60 * 1000

// classroom is a course with a ready lesson, and clients logged in as the
// people whose points of view the comment tests take.
type classroom struct {
	ts                                              *testServer
	teacher, author, classmate, otherTeacher, admin *client
	teacherID, authorID                             string
	courseID, lessonID                              string
}

func newClassroom(t *testing.T, ts *testServer) *classroom {
	t.Helper()
	cl := &classroom{ts: ts}
	teacher, teacherClient := ts.loginNew(t, lectern.RoleTeacher)
	author, authorClient := ts.loginNew(t, lectern.RoleStudent)
	cl.teacher, cl.author, cl.teacherID, cl.authorID = teacherClient, authorClient, teacher.ID, author.ID
	_, cl.classmate = ts.loginNew(t, lectern.RoleStudent)
	_, cl.otherTeacher = ts.loginNew(t, lectern.RoleTeacher)
	_, cl.admin = ts.loginNew(t, lectern.RoleAdmin)
	course := createCourse(t, cl.teacher, "Signals")
	for _, c := range []*client{cl.author, cl.classmate} {
		c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
	}
	createCourse(t, cl.otherTeacher, "Elsewhere")
	cl.courseID = course.ID
	cl.lessonID = readyLesson(t, ts, course.ID, "Fourier", classDurationMS)
	return cl
}

// readyLesson creates a transcoded lesson of durationMS in a course.
func readyLesson(t *testing.T, ts *testServer, courseID, title string, durationMS int64) string {
	t.Helper()
	ctx := context.Background()
	l := &lectern.Lesson{CourseID: courseID, Title: title, PublishedAt: new(time.Unix(0, 0))}
	if err := ts.DB.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	ready := lectern.LessonReady
	if _, err := ts.DB.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &durationMS}); err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// refill moves the clock on until every posting budget is full again.
func (cl *classroom) refill() { cl.ts.Clock.Advance(time.Minute) }

// commentJSON is an entry as the API returns it.
type commentJSON struct {
	ID              string     `json:"id"`
	LessonID        string     `json:"lesson_id"`
	ParentID        string     `json:"parent_id"`
	AuthorID        string     `json:"author_id"`
	AuthorName      string     `json:"author_name"`
	AuthorRole      string     `json:"author_role"`
	Kind            string     `json:"kind"`
	Visibility      string     `json:"visibility"`
	AtMS            int64      `json:"at_ms"`
	EndMS           *int64     `json:"end_ms"`
	Body            string     `json:"body"`
	Status          string     `json:"status"`
	StatusChangedBy string     `json:"status_changed_by"`
	StatusChangedAt *time.Time `json:"status_changed_at"`
	AcceptedID      string     `json:"accepted_id"`
	ReplyCount      int        `json:"reply_count"`
	Deleted         bool       `json:"deleted"`
	EditedAt        *time.Time `json:"edited_at"`
}

type commentPage struct {
	Comments   []commentJSON `json:"comments"`
	NextCursor *string       `json:"next_cursor"`
}

type threadJSON struct {
	Comment commentJSON   `json:"comment"`
	Replies []commentJSON `json:"replies"`
}

func (cl *classroom) commentsPath() string { return "/api/v1/lessons/" + cl.lessonID + "/comments" }

// post creates an entry in the classroom's lesson as c.
func (cl *classroom) post(t *testing.T, c *client, kind, visibility string, atMS int64, body string) commentJSON {
	t.Helper()
	var got commentJSON
	c.do(t, "POST", cl.commentsPath(), map[string]any{"kind": kind, "visibility": visibility, "at_ms": atMS, "body": body}).
		want(http.StatusCreated).decode(&got)
	return got
}

// reply answers the thread of parent as c.
func (cl *classroom) reply(t *testing.T, c *client, parent commentJSON, body string) commentJSON {
	t.Helper()
	var got commentJSON
	c.do(t, "POST", cl.commentsPath(), map[string]any{"parent_id": parent.ID, "body": body}).
		want(http.StatusCreated).decode(&got)
	return got
}

func (cl *classroom) list(t *testing.T, c *client, query string) commentPage {
	t.Helper()
	var page commentPage
	c.do(t, "GET", cl.commentsPath()+query, nil).want(http.StatusOK).decode(&page)
	return page
}

func thread(t *testing.T, c *client, id string) threadJSON {
	t.Helper()
	var th threadJSON
	c.do(t, "GET", "/api/v1/comments/"+id, nil).want(http.StatusOK).decode(&th)
	return th
}

func commentIDs(cs []commentJSON) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestComments(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		t.Run("Create", func(t *testing.T) {
			got := cl.post(t, cl.author, "question", "class", 42500, "What is a phasor?")
			want := commentJSON{ID: got.ID, LessonID: cl.lessonID, AuthorID: cl.authorID, AuthorName: "Test student",
				AuthorRole: "student", Kind: "question", Visibility: "class", AtMS: 42500, Body: "What is a phasor?", Status: "open"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
		})
		t.Run("ScriptComesBackAsText", func(t *testing.T) {
			body := `<script>alert("owned")</script>`
			r := cl.author.do(t, "POST", cl.commentsPath(), map[string]any{"kind": "comment", "visibility": "class", "at_ms": 0, "body": body})
			r.want(http.StatusCreated)
			if strings.Contains(string(r.Body), "<script>") {
				t.Errorf("response holds a raw <script> tag: %s", r.Body)
			}
			var created commentJSON
			r.decode(&created)
			if got := thread(t, cl.classmate, created.ID).Comment.Body; got != body {
				t.Errorf("body read back = %q, want %q", got, body)
			}
		})
		t.Run("Refused", func(t *testing.T) {
			for name, req := range map[string]map[string]any{
				"NegativeAt":    {"kind": "comment", "visibility": "class", "at_ms": -1, "body": "x"},
				"AtPastTheEnd":  {"kind": "comment", "visibility": "class", "at_ms": classDurationMS + 1, "body": "x"},
				"EndBeforeAt":   {"kind": "comment", "visibility": "class", "at_ms": 5000, "end_ms": 4000, "body": "x"},
				"NoAt":          {"kind": "comment", "visibility": "class", "body": "x"},
				"EmptyBody":     {"kind": "comment", "visibility": "class", "at_ms": 0, "body": "  "},
				"OversizedBody": {"kind": "comment", "visibility": "class", "at_ms": 0, "body": strings.Repeat("ü", lectern.MaxCommentBody+1)},
				"UnknownKind":   {"kind": "shout", "visibility": "class", "at_ms": 0, "body": "x"},
				"NoVisibility":  {"kind": "comment", "at_ms": 0, "body": "x"},
			} {
				t.Run(name, func(t *testing.T) {
					cl.refill()
					cl.author.do(t, "POST", cl.commentsPath(), req).wantError(http.StatusBadRequest, lectern.EINVALID)
				})
			}
			t.Run("LessonNotReady", func(t *testing.T) {
				l := &lectern.Lesson{CourseID: cl.courseID, Title: "Still encoding", PublishedAt: new(time.Unix(0, 0))}
				if err := fx.DB.CreateLesson(context.Background(), l); err != nil {
					t.Fatal(err)
				}
				msg := cl.author.do(t, "POST", "/api/v1/lessons/"+l.ID+"/comments",
					map[string]any{"kind": "comment", "visibility": "class", "at_ms": 0, "body": "x"}).
					wantError(http.StatusBadRequest, lectern.EINVALID)
				if !strings.Contains(msg, "not ready") {
					t.Errorf("message %q does not say the lesson is not ready", msg)
				}
			})
			t.Run("OtherCourseGets404", func(t *testing.T) {
				cl.otherTeacher.do(t, "POST", cl.commentsPath(), map[string]any{"kind": "comment", "visibility": "class", "at_ms": 0, "body": "x"}).
					wantError(http.StatusNotFound, lectern.ENOTFOUND)
				cl.otherTeacher.do(t, "GET", cl.commentsPath(), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			})
		})
		t.Run("QuestionLifecycle", func(t *testing.T) {
			cl.refill()
			q := cl.post(t, cl.author, "question", "teachers", 90000, "lost at 1:30")
			patch := func(c *client, fields map[string]any) *response {
				return c.do(t, "PATCH", "/api/v1/comments/"+q.ID, fields)
			}
			answer := cl.reply(t, cl.teacher, q, "look at the unit circle")
			if got := thread(t, cl.author, q.ID).Comment; got.Status != "answered" || got.StatusChangedBy != cl.teacherID || got.StatusChangedAt == nil {
				t.Errorf("after the teacher's reply: status %q changed by %q at %v, want answered by the teacher", got.Status, got.StatusChangedBy, got.StatusChangedAt)
			}
			var got commentJSON
			patch(cl.author, map[string]any{"status": "resolved"}).want(http.StatusOK).decode(&got)
			if got.Status != "resolved" || got.StatusChangedBy != cl.authorID {
				t.Errorf("after the asker resolved it: status %q changed by %q", got.Status, got.StatusChangedBy)
			}
			patch(cl.teacher, map[string]any{"status": "open"}).want(http.StatusOK).decode(&got)
			if got.Status != "open" || got.StatusChangedBy != cl.teacherID {
				t.Errorf("after the teacher reopened it: status %q changed by %q", got.Status, got.StatusChangedBy)
			}
			patch(cl.author, map[string]any{"status": "answered"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			patch(cl.classmate, map[string]any{"status": "resolved"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			patch(cl.author, map[string]any{"accepted_id": answer.ID}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			patch(cl.teacher, map[string]any{"accepted_id": answer.ID}).want(http.StatusOK).decode(&got)
			if got.AcceptedID != answer.ID || got.Status != "answered" {
				t.Errorf("after accepting: accepted %q, status %q; want %q, answered", got.AcceptedID, got.Status, answer.ID)
			}
		})
		t.Run("EditAndDelete", func(t *testing.T) {
			cl.refill()
			c := cl.post(t, cl.author, "question", "class", 1000, "typo")
			cl.reply(t, cl.classmate, c, "what typo?")
			var got commentJSON
			cl.author.do(t, "PATCH", "/api/v1/comments/"+c.ID, map[string]any{"body": "fixed"}).want(http.StatusOK).decode(&got)
			if got.Body != "fixed" || got.EditedAt == nil || !got.EditedAt.Equal(fx.Clock.Now()) {
				t.Errorf("edited: body %q at %v, want %q at %v", got.Body, got.EditedAt, "fixed", fx.Clock.Now())
			}
			cl.teacher.do(t, "PATCH", "/api/v1/comments/"+c.ID, map[string]any{"body": "censored"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			cl.classmate.do(t, "DELETE", "/api/v1/comments/"+c.ID, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			cl.teacher.do(t, "DELETE", "/api/v1/comments/"+c.ID, nil).want(http.StatusNoContent)
			th := thread(t, cl.classmate, c.ID)
			if !th.Comment.Deleted || th.Comment.Body != "" || len(th.Replies) != 1 || th.Replies[0].Body != "what typo?" {
				t.Errorf("deleted thread = %+v, want a placeholder with its reply", th)
			}
			var listed *commentJSON
			for _, e := range cl.list(t, cl.classmate, "").Comments {
				if e.ID == c.ID {
					listed = &e
				}
			}
			if listed == nil || !listed.Deleted || listed.Body != "" || listed.ReplyCount != 1 {
				t.Errorf("deleted entry in the listing = %+v, want a placeholder with 1 reply", listed)
			}
		})
		t.Run("Pages", func(t *testing.T) {
			cl.refill()
			lesson := readyLesson(t, ts, cl.courseID, "Paged", classDurationMS)
			var want []string
			for i := range 7 {
				var c commentJSON
				cl.teacher.do(t, "POST", "/api/v1/lessons/"+lesson+"/comments",
					map[string]any{"kind": "comment", "visibility": "class", "at_ms": i * 1000, "body": fmt.Sprint(i)}).
					want(http.StatusCreated).decode(&c)
				want = append(want, c.ID)
			}
			var got []string
			query := "?limit=3"
			for range 5 {
				var page commentPage
				cl.author.do(t, "GET", "/api/v1/lessons/"+lesson+"/comments"+query, nil).want(http.StatusOK).decode(&page)
				got = append(got, commentIDs(page.Comments)...)
				if page.NextCursor == nil {
					break
				}
				query = "?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("paged listing (-want +got):\n%s", diff)
			}
			for _, q := range []string{"?cursor=garbage", "?limit=0", "?limit=1000", "?from_ms=-5", "?kind=rant", "?status=closed"} {
				cl.author.do(t, "GET", "/api/v1/lessons/"+lesson+"/comments"+q, nil).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			for q, wantIDs := range map[string][]string{
				"?from_ms=3000&to_ms=4000": want[3:5],
				"?kind=question":           {},
				"?kind=comment&limit=2":    want[:2],
			} {
				var page commentPage
				cl.author.do(t, "GET", "/api/v1/lessons/"+lesson+"/comments"+q, nil).want(http.StatusOK).decode(&page)
				if diff := cmp.Diff(wantIDs, commentIDs(page.Comments)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", q, diff)
				}
			}
		})
		t.Run("RateLimit", func(t *testing.T) {
			cl.refill()
			_, chatty := ts.loginNew(t, lectern.RoleStudent)
			course := listCourses(t, cl.teacher)[cl.courseID]
			chatty.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
			body := map[string]any{"kind": "comment", "visibility": "class", "at_ms": 0, "body": "spam"}
			for i := range 10 {
				if r := chatty.do(t, "POST", cl.commentsPath(), body); r.Status != http.StatusCreated {
					t.Fatalf("post %d: status %d, want 201", i+1, r.Status)
				}
			}
			r := chatty.do(t, "POST", cl.commentsPath(), body)
			r.wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
			if got := r.Header.Get("Retry-After"); got != "6" {
				t.Errorf("Retry-After = %q, want 6", got)
			}
			cl.classmate.do(t, "POST", cl.commentsPath(), body).want(http.StatusCreated)
			ts.Clock.Advance(6 * time.Second)
			chatty.do(t, "POST", cl.commentsPath(), body).want(http.StatusCreated)
		})
	})
}
