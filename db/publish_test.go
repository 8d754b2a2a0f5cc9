package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// TestLessonPublication: a student sees neither a draft nor a scheduled
// lesson, in any read, until its time comes; the course's teachers and
// admins see every lesson; a lesson made a draft again disappears at once.
func TestLessonPublication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		teacher, student := newUser(t, d, lectern.RoleTeacher), newUser(t, d, lectern.RoleStudent)
		admin := newUser(t, d, lectern.RoleAdmin)
		c := newCourse(t, d, teacher)
		join(t, d, c, student)
		word := testenv.Name("zebrafish")
		lesson := func(title string, at *time.Time) *lectern.Lesson {
			t.Helper()
			l := &lectern.Lesson{CourseID: c.ID, Title: title + " " + word, PublishedAt: at}
			if err := d.CreateLesson(ctx, l); err != nil {
				t.Fatal(err)
			}
			dur := int64(60_000)
			if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{DurationMS: &dur}); err != nil {
				t.Fatal(err)
			}
			return l
		}
		published := lesson("Published", new(clock.Peek().Add(-time.Minute)))
		draft := lesson("Draft", nil)
		scheduled := lesson("Scheduled", new(clock.Peek().Add(time.Hour)))
		for _, l := range []*lectern.Lesson{draft, scheduled} {
			q := &lectern.Comment{LessonID: l.ID, Kind: lectern.KindComment, Visibility: lectern.VisibilityClass, AtMS: 1000, Body: "Note " + word}
			if err := d.CreateComment(ctx, q, teacher); err != nil {
				t.Fatal(err)
			}
		}

		// sees lists what u finds of the course, by every read.
		sees := func(u *lectern.User) []string {
			t.Helper()
			var got []string
			lessons, err := d.FindLessons(ctx, c.ID, u)
			if err != nil {
				t.Fatal(err)
			}
			outline, err := d.FindOutline(ctx, c.ID, u)
			if err != nil {
				t.Fatal(err)
			}
			if len(outline.Unsectioned) != len(lessons) {
				t.Errorf("%s: outline has %d lessons, the list %d", u.Name, len(outline.Unsectioned), len(lessons))
			}
			hits := search(t, d, u, word, c.ID)
			for _, l := range []*lectern.Lesson{published, draft, scheduled} {
				_, _, findErr := d.FindLesson(ctx, l.ID, u)
				accessErr := d.CheckLessonAccess(ctx, l.ID, u.ID)
				_, _, commentsErr := d.FindComments(ctx, l.ID, u, lectern.CommentFilter{})
				_, progressErr := d.FindProgress(ctx, u, l.ID)
				listed, hit := false, false
				for _, o := range lessons {
					listed = listed || o.ID == l.ID
				}
				for _, h := range hits {
					hit = hit || h.LessonID == l.ID
				}
				all := []bool{findErr == nil, accessErr == nil, commentsErr == nil, progressErr == nil, listed, hit}
				for i, ok := range all {
					if ok != all[0] {
						t.Errorf("%s, lesson %q: read %d says %v, FindLesson %v (errs %v %v %v %v)", u.Name, l.Title, i, ok, all[0],
							findErr, accessErr, commentsErr, progressErr)
					}
				}
				if all[0] {
					got = append(got, l.Title[:len(l.Title)-len(word)-1])
				} else {
					wantCode(t, findErr, lectern.ENOTFOUND)
					wantCode(t, accessErr, lectern.ENOTFOUND)
					wantCode(t, commentsErr, lectern.ENOTFOUND)
					wantCode(t, progressErr, lectern.ENOTFOUND)
				}
			}
			return got
		}
		want := func(u *lectern.User, titles ...string) {
			t.Helper()
			if diff := cmp.Diff(titles, sees(u)); diff != "" {
				t.Errorf("%s sees (-want +got):\n%s", u.Name, diff)
			}
		}

		t.Run("StudentSeesOnlyPublished", func(t *testing.T) {
			want(student, "Published")
			_, err := d.RecordHeartbeat(ctx, student, draft.ID, lectern.Heartbeat{SessionID: "s1", Seq: 1, PositionMS: 1000})
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("TeacherAndAdminSeeAll", func(t *testing.T) {
			want(teacher, "Published", "Draft", "Scheduled")
			want(admin, "Published", "Draft", "Scheduled")
		})
		t.Run("ScheduledAppearsAtItsTime", func(t *testing.T) {
			clock.Advance(time.Hour)
			want(student, "Published", "Scheduled")
			if _, err := d.RecordHeartbeat(ctx, student, scheduled.ID, lectern.Heartbeat{SessionID: "s1", Seq: 1, PositionMS: 1000}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("DraftAgainDisappears", func(t *testing.T) {
			l, err := d.SetLessonPublication(ctx, published.ID, lectern.Publication{})
			if err != nil {
				t.Fatal(err)
			}
			if l.PublishedAt != nil || l.PublicationState(clock.Peek()) != lectern.LessonDraft {
				t.Errorf("after unpublishing: published_at %v, state %s", l.PublishedAt, l.PublicationState(clock.Peek()))
			}
			want(student, "Scheduled")
			want(teacher, "Published", "Draft", "Scheduled")
		})
		t.Run("WatchBy", func(t *testing.T) {
			by := clock.Peek().Add(48 * time.Hour).Truncate(time.Second)
			if _, err := d.SetLessonPublication(ctx, draft.ID, lectern.Publication{PublishedAt: new(clock.Peek()), WatchBy: &by}); err != nil {
				t.Fatal(err)
			}
			l, _, err := d.FindLesson(ctx, draft.ID, student)
			if err != nil {
				t.Fatal(err)
			}
			if l.WatchBy == nil || !l.WatchBy.Equal(by) {
				t.Errorf("watch_by = %v, want %v", l.WatchBy, by)
			}
			wantCode(t, func() error { _, err := d.SetLessonPublication(ctx, "nosuchlesson", lectern.Publication{}); return err }(), lectern.ENOTFOUND)
		})
	})
}
