package db_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// thread is what TestVisibility posts: one entry of each visibility by the
// author, a teacher's answer to the teachers-only question, and a
// classmate's question for the class.
type thread struct {
	classComment, shyQuestion, answer, privateNote, classQuestion *lectern.Comment
}

func postThread(t *testing.T, d *db.DB, cl *class) *thread {
	t.Helper()
	th := &thread{
		classComment: post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 1000, "nice demo")),
		shyQuestion:  post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityTeachers, 5000, "I am lost")),
		privateNote:  post(t, d, cl.author, entry(cl.lesson, lectern.KindNote, lectern.VisibilityPrivate, 5500, "revise this")),
	}
	th.answer = post(t, d, cl.teacher, reply(th.shyQuestion, "see chapter 2"))
	th.classQuestion = post(t, d, cl.classmate, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 65000, "units?"))
	return th
}

func mark(startMS int64, kind lectern.CommentKind, status lectern.QuestionStatus, n int) lectern.Marker {
	return lectern.Marker{StartMS: startMS, Kind: kind, Status: status, Count: n}
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		th := postThread(t, d, cl)
		all := []*lectern.Comment{th.classComment, th.shyQuestion, th.answer, th.privateNote, th.classQuestion}
		for _, pov := range []struct {
			name    string
			viewer  *lectern.User
			sees    []*lectern.Comment // in listing order, replies after their thread
			markers []lectern.Marker
			inbox   []*lectern.Comment
		}{
			{"Author", cl.author,
				[]*lectern.Comment{th.classComment, th.shyQuestion, th.answer, th.privateNote, th.classQuestion},
				[]lectern.Marker{mark(0, "comment", "", 1), mark(0, "note", "", 1), mark(0, "question", "answered", 1), mark(60000, "question", "open", 1)},
				nil},
			{"Classmate", cl.classmate,
				[]*lectern.Comment{th.classComment, th.classQuestion},
				[]lectern.Marker{mark(0, "comment", "", 1), mark(60000, "question", "open", 1)},
				nil},
			{"CourseTeacher", cl.teacher,
				[]*lectern.Comment{th.classComment, th.shyQuestion, th.answer, th.classQuestion},
				[]lectern.Marker{mark(0, "comment", "", 1), mark(0, "question", "answered", 1), mark(60000, "question", "open", 1)},
				[]*lectern.Comment{th.classQuestion}},
			// An admin sees what the course's teachers see, but has no inbox
			// in a course they do not teach; private notes stay private.
			{"Admin", cl.admin,
				[]*lectern.Comment{th.classComment, th.shyQuestion, th.answer, th.classQuestion},
				[]lectern.Marker{mark(0, "comment", "", 1), mark(0, "question", "answered", 1), mark(60000, "question", "open", 1)},
				nil},
		} {
			t.Run(pov.name, func(t *testing.T) {
				t.Run("Listing", func(t *testing.T) {
					roots, _, err := d.FindComments(ctx, cl.lesson.ID, pov.viewer, lectern.CommentFilter{})
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, r := range roots {
						got = append(got, r.ID)
						_, replies, err := d.FindThread(ctx, r.ID, pov.viewer)
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, ids(replies)...)
					}
					if diff := cmp.Diff(ids(pov.sees), got); diff != "" {
						t.Errorf("entries seen (-want +got):\n%s", diff)
					}
				})
				t.Run("FindComment", func(t *testing.T) {
					visible := map[string]bool{}
					for _, c := range pov.sees {
						visible[c.ID] = true
					}
					for _, c := range all {
						_, err := d.FindComment(ctx, c.ID, pov.viewer)
						if visible[c.ID] && err != nil {
							t.Errorf("FindComment(%q): %v, want it", c.Body, err)
						}
						if !visible[c.ID] && lectern.ErrorCode(err) != lectern.ENOTFOUND {
							t.Errorf("FindComment(%q): %v, want not found", c.Body, err)
						}
					}
				})
				t.Run("Markers", func(t *testing.T) {
					got, err := d.FindMarkers(ctx, cl.lesson.ID, pov.viewer, 60000)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(pov.markers, got); diff != "" {
						t.Errorf("markers (-want +got):\n%s", diff)
					}
				})
				t.Run("Inbox", func(t *testing.T) {
					inbox, err := d.FindInbox(ctx, pov.viewer, lectern.InboxFilter{})
					if err != nil {
						t.Fatal(err)
					}
					var got []*lectern.Comment
					for _, q := range inbox.Questions {
						got = append(got, &q.Comment)
					}
					if diff := cmp.Diff(ids(pov.inbox), ids(got)); diff != "" {
						t.Errorf("inbox (-want +got):\n%s", diff)
					}
				})
			})
		}
		t.Run("OtherCourseTeacher", func(t *testing.T) {
			_, _, err := d.FindComments(ctx, cl.lesson.ID, cl.otherTeacher, lectern.CommentFilter{})
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.FindMarkers(ctx, cl.lesson.ID, cl.otherTeacher, 60000)
			wantCode(t, err, lectern.ENOTFOUND)
			for _, c := range all {
				_, err := d.FindComment(ctx, c.ID, cl.otherTeacher)
				wantCode(t, err, lectern.ENOTFOUND)
			}
			inbox, err := d.FindInbox(ctx, cl.otherTeacher, lectern.InboxFilter{})
			if err != nil || len(inbox.Questions) != 0 || len(inbox.Lessons) != 0 {
				t.Errorf("other course's teacher's inbox = %+v, %v; want empty", inbox, err)
			}
		})
		t.Run("TeachersOnlyQuestionInInbox", func(t *testing.T) {
			inbox, err := d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{Status: lectern.QuestionAnswered})
			if err != nil {
				t.Fatal(err)
			}
			if len(inbox.Questions) != 1 || inbox.Questions[0].ID != th.shyQuestion.ID {
				t.Fatalf("answered questions in the inbox = %+v, want the shy question", inbox.Questions)
			}
			q := inbox.Questions[0]
			if q.CourseTitle != cl.course.Title || q.LessonTitle != cl.lesson.Title || q.AtMS != 5000 || q.AuthorName != "Ada Author" {
				t.Errorf("inbox entry = %+v, want course %q, lesson %q, at 5000, by Ada Author", q, cl.course.Title, cl.lesson.Title)
			}
		})
	})
}

func TestInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		second := readyLesson(t, d, cl.course, lessonMS)
		other := newCourse(t, d, cl.teacher) // the teacher's second course
		join(t, d, other, cl.classmate)
		third := readyLesson(t, d, other, lessonMS)
		var want []string
		for i, l := range []*lectern.Lesson{second, cl.lesson, third, cl.lesson} {
			q := post(t, d, cl.classmate, entry(l, lectern.KindQuestion, lectern.VisibilityClass, int64(i)*1000, "q"))
			want = append(want, q.ID)
		}
		answered := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityTeachers, 0, "answered"))
		post(t, d, cl.teacher, reply(answered, "done"))
		deleted := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 0, "never mind"))
		if _, err := d.DeleteComment(ctx, deleted.ID, cl.author); err != nil {
			t.Fatal(err)
		}
		post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 0, "not a question"))

		t.Run("OldestFirstAcrossCoursesInPages", func(t *testing.T) {
			var got []string
			f := lectern.InboxFilter{Status: lectern.QuestionOpen, Limit: 3}
			for range 5 {
				inbox, err := d.FindInbox(ctx, cl.teacher, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range inbox.Questions {
					got = append(got, q.ID)
				}
				if f.After = inbox.Next; f.After == "" {
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("open questions (-want +got):\n%s", diff)
			}
		})
		t.Run("UnansweredPerLesson", func(t *testing.T) {
			inbox, err := d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, l := range inbox.Lessons {
				got[l.LessonID] = l.Unanswered
			}
			if diff := cmp.Diff(map[string]int{cl.lesson.ID: 2, second.ID: 1, third.ID: 1}, got); diff != "" {
				t.Errorf("unanswered per lesson (-want +got):\n%s", diff)
			}
		})
		t.Run("BadStatusOrCursor", func(t *testing.T) {
			_, err := d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{Status: "stale"})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{After: "not a cursor"})
			wantCode(t, err, lectern.EINVALID)
		})
	})
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		q1 := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityTeachers, 12000, "first"))
		q2 := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 30000, "second"))
		unread := func(t *testing.T, u *lectern.User) []*lectern.Notification {
			t.Helper()
			n, err := d.FindNotifications(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		questions := func(notes []*lectern.Notification) []string {
			out := []string{}
			for _, n := range notes {
				out = append(out, n.QuestionID)
			}
			return out
		}
		t.Run("OnlyTeachersAnswersCount", func(t *testing.T) {
			post(t, d, cl.classmate, reply(q2, "same question"))
			post(t, d, cl.author, reply(q1, "more detail"))
			if n := unread(t, cl.author); len(n) != 0 {
				t.Errorf("notifications after replies by the asker and a classmate = %v, want none", questions(n))
			}
		})
		t.Run("AnsweredWithWhereAndWhat", func(t *testing.T) {
			post(t, d, cl.teacher, reply(q1, "draft answer"))
			a := post(t, d, cl.teacher, reply(q1, "better answer"))
			got := unread(t, cl.author)
			if len(got) != 1 {
				t.Fatalf("notifications = %v, want one for the first question", questions(got))
			}
			want := &lectern.Notification{ID: got[0].ID, QuestionID: q1.ID, CourseID: cl.course.ID, CourseTitle: cl.course.Title,
				LessonID: cl.lesson.ID, LessonTitle: cl.lesson.Title, AtMS: 12000, Question: "first",
				AnswerID: a.ID, Answer: "better answer", AnsweredBy: "Tess Teacher", AnsweredAt: a.CreatedAt}
			if diff := cmp.Diff(want, got[0]); diff != "" {
				t.Errorf("notification (-want +got):\n%s", diff)
			}
			if n := unread(t, cl.classmate); len(n) != 0 {
				t.Errorf("classmate's notifications = %v, want none", questions(n))
			}
		})
		t.Run("MarkRead", func(t *testing.T) {
			post(t, d, cl.teacher, reply(q2, "answer two"))
			got := unread(t, cl.author)
			if diff := cmp.Diff([]string{q2.ID, q1.ID}, questions(got)); diff != "" {
				t.Fatalf("notifications, newest first (-want +got):\n%s", diff)
			}
			if n, err := d.MarkNotificationsRead(ctx, cl.classmate.ID, []string{got[0].ID}); err != nil || n != 0 {
				t.Errorf("a classmate marking the author's notification = %d, %v; want 0", n, err)
			}
			if n, err := d.MarkNotificationsRead(ctx, cl.author.ID, []string{got[0].ID}); err != nil || n != 1 {
				t.Errorf("MarkNotificationsRead(one) = %d, %v; want 1", n, err)
			}
			if diff := cmp.Diff([]string{q1.ID}, questions(unread(t, cl.author))); diff != "" {
				t.Errorf("after reading one (-want +got):\n%s", diff)
			}
			post(t, d, cl.teacher, reply(q2, "one more thing"))
			if diff := cmp.Diff([]string{q2.ID, q1.ID}, questions(unread(t, cl.author))); diff != "" {
				t.Errorf("a new answer makes a read question unread (-want +got):\n%s", diff)
			}
			if n, err := d.MarkNotificationsRead(ctx, cl.author.ID, nil); err != nil || n != 2 {
				t.Errorf("MarkNotificationsRead(all) = %d, %v; want 2", n, err)
			}
			if n := unread(t, cl.author); len(n) != 0 {
				t.Errorf("after reading all: %v", questions(n))
			}
		})
		t.Run("DeletedAnswerIsNoNews", func(t *testing.T) {
			a := post(t, d, cl.teacher, reply(q1, "oops, wrong thread"))
			if _, err := d.DeleteComment(ctx, a.ID, cl.teacher); err != nil {
				t.Fatal(err)
			}
			if n := unread(t, cl.author); len(n) != 0 {
				t.Errorf("notifications after the answer was deleted = %v, want none", questions(n))
			}
		})
	})
}
