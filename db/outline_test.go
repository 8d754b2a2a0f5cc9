package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// lessonIDs is the order FindLessons gives a course's lessons.
func lessonIDs(t *testing.T, d *db.DB, courseID string) []string {
	t.Helper()
	lessons, err := d.FindLessons(context.Background(), courseID, adminView)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, l := range lessons {
		ids = append(ids, l.ID)
	}
	return ids
}

func TestOutline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		teacher := newUser(t, d, lectern.RoleTeacher)
		c := newCourse(t, d, teacher)
		intro := newLesson(t, d, c) // before any section: in no section
		w1, err := d.CreateSection(ctx, c.ID, " Week 1 ")
		if err != nil {
			t.Fatal(err)
		}
		a, b := newLesson(t, d, c), newLesson(t, d, c) // at the end of the last section
		w2, err := d.CreateSection(ctx, c.ID, "Week 2")
		if err != nil {
			t.Fatal(err)
		}
		into1 := &lectern.Lesson{CourseID: c.ID, Title: "Late for week 1", SectionID: w1.ID, PublishedAt: new(time.Unix(0, 0))}
		if err := d.CreateLesson(ctx, into1); err != nil {
			t.Fatal(err)
		}
		o, err := d.FindOutline(ctx, c.ID, adminView)
		if err != nil {
			t.Fatal(err)
		}
		want := &lectern.Outline{CourseID: c.ID, Version: o.Version, Unsectioned: []string{intro.ID},
			Sections: []lectern.OutlineSection{
				{ID: w1.ID, Title: "Week 1", LessonIDs: []string{a.ID, b.ID, into1.ID}},
				{ID: w2.ID, Title: "Week 2", LessonIDs: []string{}},
			}}
		if diff := cmp.Diff(want, o); diff != "" {
			t.Fatalf("outline after creating (-want +got):\n%s", diff)
		}

		// Reorder: sections swapped, a lesson moved to week 2, one out of
		// any section; FindLessons follows.
		next := &lectern.Outline{CourseID: c.ID, Version: o.Version, Unsectioned: []string{b.ID, intro.ID},
			Sections: []lectern.OutlineSection{
				{ID: w2.ID, LessonIDs: []string{into1.ID}},
				{ID: w1.ID, LessonIDs: []string{a.ID}},
			}}
		if err := d.SetOutline(ctx, next); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{b.ID, intro.ID, into1.ID, a.ID}, lessonIDs(t, d, c.ID)); diff != "" {
			t.Errorf("FindLessons after reorder (-want +got):\n%s", diff)
		}
		got, err := d.FindOutline(ctx, c.ID, adminView)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != o.Version+1 || next.Version != got.Version {
			t.Errorf("version after reorder = %d (SetOutline said %d), want %d", got.Version, next.Version, o.Version+1)
		}
		l, err := d.FindLessonByID(ctx, into1.ID)
		if err != nil || l.SectionID != w2.ID {
			t.Errorf("moved lesson's section = %q, %v; want week 2", l.SectionID, err)
		}

		// Refusals change nothing.
		other := newLesson(t, d, newCourse(t, d, teacher))
		for _, tc := range []struct {
			name string
			o    lectern.Outline
			code string
		}{
			{"Stale", lectern.Outline{Version: o.Version, Unsectioned: got.Unsectioned, Sections: got.Sections}, lectern.ECONFLICT},
			{"OtherCoursesLesson", lectern.Outline{Version: got.Version, Unsectioned: append([]string{other.ID}, got.Unsectioned...), Sections: got.Sections}, lectern.ENOTFOUND},
			{"UnknownSection", lectern.Outline{Version: got.Version, Unsectioned: got.Unsectioned, Sections: append([]lectern.OutlineSection{{ID: "nosuch"}}, got.Sections...)}, lectern.ENOTFOUND},
			{"Twice", lectern.Outline{Version: got.Version, Unsectioned: append([]string{a.ID}, got.Unsectioned...), Sections: got.Sections}, lectern.EINVALID},
			{"LeftOut", lectern.Outline{Version: got.Version, Unsectioned: got.Unsectioned[1:], Sections: got.Sections}, lectern.EINVALID},
			{"SectionLeftOut", lectern.Outline{Version: got.Version, Unsectioned: append(got.Unsectioned, into1.ID), Sections: []lectern.OutlineSection{got.Sections[1]}}, lectern.EINVALID},
		} {
			tc.o.CourseID = c.ID
			wantCode(t, d.SetOutline(ctx, &tc.o), tc.code)
			after, err := d.FindOutline(ctx, c.ID, adminView)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, after); diff != "" {
				t.Errorf("%s: outline changed by a refused reorder (-before +after):\n%s", tc.name, diff)
			}
		}

		// Rename; delete keeps the lessons, at the end of "no section".
		if _, err := d.RenameSection(ctx, c.ID, w1.ID, "  "); lectern.ErrorCode(err) != lectern.EINVALID {
			t.Errorf("rename to blank: %v, want invalid", err)
		}
		if _, err := d.RenameSection(ctx, newCourse(t, d, teacher).ID, w1.ID, "Mine now"); lectern.ErrorCode(err) != lectern.ENOTFOUND {
			t.Errorf("rename through another course: %v, want not found", err)
		}
		if s, err := d.RenameSection(ctx, c.ID, w1.ID, "Week one"); err != nil || s.Title != "Week one" {
			t.Errorf("rename = %+v, %v", s, err)
		}
		wantCode(t, d.DeleteSection(ctx, newCourse(t, d, teacher).ID, w2.ID), lectern.ENOTFOUND)
		if err := d.DeleteSection(ctx, c.ID, w2.ID); err != nil {
			t.Fatal(err)
		}
		final, err := d.FindOutline(ctx, c.ID, adminView)
		if err != nil {
			t.Fatal(err)
		}
		wantFinal := &lectern.Outline{CourseID: c.ID, Version: got.Version + 1, Unsectioned: []string{b.ID, intro.ID, into1.ID},
			Sections: []lectern.OutlineSection{{ID: w1.ID, Title: "Week one", LessonIDs: []string{a.ID}}}}
		if diff := cmp.Diff(wantFinal, final); diff != "" {
			t.Errorf("outline after deleting week 2 (-want +got):\n%s", diff)
		}
		if _, err := d.CreateSection(ctx, c.ID, ""); lectern.ErrorCode(err) != lectern.EINVALID {
			t.Errorf("blank section title: %v, want invalid", err)
		}
	})
}
