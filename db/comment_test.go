package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// lessonMS is the duration of the lessons comment tests post in.
const lessonMS = 10 * 60 * 1000

// class is a course with a ready lesson and the people whose points of
// view the comment tests take.
type class struct {
	teacher, author, classmate, otherTeacher, admin *lectern.User
	course                                          *lectern.Course
	lesson                                          *lectern.Lesson
}

func newClass(tb testing.TB, d *db.DB) *class {
	tb.Helper()
	c := &class{
		teacher:      newNamedUser(tb, d, lectern.RoleTeacher, "Tess Teacher"),
		author:       newNamedUser(tb, d, lectern.RoleStudent, "Ada Author"),
		classmate:    newNamedUser(tb, d, lectern.RoleStudent, "Cal Classmate"),
		otherTeacher: newNamedUser(tb, d, lectern.RoleTeacher, "Otto Other"),
		admin:        newNamedUser(tb, d, lectern.RoleAdmin, "Ann Admin"),
	}
	c.course = newCourse(tb, d, c.teacher)
	join(tb, d, c.course, c.author)
	join(tb, d, c.course, c.classmate)
	newCourse(tb, d, c.otherTeacher)
	c.lesson = readyLesson(tb, d, c.course, lessonMS)
	return c
}

// readyLesson is a new lesson of course, transcoded, lasting durationMS.
func readyLesson(tb testing.TB, d *db.DB, course *lectern.Course, durationMS int64) *lectern.Lesson {
	tb.Helper()
	l := newLesson(tb, d, course)
	l, err := d.UpdateLesson(context.Background(), l.ID, lectern.LessonUpdate{
		Status: ptr(lectern.LessonReady), DurationMS: ptr(durationMS)})
	if err != nil {
		tb.Fatalf("UpdateLesson: %v", err)
	}
	return l
}

// post creates an entry and fails the test if that fails.
func post(tb testing.TB, d *db.DB, by *lectern.User, c lectern.Comment) *lectern.Comment {
	tb.Helper()
	if err := d.CreateComment(context.Background(), &c, by); err != nil {
		tb.Fatalf("CreateComment(%+v): %v", c, err)
	}
	return &c
}

func entry(lesson *lectern.Lesson, kind lectern.CommentKind, vis lectern.Visibility, atMS int64, body string) lectern.Comment {
	return lectern.Comment{LessonID: lesson.ID, Kind: kind, Visibility: vis, AtMS: atMS, Body: body}
}

func reply(parent *lectern.Comment, body string) lectern.Comment {
	return lectern.Comment{LessonID: parent.LessonID, ParentID: parent.ID, Body: body}
}

func ids(comments []*lectern.Comment) []string {
	out := []string{}
	for _, c := range comments {
		out = append(out, c.ID)
	}
	return out
}

