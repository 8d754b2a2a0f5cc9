package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestUpdateCourse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		teacher := newUser(t, d, lectern.RoleTeacher)
		c := newCourse(t, d, teacher)
		if c.TimeZone != "UTC" {
			t.Errorf("new course's time zone = %q, want UTC", c.TimeZone)
		}
		err := d.UpdateCourse(ctx, c.ID, lectern.CourseUpdate{Title: ptr("Waves II"), Description: ptr(""), TimeZone: ptr("America/Sao_Paulo")})
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.FindCourse(ctx, c.ID, teacher)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Waves II" || got.Description != "" || got.TimeZone != "America/Sao_Paulo" {
			t.Errorf("after update: title %q, description %q, time zone %q", got.Title, got.Description, got.TimeZone)
		}
		t.Run("Invalid", func(t *testing.T) {
			for _, upd := range []lectern.CourseUpdate{
				{TimeZone: ptr("Mars/Olympus_Mons")}, {TimeZone: ptr("")}, {TimeZone: ptr("Local")},
				{Title: ptr(""), TimeZone: ptr("UTC")}, {},
			} {
				wantCode(t, d.UpdateCourse(ctx, c.ID, upd), lectern.EINVALID)
			}
			again, _ := d.FindCourse(ctx, c.ID, teacher)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("refused updates changed the course (-before +after):\n%s", diff)
			}
		})
		wantCode(t, d.UpdateCourse(ctx, "nosuchcourse", lectern.CourseUpdate{Title: ptr("x")}), lectern.ENOTFOUND)
	})
}

func TestArchiveCourse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		cl := newClass(t, d)
		q := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 1000, "why?"))
		stranger := newUser(t, d, lectern.RoleStudent)
		archivedAt := stored(clock.Peek())
		if err := d.SetCourseArchived(ctx, cl.course.ID, true); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		// Archiving twice keeps the first time.
		if err := d.SetCourseArchived(ctx, cl.course.ID, true); err != nil {
			t.Fatal(err)
		}
		t.Run("HiddenFromMainList", func(t *testing.T) {
			for _, u := range []*lectern.User{cl.teacher, cl.author} {
				main, err := d.FindCourses(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				archived, err := d.FindArchivedCourses(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				if len(main) != 0 || len(archived) != 1 || archived[0].ID != cl.course.ID {
					t.Fatalf("%s: main list %d courses, archived %v; want 0 and the course", u.Name, len(main), archived)
				}
				if archived[0].ArchivedAt == nil || !archived[0].ArchivedAt.Equal(archivedAt) {
					t.Errorf("archived_at = %v, want %v", archived[0].ArchivedAt, archivedAt)
				}
			}
		})
		t.Run("StillWatchable", func(t *testing.T) {
			if _, _, err := d.FindLesson(ctx, cl.lesson.ID, cl.author); err != nil {
				t.Error(err)
			}
			if err := d.CheckLessonAccess(ctx, cl.lesson.ID, cl.author.ID); err != nil {
				t.Error(err)
			}
		})
		t.Run("ArchivedCourseOf", func(t *testing.T) {
			for _, tc := range []struct {
				kind, id string
				viewer   *lectern.User
				want     bool
			}{
				{"course", cl.course.ID, cl.teacher, true},
				{"lesson", cl.lesson.ID, cl.author, true},
				{"comment", q.ID, cl.classmate, true},
				{"lesson", cl.lesson.ID, cl.admin, true},
				{"lesson", cl.lesson.ID, stranger, false}, // tells a stranger nothing
				{"course", "nosuchcourse", cl.teacher, false},
			} {
				got, err := d.ArchivedCourseOf(ctx, tc.kind, tc.id, tc.viewer)
				if err != nil || got != tc.want {
					t.Errorf("ArchivedCourseOf(%s, %s, %s) = %v, %v; want %v", tc.kind, tc.id, tc.viewer.Name, got, err, tc.want)
				}
			}
		})
		t.Run("NobodyJoins", func(t *testing.T) {
			_, err := d.JoinCourse(ctx, cl.course.JoinCode, stranger.ID)
			wantCode(t, err, lectern.ECONFLICT)
		})
		t.Run("Restore", func(t *testing.T) {
			if err := d.SetCourseArchived(ctx, cl.course.ID, false); err != nil {
				t.Fatal(err)
			}
			main, _ := d.FindCourses(ctx, cl.author)
			if len(main) != 1 || main[0].ArchivedAt != nil {
				t.Errorf("after restore, main list = %v", main)
			}
			if got, _ := d.ArchivedCourseOf(ctx, "course", cl.course.ID, cl.teacher); got {
				t.Error("restored course still archived")
			}
		})
		wantCode(t, d.SetCourseArchived(ctx, "nosuchcourse", true), lectern.ENOTFOUND)
	})
}

func TestTrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("LessonGoneForEveryoneThenRestored", func(t *testing.T) {
			cl := newClass(t, d)
			other := newLesson(t, d, cl.course)
			q := post(t, d, cl.author, entry(cl.lesson, lectern.KindQuestion, lectern.VisibilityClass, 1000, "why?"))
			deletedAt := stored(clock.Peek())
			if err := d.TrashLesson(ctx, cl.lesson.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			wantCode(t, d.TrashLesson(ctx, cl.lesson.ID, cl.teacher.ID), lectern.ENOTFOUND)
			for _, u := range []*lectern.User{cl.teacher, cl.author, cl.admin} {
				_, _, err := d.FindLesson(ctx, cl.lesson.ID, u)
				wantCode(t, err, lectern.ENOTFOUND)
				wantCode(t, d.CheckLessonAccess(ctx, cl.lesson.ID, u.ID), lectern.ENOTFOUND)
				_, err = d.FindComment(ctx, q.ID, u)
				wantCode(t, err, lectern.ENOTFOUND)
			}
			lessons, err := d.FindLessons(ctx, cl.course.ID)
			if err != nil || len(lessons) != 1 || lessons[0].ID != other.ID {
				t.Errorf("FindLessons = %v, %v; want only the other lesson", lessons, err)
			}
			inbox, err := d.FindInbox(ctx, cl.teacher, lectern.InboxFilter{Status: lectern.QuestionOpen})
			if err != nil || len(inbox.Questions) != 0 || len(inbox.Lessons) != 0 {
				t.Errorf("inbox = %+v, %v; want the trashed lesson's question gone", inbox, err)
			}
			err = d.CreateComment(ctx, &lectern.Comment{LessonID: cl.lesson.ID, Kind: lectern.KindComment,
				Visibility: lectern.VisibilityClass, Body: "hello?"}, cl.author)
			wantCode(t, err, lectern.ENOTFOUND)

			want := []*lectern.TrashItem{{Kind: lectern.TrashLesson, ID: cl.lesson.ID, Title: cl.lesson.Title,
				CourseID: cl.course.ID, CourseTitle: cl.course.Title, DeletedAt: deletedAt, DeletedBy: cl.teacher.ID}}
			for _, u := range []*lectern.User{cl.teacher, cl.admin} {
				got, err := d.FindTrash(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("FindTrash(%s) (-want +got):\n%s", u.Name, diff)
				}
			}
			for _, u := range []*lectern.User{cl.author, cl.otherTeacher} {
				if got, _ := d.FindTrash(ctx, u); len(got) != 0 {
					t.Errorf("FindTrash(%s) = %v; want nothing", u.Name, got)
				}
				_, err := d.FindTrashItem(ctx, lectern.TrashLesson, cl.lesson.ID, u)
				wantCode(t, err, lectern.ENOTFOUND)
			}

			clock.Advance(29 * 24 * time.Hour)
			if err := d.RestoreFromTrash(ctx, lectern.TrashLesson, cl.lesson.ID, clock.Peek().Add(-30*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.FindLesson(ctx, cl.lesson.ID, cl.author); err != nil {
				t.Errorf("restored lesson: %v", err)
			}
			if c, err := d.FindComment(ctx, q.ID, cl.classmate); err != nil || c.Body != "why?" {
				t.Errorf("restored lesson's question = %v, %v", c, err)
			}
			if got, _ := d.FindTrash(ctx, cl.teacher); len(got) != 0 {
				t.Errorf("trash after restore = %v", got)
			}
		})
		t.Run("NoRestorePastRetention", func(t *testing.T) {
			cl := newClass(t, d)
			if err := d.TrashLesson(ctx, cl.lesson.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			clock.Advance(31 * 24 * time.Hour)
			err := d.RestoreFromTrash(ctx, lectern.TrashLesson, cl.lesson.ID, clock.Peek().Add(-30*24*time.Hour))
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("ExpiredAtOnceByAnAdmin", func(t *testing.T) {
			cl := newClass(t, d)
			if n, err := d.ExpireTrash(ctx, lectern.TrashLesson, cl.lesson.ID); err != nil || n != 0 {
				t.Errorf("ExpireTrash of a lesson not in the trash = %d, %v; want 0", n, err)
			}
			if err := d.TrashLesson(ctx, cl.lesson.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			if n, err := d.ExpireTrash(ctx, lectern.TrashLesson, cl.lesson.ID); err != nil || n != 1 {
				t.Fatalf("ExpireTrash = %d, %v; want 1", n, err)
			}
			since := clock.Peek().Add(-30 * 24 * time.Hour)
			wantCode(t, d.RestoreFromTrash(ctx, lectern.TrashLesson, cl.lesson.ID, since), lectern.ENOTFOUND)
			if ok, err := d.PurgeTrash(ctx, lectern.TrashLesson, cl.lesson.ID, since); err != nil || !ok {
				t.Errorf("PurgeTrash of the expired lesson = %v, %v", ok, err)
			}
		})
		t.Run("CourseTakesItsLessons", func(t *testing.T) {
			cl := newClass(t, d)
			if err := d.TrashCourse(ctx, cl.course.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindCourse(ctx, cl.course.ID, cl.author)
			wantCode(t, err, lectern.ENOTFOUND)
			_, _, err = d.FindLesson(ctx, cl.lesson.ID, cl.teacher)
			wantCode(t, err, lectern.ENOTFOUND)
			wantCode(t, d.CheckLessonAccess(ctx, cl.lesson.ID, cl.author.ID), lectern.ENOTFOUND)
			_, err = d.JoinCourse(ctx, cl.course.JoinCode, newUser(t, d, lectern.RoleStudent).ID)
			wantCode(t, err, lectern.ENOTFOUND)
			if got, _ := d.FindCourses(ctx, cl.author); len(got) != 0 {
				t.Errorf("student's courses = %v", got)
			}
			got, err := d.FindTrash(ctx, cl.teacher)
			if err != nil || len(got) != 1 || got[0].Kind != lectern.TrashCourse || got[0].ID != cl.course.ID {
				t.Fatalf("teacher's trash = %v, %v; want the course", got, err)
			}
			_, err = d.FindTrashItem(ctx, lectern.TrashCourse, cl.course.ID, cl.author)
			wantCode(t, err, lectern.ENOTFOUND)
			if err := d.RestoreFromTrash(ctx, lectern.TrashCourse, cl.course.ID, clock.Peek().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := d.CheckLessonAccess(ctx, cl.lesson.ID, cl.author.ID); err != nil {
				t.Errorf("restored course's lesson: %v", err)
			}
		})
		t.Run("Purge", func(t *testing.T) {
			cl := newClass(t, d)
			kept := newLesson(t, d, cl.course)
			if err := d.TrashLesson(ctx, cl.lesson.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			gone := newClass(t, d)
			if err := d.TrashCourse(ctx, gone.course.ID, gone.teacher.ID); err != nil {
				t.Fatal(err)
			}
			cut := clock.Peek().Add(time.Microsecond)
			due, err := d.FindExpiredTrash(ctx, cut, 100)
			if err != nil {
				t.Fatal(err)
			}
			wantDue := []db.ExpiredTrash{{Kind: lectern.TrashCourse, ID: gone.course.ID}, {Kind: lectern.TrashLesson, ID: cl.lesson.ID}}
			// Other subtests' items may be due too; ours must be there.
			for _, w := range wantDue {
				found := false
				for _, e := range due {
					found = found || e == w
				}
				if !found {
					t.Errorf("FindExpiredTrash lacks %v (got %v)", w, due)
				}
			}
			ids, err := d.FindTrashLessonIDs(ctx, lectern.TrashCourse, gone.course.ID)
			if err != nil || len(ids) != 1 || ids[0] != gone.lesson.ID {
				t.Errorf("course's lessons to purge = %v, %v", ids, err)
			}
			for _, e := range wantDue {
				ok, err := d.PurgeTrash(ctx, e.Kind, e.ID, cut)
				if err != nil || !ok {
					t.Errorf("PurgeTrash(%v) = %v, %v", e, ok, err)
				}
				if ok, err := d.PurgeTrash(ctx, e.Kind, e.ID, cut); err != nil || ok {
					t.Errorf("PurgeTrash(%v) again = %v, %v; want nothing to do", e, ok, err)
				}
			}
			for _, id := range []string{cl.lesson.ID, gone.lesson.ID} {
				_, err := d.FindLessonByID(ctx, id)
				wantCode(t, err, lectern.ENOTFOUND)
			}
			if _, err := d.FindLessonByID(ctx, kept.ID); err != nil {
				t.Errorf("a lesson not in the trash was purged: %v", err)
			}
			// Nothing is purged before its time.
			if err := d.TrashLesson(ctx, kept.ID, cl.teacher.ID); err != nil {
				t.Fatal(err)
			}
			if ok, err := d.PurgeTrash(ctx, lectern.TrashLesson, kept.ID, clock.Peek().Add(-time.Second)); err != nil || ok {
				t.Errorf("PurgeTrash before the cut-off = %v, %v", ok, err)
			}
		})
	})
}
