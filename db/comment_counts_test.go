package db_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// TestInboxCounts checks the navigation's counts against what the inbox
// and the notifications list show.
func TestInboxCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		counts := func(t *testing.T, u *lectern.User) lectern.InboxCounts {
			t.Helper()
			c, err := d.FindInboxCounts(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			return *c
		}
		q1 := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityTeachers, 1000, "one"))
		q2 := post(t, d, cl.classmate, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 2000, "two"))
		post(t, d, cl.author, entry(cl.lesson, lectern.KindComment, lectern.VisibilityClass, 3000, "not a question"))
		gone := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 4000, "never mind"))
		if _, err := d.DeleteComment(ctx, gone.ID, cl.author); err != nil {
			t.Fatal(err)
		}

		t.Run("TeacherSeesOpenQuestions", func(t *testing.T) {
			if diff := cmp.Diff(lectern.InboxCounts{Teaches: true, OpenQuestions: 2}, counts(t, cl.teacher)); diff != "" {
				t.Errorf("teacher's counts (-want +got):\n%s", diff)
			}
			// A teacher of another course has an inbox, but nothing in it.
			if diff := cmp.Diff(lectern.InboxCounts{Teaches: true}, counts(t, cl.otherTeacher)); diff != "" {
				t.Errorf("other teacher's counts (-want +got):\n%s", diff)
			}
		})
		t.Run("StudentsAndAdminsTeachNothing", func(t *testing.T) {
			for _, u := range []*lectern.User{cl.author, cl.classmate, cl.admin} {
				if diff := cmp.Diff(lectern.InboxCounts{}, counts(t, u)); diff != "" {
					t.Errorf("%s's counts (-want +got):\n%s", u.Name, diff)
				}
			}
		})
		t.Run("AnAnswerMovesOneCountToTheOther", func(t *testing.T) {
			post(t, d, cl.teacher, reply(q1, "here is why"))
			if got := counts(t, cl.teacher); got.OpenQuestions != 1 {
				t.Errorf("teacher's open questions after an answer = %d, want 1", got.OpenQuestions)
			}
			if diff := cmp.Diff(lectern.InboxCounts{UnreadAnswers: 1}, counts(t, cl.author)); diff != "" {
				t.Errorf("asker's counts (-want +got):\n%s", diff)
			}
			inbox, err := d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, l := range inbox.Lessons {
				sum += l.Unanswered
			}
			if got := counts(t, cl.teacher).OpenQuestions; got != sum || len(inbox.Questions) != sum {
				t.Errorf("open questions %d, but the inbox lists %d and counts %d", got, len(inbox.Questions), sum)
			}
			if _, err := d.MarkNotificationsRead(ctx, cl.author.ID, nil); err != nil {
				t.Fatal(err)
			}
			if got := counts(t, cl.author).UnreadAnswers; got != 0 {
				t.Errorf("unread answers after marking all read = %d, want 0", got)
			}
			if got := counts(t, cl.classmate).UnreadAnswers; got != 0 {
				t.Errorf("classmate's unread answers = %d, want 0 (q2 %s is not answered)", got, q2.ID)
			}
		})
	})
}
