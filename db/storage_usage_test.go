package db_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// TestStorageUsage: a lesson's sizes count once measured for its current
// source and output; a new upload makes the lesson unmeasured again and
// its old size stops counting; usage is summed per course owner.
func TestStorageUsage(t *testing.T) {
	forEachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		alice, bob := newUser(t, d, lectern.RoleTeacher), newUser(t, d, lectern.RoleTeacher)
		la := newLesson(t, d, newCourse(t, d, alice))
		lb := newLesson(t, d, newCourse(t, d, bob))
		newLesson(t, d, newCourse(t, d, bob)) // nothing uploaded: nothing to measure
		for _, l := range []*lectern.Lesson{la, lb} {
			if _, _, _, err := d.StartTranscode(ctx, l.ID, lectern.SourceKey(l.ID, "one")); err != nil {
				t.Fatal(err)
			}
		}
		todo, err := d.FindUnmeasuredLessons(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []db.LessonStorage{{LessonID: la.ID, SourceKey: lectern.SourceKey(la.ID, "one")}}
		if diff := cmp.Diff(want, todo); diff != "" {
			t.Fatalf("unmeasured of alice (-want +got):\n%s", diff)
		}
		record := func(ls db.LessonStorage) {
			t.Helper()
			if err := d.RecordLessonStorage(ctx, ls); err != nil {
				t.Fatal(err)
			}
		}
		record(db.LessonStorage{LessonID: la.ID, SourceKey: lectern.SourceKey(la.ID, "one"), SourceBytes: 5_000_000_000})
		record(db.LessonStorage{LessonID: lb.ID, SourceKey: lectern.SourceKey(lb.ID, "one"), SourceBytes: 300, OutputPrefix: "x/", OutputBytes: 20})
		usage, err := d.StorageUsage(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		// bob's output prefix is not the lesson's (none published): only
		// the source counts.
		if diff := cmp.Diff(map[string]int64{alice.ID: 5_000_000_000, bob.ID: 300}, usage); diff != "" {
			t.Errorf("usage (-want +got):\n%s", diff)
		}
		// A new upload: alice's lesson is unmeasured again, and its old
		// size no longer counts.
		if _, _, _, err := d.StartTranscode(ctx, la.ID, lectern.SourceKey(la.ID, "two")); err != nil {
			t.Fatal(err)
		}
		if usage, _ := d.StorageUsage(ctx, alice.ID); usage[alice.ID] != 0 {
			t.Errorf("alice's usage after a new upload = %d, want 0 until measured", usage[alice.ID])
		}
		todo, _ = d.FindUnmeasuredLessons(ctx, "")
		byLesson := map[string]db.LessonStorage{}
		for _, ls := range todo {
			byLesson[ls.LessonID] = ls
		}
		// Alice's source is new: its size is unknown. Bob's output was
		// measured for another prefix: his source's size is kept.
		wantTodo := map[string]db.LessonStorage{
			la.ID: {LessonID: la.ID, SourceKey: lectern.SourceKey(la.ID, "two")},
			lb.ID: {LessonID: lb.ID, SourceKey: lectern.SourceKey(lb.ID, "one"), SourceBytes: 300},
		}
		if diff := cmp.Diff(wantTodo, byLesson); diff != "" {
			t.Errorf("unmeasured after a new upload (-want +got):\n%s", diff)
		}
		if err := d.DeleteLesson(ctx, la.ID); err != nil {
			t.Fatal(err)
		}
		record(db.LessonStorage{LessonID: la.ID, SourceKey: "gone", SourceBytes: 1}) // deleted meanwhile: no error
	})
}
