package db_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// captionSave is a save of n cues in lang by author, stored under a key
// named for tag.
func captionSave(l *lectern.Lesson, lang, tag string, author *lectern.User, cues ...string) db.CaptionSave {
	s := db.CaptionSave{
		LessonID: l.ID, Lang: lang, ObjectKey: lectern.CaptionKey(l.ID, lang, tag),
		Source: lectern.CaptionFromUpload, DefaultLabel: "Label " + lang,
	}
	if author != nil {
		s.AuthorID = author.ID
	}
	for i, text := range cues {
		s.Cues = append(s.Cues, lectern.CaptionCue{StartMS: int64(i) * 2000, EndMS: int64(i)*2000 + 1500, Text: text})
	}
	return s
}

func mustSave(t *testing.T, d *db.DB, s db.CaptionSave) *lectern.CaptionTrack {
	t.Helper()
	tr, _, err := d.SaveCaptions(context.Background(), s)
	if err != nil {
		t.Fatalf("SaveCaptions: %v", err)
	}
	return tr
}

func TestCaptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		teacher := newNamedUser(t, d, lectern.RoleTeacher, "Ada")
		course := newCourse(t, d, teacher)

		t.Run("VersionsKeptCuesInStep", func(t *testing.T) {
			l := newLesson(t, d, course)
			created := clock.Peek()
			tr, isNew, err := d.SaveCaptions(ctx, captionSave(l, "en", "a", teacher, "one", "two"))
			if err != nil || !isNew {
				t.Fatalf("first save: new=%v err=%v", isNew, err)
			}
			want := &lectern.CaptionTrack{LessonID: l.ID, Lang: "en", Label: "Label en", Status: lectern.CaptionPublished,
				Version: 1, ObjectKey: lectern.CaptionKey(l.ID, "en", "a"), Cues: 2, CreatedAt: stored(created), UpdatedAt: stored(created)}
			if diff := cmp.Diff(want, tr); diff != "" {
				t.Errorf("first save (-want +got):\n%s", diff)
			}
			clock.Advance(time.Hour)
			edited := clock.Peek()
			s := captionSave(l, "en", "b", teacher, "uno", "dos", "tres")
			s.Source = lectern.CaptionFromEditor
			tr, isNew, err = d.SaveCaptions(ctx, s)
			if err != nil || isNew {
				t.Fatalf("second save: new=%v err=%v", isNew, err)
			}
			want.Version, want.ObjectKey, want.Cues, want.UpdatedAt = 2, lectern.CaptionKey(l.ID, "en", "b"), 3, stored(edited)
			if diff := cmp.Diff(want, tr); diff != "" {
				t.Errorf("second save (-want +got):\n%s", diff)
			}
			if got, err := d.FindCaptionTrack(ctx, l.ID, "en"); err != nil || !cmp.Equal(want, got) {
				t.Errorf("FindCaptionTrack = %+v, %v; want %+v", got, err, want)
			}
			cues, err := d.FindCaptionCues(ctx, l.ID, "en")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s.Cues, cues); diff != "" {
				t.Errorf("cues after the second save (-want +got):\n%s", diff)
			}
			versions, err := d.FindCaptionVersions(ctx, l.ID, "en")
			if err != nil {
				t.Fatal(err)
			}
			wantVersions := []*lectern.CaptionVersion{
				{LessonID: l.ID, Lang: "en", Version: 2, ObjectKey: lectern.CaptionKey(l.ID, "en", "b"), Cues: 3,
					Source: lectern.CaptionFromEditor, AuthorID: &teacher.ID, AuthorName: "Ada", CreatedAt: stored(edited)},
				{LessonID: l.ID, Lang: "en", Version: 1, ObjectKey: lectern.CaptionKey(l.ID, "en", "a"), Cues: 2,
					Source: lectern.CaptionFromUpload, AuthorID: &teacher.ID, AuthorName: "Ada", CreatedAt: stored(created)},
			}
			if diff := cmp.Diff(wantVersions, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			// A restore of version 1: a new version with its object.
			r := captionSave(l, "en", "a", nil, "one", "two")
			r.Source, r.RestoredFrom = lectern.CaptionFromRestore, 1
			if tr = mustSave(t, d, r); tr.Version != 3 || tr.ObjectKey != lectern.CaptionKey(l.ID, "en", "a") || tr.Cues != 2 {
				t.Errorf("after restore: %+v", tr)
			}
			v3, err := d.FindCaptionVersion(ctx, l.ID, "en", 3)
			if err != nil || v3.RestoredFrom == nil || *v3.RestoredFrom != 1 || v3.AuthorID != nil || v3.Source != lectern.CaptionFromRestore {
				t.Errorf("version 3 = %+v, %v", v3, err)
			}
			if cues, _ := d.FindCaptionCues(ctx, l.ID, "en"); !cmp.Equal(r.Cues, cues) {
				t.Errorf("cues after restore = %v, want %v", cues, r.Cues)
			}
			_, err = d.FindCaptionVersion(ctx, l.ID, "en", 4)
			wantCode(t, err, lectern.ENOTFOUND)
		})

		t.Run("DefaultIsUnique", func(t *testing.T) {
			l := newLesson(t, d, course)
			yes := true
			en := captionSave(l, "en", "en1", teacher, "hello")
			en.Default = &yes
			mustSave(t, d, en)
			fr := captionSave(l, "fr", "fr1", teacher, "bonjour")
			fr.Default = &yes
			mustSave(t, d, fr)
			mustSave(t, d, captionSave(l, "de", "de1", teacher, "hallo"))
			wantDefaults(t, d, l, "fr")
			if _, err := d.UpdateCaptionTrack(ctx, l.ID, "de", db.CaptionTrackUpdate{Default: &yes}); err != nil {
				t.Fatal(err)
			}
			wantDefaults(t, d, l, "de")
			no := false
			if _, err := d.UpdateCaptionTrack(ctx, l.ID, "de", db.CaptionTrackUpdate{Default: &no}); err != nil {
				t.Fatal(err)
			}
			wantDefaults(t, d, l)
			// Another lesson's default is its own.
			other := newLesson(t, d, course)
			o := captionSave(other, "en", "o", teacher, "x")
			o.Default = &yes
			mustSave(t, d, o)
			if _, err := d.UpdateCaptionTrack(ctx, l.ID, "en", db.CaptionTrackUpdate{Default: &yes}); err != nil {
				t.Fatal(err)
			}
			wantDefaults(t, d, l, "en")
			wantDefaults(t, d, other, "en")
		})

		t.Run("Drafts", func(t *testing.T) {
			l := newLesson(t, d, course)
			yes, draft, published := true, lectern.CaptionDraft, lectern.CaptionPublished
			mustSave(t, d, captionSave(l, "en", "en", teacher, "hello"))
			s := captionSave(l, "es", "es", nil, "hola")
			s.Source, s.Status = lectern.CaptionFromRecognizer, &draft
			mustSave(t, d, s)
			wantLangs(t, d, l, false, "en")
			wantLangs(t, d, l, true, "en", "es")
			// A draft cannot be the default, whichever way it is asked.
			_, err := d.UpdateCaptionTrack(ctx, l.ID, "es", db.CaptionTrackUpdate{Default: &yes})
			wantCode(t, err, lectern.EINVALID)
			s = captionSave(l, "es", "es2", teacher, "hola")
			s.Default = &yes
			_, _, err = d.SaveCaptions(ctx, s)
			wantCode(t, err, lectern.EINVALID)
			if tr, _ := d.FindCaptionTrack(ctx, l.ID, "es"); tr.Version != 1 || tr.Default {
				t.Errorf("a refused save changed the track: %+v", tr)
			}
			if vs, _ := d.FindCaptionVersions(ctx, l.ID, "es"); len(vs) != 1 {
				t.Errorf("a refused save left %d versions, want 1", len(vs))
			}
			// Publishing and making it the default at once is fine; making
			// the default a draft takes the flag away.
			if _, err := d.UpdateCaptionTrack(ctx, l.ID, "es", db.CaptionTrackUpdate{Default: &yes, Status: &published}); err != nil {
				t.Fatal(err)
			}
			wantDefaults(t, d, l, "es")
			tr, err := d.UpdateCaptionTrack(ctx, l.ID, "es", db.CaptionTrackUpdate{Status: &draft})
			if err != nil || tr.Default || tr.Status != draft {
				t.Errorf("made a draft: %+v, %v", tr, err)
			}
			wantDefaults(t, d, l)
			bad := lectern.CaptionStatus("hidden")
			_, err = d.UpdateCaptionTrack(ctx, l.ID, "es", db.CaptionTrackUpdate{Status: &bad})
			wantCode(t, err, lectern.EINVALID)
			empty := " "
			_, err = d.UpdateCaptionTrack(ctx, l.ID, "es", db.CaptionTrackUpdate{Label: &empty})
			wantCode(t, err, lectern.EINVALID)
		})

		t.Run("DeleteRemovesVersionsAndCues", func(t *testing.T) {
			l := newLesson(t, d, course)
			mustSave(t, d, captionSave(l, "en", "1", teacher, "a"))
			mustSave(t, d, captionSave(l, "en", "2", teacher, "b"))
			mustSave(t, d, captionSave(l, "pt-BR", "1", teacher, "c"))
			if err := d.DeleteCaptionTrack(ctx, l.ID, "en"); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindCaptionTrack(ctx, l.ID, "en")
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.FindCaptionVersions(ctx, l.ID, "en")
			wantCode(t, err, lectern.ENOTFOUND)
			if cues, err := d.FindCaptionCues(ctx, l.ID, "en"); err != nil || len(cues) != 0 {
				t.Errorf("cues after delete: %v, %v", cues, err)
			}
			if cues, _ := d.FindCaptionCues(ctx, l.ID, "pt-BR"); len(cues) != 1 {
				t.Errorf("the other track lost its cues: %v", cues)
			}
			wantCode(t, d.DeleteCaptionTrack(ctx, l.ID, "en"), lectern.ENOTFOUND)
			// Saving again starts a new history.
			if tr := mustSave(t, d, captionSave(l, "en", "3", teacher, "d")); tr.Version != 1 {
				t.Errorf("version after delete and save = %d, want 1", tr.Version)
			}
			// Deleting the lesson takes its tracks, versions and cues.
			if err := d.DeleteLesson(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
			if cues, _ := d.FindCaptionCues(ctx, l.ID, "pt-BR"); len(cues) != 0 {
				t.Errorf("cues of a deleted lesson: %v", cues)
			}
			if tracks, _ := d.FindCaptionTracks(ctx, l.ID, true); len(tracks) != 0 {
				t.Errorf("tracks of a deleted lesson: %v", tracks)
			}
		})

		t.Run("ManyCues", func(t *testing.T) {
			l := newLesson(t, d, course)
			texts := make([]string, 1234)
			for i := range texts {
				texts[i] = fmt.Sprintf("cue %d", i)
			}
			s := captionSave(l, "en", "many", teacher, texts...)
			mustSave(t, d, s)
			cues, err := d.FindCaptionCues(ctx, l.ID, "en")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s.Cues, cues); diff != "" {
				t.Errorf("cues (-want +got):\n%s", diff)
			}
		})

		t.Run("Refused", func(t *testing.T) {
			l := newLesson(t, d, course)
			_, _, err := d.SaveCaptions(ctx, captionSave(&lectern.Lesson{ID: "nosuchlesson"}, "en", "x", teacher, "a"))
			wantCode(t, err, lectern.ENOTFOUND)
			s := captionSave(l, "en", "x", teacher, "a")
			s.ObjectKey = "../escape.vtt"
			_, _, err = d.SaveCaptions(ctx, s)
			wantCode(t, err, lectern.EINVALID)
			s = captionSave(l, "en", "x", teacher, "a")
			s.Cues[0].EndMS = s.Cues[0].StartMS
			_, _, err = d.SaveCaptions(ctx, s)
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateCaptionTrack(ctx, l.ID, "en", db.CaptionTrackUpdate{})
			wantCode(t, err, lectern.ENOTFOUND)
			if tracks, _ := d.FindCaptionTracks(ctx, l.ID, true); len(tracks) != 0 {
				t.Errorf("refused saves left tracks: %v", tracks)
			}
		})

		t.Run("ConcurrentSavesGetDistinctVersions", func(t *testing.T) {
			l := newLesson(t, d, course)
			const n = 6
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					_, _, err := d.SaveCaptions(ctx, captionSave(l, "en", fmt.Sprint("c", i), teacher, fmt.Sprint("save ", i)))
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			versions, err := d.FindCaptionVersions(ctx, l.ID, "en")
			if err != nil {
				t.Fatal(err)
			}
			var nums []int
			keys := map[string]bool{}
			for _, v := range versions {
				nums = append(nums, v.Version)
				keys[v.ObjectKey] = true
			}
			sort.Ints(nums)
			if !cmp.Equal(nums, []int{1, 2, 3, 4, 5, 6}) || len(keys) != n {
				t.Errorf("versions %v with %d objects, want 1…6 with 6", nums, len(keys))
			}
			tr, _ := d.FindCaptionTrack(ctx, l.ID, "en")
			cues, _ := d.FindCaptionCues(ctx, l.ID, "en")
			if tr.Version != n || len(cues) != 1 || tr.ObjectKey != versions[0].ObjectKey {
				t.Errorf("track %+v with cues %v is not the last save", tr, cues)
			}
		})
	})
}

// wantDefaults fails unless exactly langs are the lesson's default tracks.
func wantDefaults(t *testing.T, d *db.DB, l *lectern.Lesson, langs ...string) {
	t.Helper()
	tracks, err := d.FindCaptionTracks(context.Background(), l.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, tr := range tracks {
		if tr.Default {
			got = append(got, tr.Lang)
		}
	}
	if langs == nil {
		langs = []string{}
	}
	if !cmp.Equal(langs, got) {
		t.Errorf("default tracks = %v, want %v", got, langs)
	}
}

// wantLangs fails unless the lesson's tracks (with or without drafts) are
// langs, in this order.
func wantLangs(t *testing.T, d *db.DB, l *lectern.Lesson, drafts bool, langs ...string) {
	t.Helper()
	tracks, err := d.FindCaptionTracks(context.Background(), l.ID, drafts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range tracks {
		got = append(got, tr.Lang)
	}
	if !cmp.Equal(langs, got) {
		t.Errorf("tracks (drafts %v) = %v, want %v", drafts, got, langs)
	}
}
