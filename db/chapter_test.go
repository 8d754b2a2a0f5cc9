package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// newTimedLesson is a lesson whose recording has been processed: it has a
// duration.
func newTimedLesson(tb testing.TB, d *db.DB, c *lectern.Course, durationMS int64) *lectern.Lesson {
	tb.Helper()
	l := newLesson(tb, d, c)
	l, err := d.UpdateLesson(context.Background(), l.ID, lectern.LessonUpdate{DurationMS: &durationMS})
	if err != nil {
		tb.Fatalf("UpdateLesson: %v", err)
	}
	return l
}

func chapters(lessonID string, startTitle ...any) []lectern.Chapter {
	var chs []lectern.Chapter
	for i := 0; i+1 < len(startTitle); i += 2 {
		chs = append(chs, lectern.Chapter{LessonID: lessonID, StartMS: int64(startTitle[i].(int)), Title: startTitle[i+1].(string)})
	}
	return chs
}

func TestChapters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		teacher := newUser(t, d, lectern.RoleTeacher)
		course := newCourse(t, d, teacher)

		t.Run("SetSortsAndReplaces", func(t *testing.T) {
			l := newTimedLesson(t, d, course, 600_000)
			got, err := d.SetChapters(ctx, l.ID, chapters("", 120_000, " Eigenvalues ", 0, "Intro", 300_000, "Examples"))
			if err != nil {
				t.Fatal(err)
			}
			want := chapters(l.ID, 0, "Intro", 120_000, "Eigenvalues", 300_000, "Examples")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SetChapters (-want +got):\n%s", diff)
			}
			if stored, err := d.FindChapters(ctx, l.ID); err != nil || !cmp.Equal(want, stored) {
				t.Errorf("FindChapters = %v, %v; want %v", stored, err, want)
			}
			// A second set replaces the first entirely.
			if _, err := d.SetChapters(ctx, l.ID, chapters("", 60_000, "Only one")); err != nil {
				t.Fatal(err)
			}
			if stored, _ := d.FindChapters(ctx, l.ID); !cmp.Equal(chapters(l.ID, 60_000, "Only one"), stored) {
				t.Errorf("after replacing: %v", stored)
			}
			if _, err := d.SetChapters(ctx, l.ID, nil); err != nil {
				t.Fatal(err)
			}
			if stored, _ := d.FindChapters(ctx, l.ID); len(stored) != 0 {
				t.Errorf("after clearing: %v, want none", stored)
			}
		})

		t.Run("RefusedChangesNothing", func(t *testing.T) {
			l := newTimedLesson(t, d, course, 600_000)
			before := chapters(l.ID, 0, "Intro", 60_000, "Middle")
			if _, err := d.SetChapters(ctx, l.ID, before); err != nil {
				t.Fatal(err)
			}
			for name, tc := range map[string]struct {
				chs  []lectern.Chapter
				want string
			}{
				"SameStart":  {chapters("", 0, "A", 30_000, "B", 30_000, "C"), "two chapters start at 0:30"},
				"PastTheEnd": {chapters("", 0, "A", 600_000, "B"), "chapter 2 starts at 10:00, after the end of the lesson (10:00)"},
				"Negative":   {chapters("", -1, "A"), "chapter 1 starts before the beginning"},
				"NoTitle":    {chapters("", 0, "A", 5_000, "   "), "chapter 2 needs a title"},
				"LongTitle":  {chapters("", 0, strings.Repeat("é", 201)), "longer than 200 characters"},
				"TwoLines":   {chapters("", 0, "one\ntwo"), "one line"},
				"TooMany":    {make([]lectern.Chapter, 201), "at most 200 chapters"},
			} {
				t.Run(name, func(t *testing.T) {
					_, err := d.SetChapters(ctx, l.ID, tc.chs)
					wantCode(t, err, lectern.EINVALID)
					if msg := lectern.ErrorMessage(err); !strings.Contains(msg, tc.want) {
						t.Errorf("message %q does not contain %q", msg, tc.want)
					}
					if stored, _ := d.FindChapters(ctx, l.ID); !cmp.Equal(before, stored) {
						t.Errorf("refused set changed the chapters to %v", stored)
					}
				})
			}
		})

		t.Run("NeedsADuration", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, err := d.SetChapters(ctx, l.ID, chapters("", 0, "Intro"))
			wantCode(t, err, lectern.EINVALID)
			if _, err := d.SetChapters(ctx, l.ID, nil); err != nil {
				t.Errorf("clearing the chapters of a lesson without duration: %v", err)
			}
		})

		t.Run("UnknownLesson", func(t *testing.T) {
			_, err := d.SetChapters(ctx, "nosuchlesson", chapters("", 0, "Intro"))
			wantCode(t, err, lectern.ENOTFOUND)
		})

		t.Run("CourseChaptersAndCascade", func(t *testing.T) {
			other := newCourse(t, d, teacher)
			a, b := newTimedLesson(t, d, other, 100_000), newTimedLesson(t, d, other, 100_000)
			newTimedLesson(t, d, other, 100_000) // no chapters
			elsewhere := newTimedLesson(t, d, course, 100_000)
			for _, l := range []*lectern.Lesson{a, b, elsewhere} {
				if _, err := d.SetChapters(ctx, l.ID, chapters("", 50_000, "Second", 0, "First")); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.FindCourseChapters(ctx, other.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]lectern.Chapter{
				a.ID: chapters(a.ID, 0, "First", 50_000, "Second"),
				b.ID: chapters(b.ID, 0, "First", 50_000, "Second"),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindCourseChapters (-want +got):\n%s", diff)
			}
			if err := d.DeleteLesson(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := d.FindCourseChapters(ctx, other.ID); len(got) != 1 || got[b.ID] == nil {
				t.Errorf("after deleting a lesson: %v, want only the other lesson's chapters", got)
			}
		})
	})
}

func TestPreferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		u := newUser(t, d, lectern.RoleStudent)
		other := newUser(t, d, lectern.RoleStudent)

		got, err := d.FindPreferences(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := lectern.DefaultPreferences(u.ID); !cmp.Equal(&want, got) {
			t.Errorf("a new user's preferences = %+v, want the defaults %+v", got, want)
		}

		lang, large := "pt-BR", lectern.CaptionLarge
		now := clock.Peek()
		got, err = d.UpdatePreferences(ctx, u.ID, lectern.PreferencesUpdate{CaptionLang: &lang, CaptionSize: &large})
		if err != nil {
			t.Fatal(err)
		}
		want := &lectern.Preferences{UserID: u.ID, CaptionLang: "pt-BR", CaptionSize: large,
			CaptionBackground: lectern.CaptionBackgroundSemi, UpdatedAt: stored(now)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after the first update (-want +got):\n%s", diff)
		}

		// A second update changes only what it names.
		off, solid := "", lectern.CaptionBackgroundSolid
		got, err = d.UpdatePreferences(ctx, u.ID, lectern.PreferencesUpdate{CaptionLang: &off, CaptionBackground: &solid})
		if err != nil {
			t.Fatal(err)
		}
		want.CaptionLang, want.CaptionBackground, want.UpdatedAt = "", solid, got.UpdatedAt
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after the second update (-want +got):\n%s", diff)
		}
		if found, _ := d.FindPreferences(ctx, u.ID); !cmp.Equal(want, found) {
			t.Errorf("FindPreferences = %+v, want %+v", found, want)
		}

		huge := lectern.CaptionSize("huge")
		_, err = d.UpdatePreferences(ctx, u.ID, lectern.PreferencesUpdate{CaptionSize: &huge})
		wantCode(t, err, lectern.EINVALID)
		if found, _ := d.FindPreferences(ctx, u.ID); !cmp.Equal(want, found) {
			t.Errorf("a refused update changed the preferences to %+v", found)
		}
		if found, _ := d.FindPreferences(ctx, other.ID); found.CaptionSize != lectern.CaptionMedium || found.CaptionLang != "" {
			t.Errorf("another user's preferences changed: %+v", found)
		}
	})
}