func TestCreateComment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		cl := newClass(t, d)
		t.Run("FilledAsAuthorSeesIt", func(t *testing.T) {
			now := stored(clock.Peek())
			c := lectern.Comment{LessonID: cl.lesson.ID, Kind: lectern.KindQuestion, Visibility: lectern.VisibilityClass,
				AtMS: 1500, EndMS: ptr(int64(4000)), Body: "  Why does the wave fold here?\n"}
			if err := d.CreateComment(ctx, &c, cl.author); err != nil {
				t.Fatal(err)
			}
			want := lectern.Comment{ID: c.ID, LessonID: cl.lesson.ID, CourseID: cl.course.ID, AuthorID: cl.author.ID,
				AuthorName: "Ada Author", AuthorRole: "student", Kind: lectern.KindQuestion,
				Visibility: lectern.VisibilityClass, AtMS: 1500, EndMS: ptr(int64(4000)),
				Body: "Why does the wave fold here?", Status: lectern.QuestionOpen, CreatedAt: now}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			got, err := d.FindComment(ctx, c.ID, cl.classmate)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("FindComment by a classmate (-want +got):\n%s", diff)
			}
		})
		t.Run("ScriptIsStoredAsText", func(t *testing.T) {
			body := `<script>alert("hi")</script> & <b>bold</b>`
			c := post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, body))
			got, err := d.FindComment(ctx, c.ID, cl.teacher)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != body {
				t.Errorf("body = %q, want %q", got.Body, body)
			}
		})
		t.Run("AnchorBounds", func(t *testing.T) {
			for _, at := range []int64{0, lessonMS} {
				post(t, d, cl.author, entry(cl.lesson, lectern.KindNote, lectern.VisibilityPrivate, at, "edge"))
			}
			for name, c := range map[string]lectern.Comment{
				"Negative":      entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, -1, "x"),
				"PastTheEnd":    entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, lessonMS+1, "x"),
				"EndBeforeAt":   {LessonID: cl.lesson.ID, Kind: lectern.KindComment, Visibility: lectern.VisibilityClass, AtMS: 5000, EndMS: ptr(int64(4999)), Body: "x"},
				"EndPastTheEnd": {LessonID: cl.lesson.ID, Kind: lectern.KindComment, Visibility: lectern.VisibilityClass, AtMS: 5000, EndMS: ptr(int64(lessonMS + 1)), Body: "x"},
			} {
				t.Run(name, func(t *testing.T) {
					wantCode(t, d.CreateComment(ctx, &c, cl.author), lectern.EINVALID)
				})
			}
		})
		t.Run("LessonNotReadyRefused", func(t *testing.T) {
			l := newLesson(t, d, cl.course)
			c := entry(l, lectern.KindComment, lectern.VisibilityClass, 0, "too early")
			err := d.CreateComment(ctx, &c, cl.author)
			wantCode(t, err, lectern.EINVALID)
			if msg := lectern.ErrorMessage(err); !strings.Contains(msg, "not ready") {
				t.Errorf("message %q does not say the lesson is not ready", msg)
			}
		})
		t.Run("BodyLength", func(t *testing.T) {
			// Characters are counted, not bytes: 5000 two-byte runes fit.
			post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, strings.Repeat("é", lectern.MaxCommentBody)))
			for name, body := range map[string]string{
				"Empty":     " \n\t",
				"Oversized": strings.Repeat("é", lectern.MaxCommentBody+1),
				"NUL":       "a\x00b",
			} {
				t.Run(name, func(t *testing.T) {
					c := entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, body)
					wantCode(t, d.CreateComment(ctx, &c, cl.author), lectern.EINVALID)
				})
			}
		})
		t.Run("KindAndVisibility", func(t *testing.T) {
			for name, c := range map[string]lectern.Comment{
				"UnknownKind":       entry(cl.lesson, "rant", lectern.VisibilityClass, 0, "x"),
				"UnknownVisibility": entry(cl.lesson, lectern.KindComment, "world", 0, "x"),
				"PrivateQuestion":   entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityPrivate, 0, "x"),
			} {
				t.Run(name, func(t *testing.T) {
					wantCode(t, d.CreateComment(ctx, &c, cl.author), lectern.EINVALID)
				})
			}
		})
		t.Run("OutsidersGet404", func(t *testing.T) {
			c := entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "x")
			wantCode(t, d.CreateComment(ctx, &c, cl.otherTeacher), lectern.ENOTFOUND)
			c = entry(&lectern.Lesson{ID: "nosuchlesson"}, lectern.KindComment, lectern.VisibilityClass, 0, "x")
			wantCode(t, d.CreateComment(ctx, &c, cl.author), lectern.ENOTFOUND)
		})
		t.Run("AdminMayPostAsNonMember", func(t *testing.T) {
			c := post(t, d, cl.admin, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "from the admin"))
			if c.AuthorRole != lectern.AuthorRoleAdmin {
				t.Errorf("AuthorRole = %q, want %q", c.AuthorRole, lectern.AuthorRoleAdmin)
			}
		})
	})
}

func TestReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		root := post(t, d, cl.author, lectern.Comment{LessonID: cl.lesson.ID, Kind: lectern.KindQuestion,
			Visibility: lectern.VisibilityTeachers, AtMS: 7000, EndMS: ptr(int64(9000)), Body: "shy question"})
		t.Run("InheritAnchorAndVisibility", func(t *testing.T) {
			r := reply(root, "my own follow-up")
			r.AtMS = 123 // ignored: a reply sits at its thread's anchor
			got := post(t, d, cl.author, r)
			want := lectern.Comment{AtMS: 7000, EndMS: ptr(int64(9000)), Kind: lectern.KindComment,
				Visibility: lectern.VisibilityTeachers, ParentID: root.ID}
			if diff := cmp.Diff(want, lectern.Comment{AtMS: got.AtMS, EndMS: got.EndMS, Kind: got.Kind,
				Visibility: got.Visibility, ParentID: got.ParentID}); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
		t.Run("Refused", func(t *testing.T) {
			first := post(t, d, cl.teacher, reply(root, "a teacher's answer"))
			other := readyLesson(t, d, cl.course, lessonMS)
			for name, tc := range map[string]struct {
				c    lectern.Comment
				code string
			}{
				"ReplyToReply":        {reply(first, "nested"), lectern.EINVALID},
				"OtherVisibility":     {lectern.Comment{LessonID: cl.lesson.ID, ParentID: root.ID, Visibility: lectern.VisibilityClass, Body: "x"}, lectern.EINVALID},
				"QuestionKind":        {lectern.Comment{LessonID: cl.lesson.ID, ParentID: root.ID, Kind: lectern.KindQuestion, Body: "x"}, lectern.EINVALID},
				"ParentInOtherLesson": {lectern.Comment{LessonID: other.ID, ParentID: root.ID, Body: "x"}, lectern.EINVALID},
				"UnknownParent":       {lectern.Comment{LessonID: cl.lesson.ID, ParentID: "nosuchcomment", Body: "x"}, lectern.ENOTFOUND},
			} {
				t.Run(name, func(t *testing.T) {
					wantCode(t, d.CreateComment(ctx, &tc.c, cl.author), tc.code)
				})
			}
			t.Run("ClassmateCannotSeeParent", func(t *testing.T) {
				c := reply(root, "let me in")
				wantCode(t, d.CreateComment(ctx, &c, cl.classmate), lectern.ENOTFOUND)
			})
		})
		t.Run("ThreadOldestFirst", func(t *testing.T) {
			q := post(t, d, cl.classmate, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 100, "q"))
			a := post(t, d, cl.teacher, reply(q, "a"))
			b := post(t, d, cl.author, reply(q, "b"))
			for _, id := range []string{q.ID, b.ID} {
				gotRoot, replies, err := d.FindThread(ctx, id, cl.author)
				if err != nil {
					t.Fatal(err)
				}
				if gotRoot.ID != q.ID || gotRoot.ReplyCount != 2 {
					t.Errorf("FindThread(%s) root = %s with %d replies, want %s with 2", id, gotRoot.ID, gotRoot.ReplyCount, q.ID)
				}
				if diff := cmp.Diff([]string{a.ID, b.ID}, ids(replies)); diff != "" {
					t.Errorf("FindThread(%s) replies (-want +got):\n%s", id, diff)
				}
			}
		})
	})
}

func TestQuestionLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		cl := newClass(t, d)
		q := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 42000, "what is a phasor?"))
		setStatus := func(t *testing.T, by *lectern.User, s lectern.QuestionStatus) (*lectern.Comment, error) {
			t.Helper()
			return d.UpdateComment(ctx, q.ID, by, lectern.CommentUpdate{Status: &s})
		}
		wantStatus := func(t *testing.T, c *lectern.Comment, s lectern.QuestionStatus, by *lectern.User, at time.Time) {
			t.Helper()
			got := []any{c.Status, c.StatusChangedBy, c.StatusChangedAt}
			want := []any{s, by.ID, &at}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status, changed by, changed at (-want +got):\n%s", diff)
			}
		}
		t.Run("ClassmateReplyLeavesItOpen", func(t *testing.T) {
			post(t, d, cl.classmate, reply(q, "me too"))
			got, _ := d.FindComment(ctx, q.ID, cl.author)
			if got.Status != lectern.QuestionOpen || got.StatusChangedBy != "" || got.StatusChangedAt != nil {
				t.Errorf("after a classmate's reply: status %q changed by %q at %v, want open and never changed",
					got.Status, got.StatusChangedBy, got.StatusChangedAt)
			}
		})
		var answer *lectern.Comment
		t.Run("TeacherReplyAnswers", func(t *testing.T) {
			answer = post(t, d, cl.teacher, reply(q, "a rotating vector"))
			got, _ := d.FindComment(ctx, q.ID, cl.author)
			wantStatus(t, got, lectern.QuestionAnswered, cl.teacher, answer.CreatedAt)
			if got.ReplyCount != 2 {
				t.Errorf("ReplyCount = %d, want 2", got.ReplyCount)
			}
		})
		t.Run("AskerResolves", func(t *testing.T) {
			at := stored(clock.Peek())
			got, err := setStatus(t, cl.author, lectern.QuestionResolved)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, got, lectern.QuestionResolved, cl.author, at)
		})
		t.Run("TeacherReopens", func(t *testing.T) {
			at := stored(clock.Peek())
			got, err := setStatus(t, cl.teacher, lectern.QuestionOpen)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, got, lectern.QuestionOpen, cl.teacher, at)
		})
		t.Run("AskerReopensAfterResolving", func(t *testing.T) {
			if _, err := setStatus(t, cl.author, lectern.QuestionResolved); err != nil {
				t.Fatal(err)
			}
			at := stored(clock.Peek())
			got, err := setStatus(t, cl.author, lectern.QuestionOpen)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, got, lectern.QuestionOpen, cl.author, at)
		})
		t.Run("WhoMayNot", func(t *testing.T) {
			_, err := setStatus(t, cl.classmate, lectern.QuestionResolved)
			wantCode(t, err, lectern.EFORBIDDEN)
			_, err = setStatus(t, cl.author, lectern.QuestionAnswered)
			wantCode(t, err, lectern.EFORBIDDEN)
			_, err = setStatus(t, cl.otherTeacher, lectern.QuestionResolved)
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = setStatus(t, cl.teacher, "closed")
			wantCode(t, err, lectern.EINVALID)
			c := post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "not a question"))
			_, err = d.UpdateComment(ctx, c.ID, cl.teacher, lectern.CommentUpdate{Status: ptr(lectern.QuestionResolved)})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateComment(ctx, answer.ID, cl.teacher, lectern.CommentUpdate{Status: ptr(lectern.QuestionResolved)})
			wantCode(t, err, lectern.EINVALID)
		})
		t.Run("AcceptedAnswer", func(t *testing.T) {
			_, err := d.UpdateComment(ctx, q.ID, cl.author, lectern.CommentUpdate{AcceptedID: &answer.ID})
			wantCode(t, err, lectern.EFORBIDDEN)
			other := post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "unrelated"))
			_, err = d.UpdateComment(ctx, q.ID, cl.teacher, lectern.CommentUpdate{AcceptedID: &other.ID})
			wantCode(t, err, lectern.EINVALID)

			at := stored(clock.Peek())
			got, err := d.UpdateComment(ctx, q.ID, cl.teacher, lectern.CommentUpdate{AcceptedID: &answer.ID})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{answer.ID, cl.teacher.ID, &at}, []any{got.AcceptedID, got.AcceptedBy, got.AcceptedAt}); diff != "" {
				t.Errorf("accepted id, by, at (-want +got):\n%s", diff)
			}
			// The question was open: accepting an answer answers it.
			wantStatus(t, got, lectern.QuestionAnswered, cl.teacher, at)

			got, err = d.UpdateComment(ctx, q.ID, cl.teacher, lectern.CommentUpdate{AcceptedID: ptr("")})
			if err != nil {
				t.Fatal(err)
			}
			if got.AcceptedID != "" || got.AcceptedBy != "" || got.AcceptedAt != nil {
				t.Errorf("after withdrawing: accepted %q by %q at %v, want none", got.AcceptedID, got.AcceptedBy, got.AcceptedAt)
			}
		})
		t.Run("NothingToChange", func(t *testing.T) {
			_, err := d.UpdateComment(ctx, q.ID, cl.author, lectern.CommentUpdate{})
			wantCode(t, err, lectern.EINVALID)
		})
	})
}

func TestEditAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		cl := newClass(t, d)
		t.Run("AuthorEdits", func(t *testing.T) {
			c := post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "typo"))
			if c.EditedAt != nil {
				t.Errorf("new entry has EditedAt %v", c.EditedAt)
			}
			at := stored(clock.Peek())
			got, err := d.UpdateComment(ctx, c.ID, cl.author, lectern.CommentUpdate{Body: ptr("fixed")})
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != "fixed" || got.EditedAt == nil || !got.EditedAt.Equal(at) {
				t.Errorf("edited: body %q at %v, want %q at %v", got.Body, got.EditedAt, "fixed", at)
			}
			for name, by := range map[string]*lectern.User{"Teacher": cl.teacher, "Classmate": cl.classmate, "Admin": cl.admin} {
				_, err := d.UpdateComment(ctx, c.ID, by, lectern.CommentUpdate{Body: ptr("vandalised")})
				if lectern.ErrorCode(err) != lectern.EFORBIDDEN {
					t.Errorf("%s edits someone's entry: %v, want forbidden", name, err)
				}
			}
			_, err = d.UpdateComment(ctx, c.ID, cl.author, lectern.CommentUpdate{Body: ptr(strings.Repeat("x", lectern.MaxCommentBody+1))})
			wantCode(t, err, lectern.EINVALID)
		})
		t.Run("SoftDeleteKeepsReplies", func(t *testing.T) {
			q := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 3000, "embarrassing"))
			a := post(t, d, cl.teacher, reply(q, "good question though"))
			_, err := d.DeleteComment(ctx, q.ID, cl.classmate)
			wantCode(t, err, lectern.EFORBIDDEN)
			got, err := d.DeleteComment(ctx, q.ID, cl.author)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Deleted || got.Body != "" || got.ReplyCount != 1 {
				t.Errorf("deleted entry: deleted %v, body %q, %d replies; want deleted, empty, 1 reply", got.Deleted, got.Body, got.ReplyCount)
			}
			list, _, err := d.FindComments(ctx, cl.lesson.ID, cl.classmate, lectern.CommentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var placeholder *lectern.Comment
			for _, c := range list {
				if c.ID == q.ID {
					placeholder = c
				}
			}
			if placeholder == nil || !placeholder.Deleted || placeholder.Body != "" {
				t.Errorf("listing shows deleted entry with a reply as %+v, want a placeholder", placeholder)
			}
			_, replies, err := d.FindThread(ctx, q.ID, cl.classmate)
			if err != nil || len(replies) != 1 || replies[0].Body != a.Body {
				t.Errorf("replies of a deleted entry = %v, %v; want the teacher's reply intact", replies, err)
			}
			_, err = d.UpdateComment(ctx, q.ID, cl.author, lectern.CommentUpdate{Body: ptr("undo")})
			wantCode(t, err, lectern.EINVALID)
			c := reply(q, "late reply")
			wantCode(t, d.CreateComment(ctx, &c, cl.classmate), lectern.EINVALID)
		})
		t.Run("TeacherDeletesAnyEntryOfTheCourse", func(t *testing.T) {
			c := post(t, d, cl.classmate, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "spam"))
			if _, err := d.DeleteComment(ctx, c.ID, cl.teacher); err != nil {
				t.Fatal(err)
			}
			list, _, _ := d.FindComments(ctx, cl.lesson.ID, cl.classmate, lectern.CommentFilter{})
			for _, got := range list {
				if got.ID == c.ID {
					t.Errorf("deleted entry without replies is still listed: %+v", got)
				}
			}
			if _, err := d.DeleteComment(ctx, c.ID, cl.teacher); err != nil {
				t.Errorf("deleting again: %v", err)
			}
			_, err := d.DeleteComment(ctx, c.ID, cl.otherTeacher)
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("DeletingTheAcceptedAnswerWithdrawsIt", func(t *testing.T) {
			q := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 0, "q"))
			a := post(t, d, cl.teacher, reply(q, "wrong answer"))
			if _, err := d.UpdateComment(ctx, q.ID, cl.teacher, lectern.CommentUpdate{AcceptedID: &a.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.DeleteComment(ctx, a.ID, cl.teacher); err != nil {
				t.Fatal(err)
			}
			got, _ := d.FindComment(ctx, q.ID, cl.author)
			if got.AcceptedID != "" || got.ReplyCount != 0 {
				t.Errorf("after deleting the accepted answer: accepted %q, %d replies; want none, 0", got.AcceptedID, got.ReplyCount)
			}
		})
	})
}
