package db_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestCommentPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		cl := newClass(t, d)
		t.Run("StableWhileOthersPost", func(t *testing.T) {
			l := readyLesson(t, d, cl.course, lessonMS)
			// Several entries share an anchor, so that the order within
			// one position (time of posting, then id) is exercised too.
			var existing []*lectern.Comment
			for i := range 24 {
				existing = append(existing, post(t, d, cl.author,
					entry(l, lectern.KindComment, lectern.VisibilityClass, int64(i%6)*10000, "before")))
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range 40 {
					select {
					case <-stop:
						return
					default:
					}
					c := entry(l, lectern.KindComment, lectern.VisibilityClass, int64(i*7919%lessonMS), "during")
					if err := d.CreateComment(ctx, &c, cl.classmate); err != nil {
						t.Errorf("concurrent CreateComment: %v", err)
						return
					}
				}
			})
			var pages [][]*lectern.Comment
			f := lectern.CommentFilter{Limit: 5}
			for len(pages) < 100 {
				page, next, err := d.FindComments(ctx, l.ID, cl.teacher, f)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, page)
				if next == "" {
					break
				}
				f.After = next
			}
			close(stop)
			wg.Wait()

			seen := map[string]int{}
			var prev *lectern.Comment
			for _, page := range pages {
				for _, c := range page {
					seen[c.ID]++
					if prev != nil && !before(prev, c) {
						t.Errorf("%s (at %d, %v) listed after %s (at %d, %v)", c.ID, c.AtMS, c.CreatedAt, prev.ID, prev.AtMS, prev.CreatedAt)
					}
					prev = c
				}
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("entry %s listed %d times", id, n)
				}
			}
			for _, c := range existing {
				if seen[c.ID] != 1 {
					t.Errorf("entry %s that existed before paging started was listed %d times, want once", c.ID, seen[c.ID])
				}
			}
		})
		t.Run("Filters", func(t *testing.T) {
			l := readyLesson(t, d, cl.course, lessonMS)
			span := lectern.Comment{LessonID: l.ID, Kind: lectern.KindComment, Visibility: lectern.VisibilityClass,
				AtMS: 1000, EndMS: ptr(int64(25000)), Body: "a long span"}
			spanned := post(t, d, cl.author, span)
			open := post(t, d, cl.author, entry(l, lectern.KindQuestion, lectern.VisibilityClass, 20000, "open"))
			answered := post(t, d, cl.author, entry(l, lectern.KindQuestion, lectern.VisibilityClass, 30000, "answered"))
			post(t, d, cl.teacher, reply(answered, "answer"))
			note := post(t, d, cl.author, entry(l, lectern.KindNote, lectern.VisibilityPrivate, 40000, "note"))
			for name, tc := range map[string]struct {
				f    lectern.CommentFilter
				want []*lectern.Comment
			}{
				"All":           {lectern.CommentFilter{}, []*lectern.Comment{spanned, open, answered, note}},
				"WindowOverlap": {lectern.CommentFilter{FromMS: ptr(int64(21000)), ToMS: ptr(int64(30000))}, []*lectern.Comment{spanned, answered}},
				"From":          {lectern.CommentFilter{FromMS: ptr(int64(30001))}, []*lectern.Comment{note}},
				"To":            {lectern.CommentFilter{ToMS: ptr(int64(19999))}, []*lectern.Comment{spanned}},
				"Kind":          {lectern.CommentFilter{Kind: ptr(lectern.KindQuestion)}, []*lectern.Comment{open, answered}},
				"Status":        {lectern.CommentFilter{Status: ptr(lectern.QuestionOpen)}, []*lectern.Comment{open}},
			} {
				t.Run(name, func(t *testing.T) {
					got, next, err := d.FindComments(ctx, l.ID, cl.author, tc.f)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(ids(tc.want), ids(got)); diff != "" || next != "" {
						t.Errorf("FindComments (-want +got):\n%s\nnext cursor %q", diff, next)
					}
				})
			}
			t.Run("BadCursor", func(t *testing.T) {
				_, _, err := d.FindComments(ctx, l.ID, cl.author, lectern.CommentFilter{After: "%%%"})
				wantCode(t, err, lectern.EINVALID)
			})
		})
		t.Run("MarkersBucketBounds", func(t *testing.T) {
			_, err := d.FindMarkers(ctx, cl.lesson.ID, cl.author, db.MinBucketMS-1)
			wantCode(t, err, lectern.EINVALID)
		})
	})
}

// before reports whether a sorts before b in a lesson's listing order.
func before(a, b *lectern.Comment) bool {
	if a.AtMS != b.AtMS {
		return a.AtMS < b.AtMS
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}
