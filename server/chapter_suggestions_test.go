package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

type suggestionJSON struct {
	ID      string `json:"id"`
	StartMS int64  `json:"start_ms"`
	Title   string `json:"title"`
}

// The course's teacher sees the transcoder's chapter suggestions, accepts
// one as it is or renamed (it becomes a chapter that search finds) and
// discards another; students and outsiders never see or touch them; bad
// titles and taken moments are refused and change nothing.
func TestChapterSuggestions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx) // a 6 s lesson
		base := "/api/v1/lessons/" + m.lessonID
		if err := fx.DB.SetChapterSuggestions(ctx, m.lessonID, []int64{1000, 2500, 4000, 5500}); err != nil {
			t.Fatal(err)
		}
		m.teacher.do(t, "PUT", base+"/chapters", []map[string]any{{"start_ms": 0, "title": "Intro"}, {"start_ms": 4300, "title": "Set by hand"}}).
			want(http.StatusOK)
		list := func(t *testing.T) []suggestionJSON {
			t.Helper()
			var resp struct{ Suggestions []suggestionJSON }
			m.teacher.do(t, "GET", base+"/chapter-suggestions", nil).want(http.StatusOK).decode(&resp)
			return resp.Suggestions
		}
		chapters := func(t *testing.T) []chapterJSON {
			t.Helper()
			var resp struct{ Chapters []chapterJSON }
			m.student.do(t, "GET", base+"/chapters", nil).want(http.StatusOK).decode(&resp)
			return resp.Chapters
		}
		sugs := list(t)
		var got []suggestionJSON
		for _, s := range sugs {
			got = append(got, suggestionJSON{StartMS: s.StartMS, Title: s.Title})
		}
		// 4000 is hidden: "Set by hand" is within a second of it.
		want := []suggestionJSON{{StartMS: 1000, Title: "Slide at 0:01"}, {StartMS: 2500, Title: "Slide at 0:02"}, {StartMS: 5500, Title: "Slide at 0:05"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("suggestions (-want +got):\n%s", diff)
		}
		accept := func(i int) string { return base + "/chapter-suggestions/" + sugs[i].ID + "/accept" }
		discard := func(i int) string { return base + "/chapter-suggestions/" + sugs[i].ID }

		t.Run("NotForStudentsOrOutsiders", func(t *testing.T) {
			for _, c := range []struct {
				who    *client
				status int
				code   string
			}{{m.student, http.StatusForbidden, lectern.EFORBIDDEN}, {m.outsider, http.StatusNotFound, lectern.ENOTFOUND},
				{m.anonymous, http.StatusUnauthorized, lectern.EUNAUTHORIZED}} {
				c.who.do(t, "GET", base+"/chapter-suggestions", nil).wantError(c.status, c.code)
				c.who.do(t, "POST", accept(0), nil).wantError(c.status, c.code)
				c.who.do(t, "DELETE", discard(0), nil).wantError(c.status, c.code)
			}
			if body := string(m.student.do(t, "GET", base, nil).want(http.StatusOK).Body); strings.Contains(body, "Slide at") {
				t.Errorf("the lesson JSON shows a student the suggestions: %s", body)
			}
			if len(list(t)) != 3 || len(chapters(t)) != 2 {
				t.Errorf("refused calls changed something: suggestions %v, chapters %v", list(t), chapters(t))
			}
		})

		t.Run("BadTitleRefused", func(t *testing.T) {
			for title, msg := range map[string]string{"  ": "needs a title", strings.Repeat("x", 201): "longer than 200", "two\nlines": "one line"} {
				got := m.teacher.do(t, "POST", accept(0), map[string]string{"title": title}).wantError(http.StatusBadRequest, lectern.EINVALID)
				if !strings.Contains(got, msg) {
					t.Errorf("title %.20q: message %q does not say %q", title, got, msg)
				}
			}
			if len(list(t)) != 3 || len(chapters(t)) != 2 {
				t.Errorf("refused accepts changed something: suggestions %v, chapters %v", list(t), chapters(t))
			}
		})

		t.Run("AcceptAsItIs", func(t *testing.T) {
			var resp struct{ Chapters []chapterJSON }
			m.teacher.do(t, "POST", accept(0), nil).want(http.StatusOK).decode(&resp)
			want := []chapterJSON{{0, "Intro"}, {1000, "Slide at 0:01"}, {4300, "Set by hand"}}
			if diff := cmp.Diff(want, resp.Chapters); diff != "" {
				t.Errorf("chapters after accepting (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, chapters(t)); diff != "" {
				t.Errorf("a student's chapters after accepting (-want +got):\n%s", diff)
			}
			m.teacher.do(t, "POST", accept(0), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})

		t.Run("AcceptRenamedIsFound", func(t *testing.T) {
			m.teacher.do(t, "POST", accept(1), map[string]string{"title": " Eigenvalues "}).want(http.StatusOK)
			var hits struct {
				Hits []struct {
					Kind string `json:"kind"`
					AtMS int64  `json:"at_ms"`
				} `json:"hits"`
			}
			m.student.do(t, "GET", "/api/v1/search?q=eigenvalues", nil).want(http.StatusOK).decode(&hits)
			if len(hits.Hits) != 1 || hits.Hits[0].Kind != "chapter" || hits.Hits[0].AtMS != 2500 {
				t.Errorf("search for the accepted chapter's title: %+v, want the chapter at 2500", hits.Hits)
			}
			if got := list(t); len(got) != 1 || got[0].StartMS != 5500 {
				t.Errorf("suggestions left: %v, want the one at 5500", got)
			}
		})

		t.Run("TakenMomentConflicts", func(t *testing.T) {
			m.teacher.do(t, "PUT", base+"/chapters", []map[string]any{{"start_ms": 0, "title": "Intro"}, {"start_ms": 5500, "title": "Wrap-up"}}).
				want(http.StatusOK)
			msg := m.teacher.do(t, "POST", accept(2), nil).wantError(http.StatusConflict, lectern.ECONFLICT)
			if !strings.Contains(msg, "Wrap-up") {
				t.Errorf("message %q does not name the chapter already there", msg)
			}
		})

		t.Run("Discard", func(t *testing.T) {
			m.teacher.do(t, "DELETE", discard(2), nil).want(http.StatusNoContent)
			m.teacher.do(t, "DELETE", discard(2), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.teacher.do(t, "PUT", base+"/chapters", []any{}).want(http.StatusOK)
			if got := list(t); len(got) != 1 || got[0].StartMS != 4000 {
				t.Errorf("after discarding the last and removing the chapters: %v, want only the one at 4000 back", got)
			}
		})

		t.Run("OtherLessonsSuggestion", func(t *testing.T) {
			other := m.newLesson(t, "Another")
			m.teacher.do(t, "POST", "/api/v1/lessons/"+other+"/chapter-suggestions/"+list(t)[0].ID+"/accept", nil).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
	})
}
