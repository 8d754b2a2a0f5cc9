package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

type chapterJSON struct {
	StartMS int64  `json:"start_ms"`
	Title   string `json:"title"`
}

func TestChapters(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx) // a 6 s lesson
		path := "/api/v1/lessons/" + m.lessonID + "/chapters"
		lessonChapters := func(t *testing.T, c *client) []chapterJSON {
			t.Helper()
			var l struct {
				Chapters []chapterJSON `json:"chapters"`
			}
			c.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK).decode(&l)
			return l.Chapters
		}

		t.Run("NoneAtFirst", func(t *testing.T) {
			if got := m.student.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK).fields()["chapters"]; !cmp.Equal(got, []any{}) {
				t.Errorf("chapters of a new lesson = %#v, want []", got)
			}
		})

		want := []chapterJSON{{0, "Introduction"}, {2500, "The middle"}, {5000, "Summary"}}
		t.Run("TeacherSetsThemInAnyOrder", func(t *testing.T) {
			var resp struct{ Chapters []chapterJSON }
			m.teacher.do(t, "PUT", path, []map[string]any{
				{"start_ms": 5000, "title": "Summary"}, {"start_ms": 0, "title": " Introduction "}, {"start_ms": 2500, "title": "The middle"},
			}).want(http.StatusOK).decode(&resp)
			if diff := cmp.Diff(want, resp.Chapters); diff != "" {
				t.Errorf("PUT answer (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, lessonChapters(t, m.student)); diff != "" {
				t.Errorf("lesson JSON chapters (-want +got):\n%s", diff)
			}
			var list struct{ Chapters []chapterJSON }
			m.student.do(t, "GET", path, nil).want(http.StatusOK).decode(&list)
			if diff := cmp.Diff(want, list.Chapters); diff != "" {
				t.Errorf("GET chapters (-want +got):\n%s", diff)
			}
			var lessons struct {
				Lessons []struct {
					ID       string
					Chapters []chapterJSON
				}
			}
			m.student.do(t, "GET", "/api/v1/courses/"+m.course.ID+"/lessons", nil).want(http.StatusOK).decode(&lessons)
			for _, l := range lessons.Lessons {
				if l.ID == m.lessonID && !cmp.Equal(want, l.Chapters) {
					t.Errorf("lesson list chapters = %v, want %v", l.Chapters, want)
				}
			}
		})

		t.Run("BadChaptersRefusedChangeNothing", func(t *testing.T) {
			for name, tc := range map[string]struct {
				body any
				msg  string
			}{
				"PastTheEnd":   {[]map[string]any{{"start_ms": 0, "title": "A"}, {"start_ms": 6000, "title": "B"}}, "chapter 2 starts at 0:06, after the end of the lesson (0:06)"},
				"SameStart":    {[]map[string]any{{"start_ms": 1000, "title": "A"}, {"start_ms": 1000, "title": "B"}}, "two chapters start at 0:01"},
				"NoTitle":      {[]map[string]any{{"start_ms": 0, "title": ""}}, "chapter 1 needs a title"},
				"NoStart":      {[]map[string]any{{"title": "A"}}, "chapter 1: start_ms and title are required"},
				"LongTitle":    {[]map[string]any{{"start_ms": 0, "title": strings.Repeat("x", 201)}}, "longer than 200 characters"},
				"NotAnArray":   {map[string]any{"start_ms": 0, "title": "A"}, "must be"},
				"Null":         {"null", "JSON array"},
				"StringStart":  {[]map[string]any{{"start_ms": "0:10", "title": "A"}}, "start_ms"},
				"TooMany":      {make([]map[string]any, 201), "at most 200 chapters"},
				"NegativeTime": {[]map[string]any{{"start_ms": -5, "title": "A"}}, "before the beginning"},
			} {
				t.Run(name, func(t *testing.T) {
					msg := m.teacher.do(t, "PUT", path, tc.body).wantError(http.StatusBadRequest, lectern.EINVALID)
					if !strings.Contains(msg, tc.msg) {
						t.Errorf("message %q does not contain %q", msg, tc.msg)
					}
					if diff := cmp.Diff(want, lessonChapters(t, m.teacher)); diff != "" {
						t.Errorf("a refused PUT changed the chapters (-want +got):\n%s", diff)
					}
				})
			}
		})

		t.Run("WhoMay", func(t *testing.T) {
			body := []map[string]any{{"start_ms": 0, "title": "Mine now"}}
			m.student.do(t, "PUT", path, body).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.outsider.do(t, "PUT", path, body).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.outsider.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.anonymous.do(t, "PUT", path, body).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			if diff := cmp.Diff(want, lessonChapters(t, m.teacher)); diff != "" {
				t.Errorf("chapters changed by someone who may not (-want +got):\n%s", diff)
			}
		})

		t.Run("NeedsTheDuration", func(t *testing.T) {
			id := m.newLesson(t, "Not uploaded")
			msg := m.teacher.do(t, "PUT", "/api/v1/lessons/"+id+"/chapters", []map[string]any{{"start_ms": 0, "title": "A"}}).
				wantError(http.StatusBadRequest, lectern.EINVALID)
			if !strings.Contains(msg, "processed") {
				t.Errorf("message %q does not say the recording must be processed first", msg)
			}
		})

		t.Run("EmptyArrayRemovesThem", func(t *testing.T) {
			var resp struct{ Chapters []chapterJSON }
			m.teacher.do(t, "PUT", path, []any{}).want(http.StatusOK).decode(&resp)
			if len(resp.Chapters) != 0 || len(lessonChapters(t, m.student)) != 0 {
				t.Errorf("after PUT []: answer %v, lesson %v; want none", resp.Chapters, lessonChapters(t, m.student))
			}
		})
	})
}

func TestPreferencesAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, other := ts.loginNew(t, lectern.RoleStudent)
		defaults := map[string]any{"caption_lang": "", "caption_size": "medium", "caption_background": "semi", "updated_at": nil}
		if diff := cmp.Diff(defaults, student.do(t, "GET", "/api/v1/me/preferences", nil).want(http.StatusOK).fields()); diff != "" {
			t.Errorf("a new user's preferences (-want +got):\n%s", diff)
		}

		got := student.do(t, "PUT", "/api/v1/me/preferences", map[string]any{"caption_lang": "pt_br", "caption_size": "large"}).
			want(http.StatusOK).fields()
		want := map[string]any{"caption_lang": "pt-BR", "caption_size": "large", "caption_background": "semi"}
		if diff := cmp.Diff(want, got, ignoreKeys("updated_at")); diff != "" || got["updated_at"] == nil {
			t.Errorf("after PUT (-want +got):\n%s", diff)
		}
		got = student.do(t, "PUT", "/api/v1/me/preferences", map[string]any{"caption_background": "solid"}).want(http.StatusOK).fields()
		want["caption_background"] = "solid"
		if diff := cmp.Diff(want, got, ignoreKeys("updated_at")); diff != "" {
			t.Errorf("a PUT of one field changed others (-want +got):\n%s", diff)
		}

		for name, body := range map[string]any{
			"UnknownSize":   map[string]any{"caption_size": "huge"},
			"UnknownColour": map[string]any{"caption_background": "pink"},
			"NotALanguage":  map[string]any{"caption_lang": "xx"},
			"Nothing":       map[string]any{},
		} {
			t.Run(name, func(t *testing.T) {
				student.do(t, "PUT", "/api/v1/me/preferences", body).wantError(http.StatusBadRequest, lectern.EINVALID)
			})
		}
		got = student.do(t, "GET", "/api/v1/me/preferences", nil).want(http.StatusOK).fields()
		if diff := cmp.Diff(want, got, ignoreKeys("updated_at")); diff != "" {
			t.Errorf("after refused PUTs (-want +got):\n%s", diff)
		}
		off := student.do(t, "PUT", "/api/v1/me/preferences", map[string]any{"caption_lang": ""}).want(http.StatusOK).fields()
		if off["caption_lang"] != "" {
			t.Errorf("captions off: caption_lang = %v, want \"\"", off["caption_lang"])
		}
		if diff := cmp.Diff(defaults, other.do(t, "GET", "/api/v1/me/preferences", nil).want(http.StatusOK).fields()); diff != "" {
			t.Errorf("another user's preferences changed (-want +got):\n%s", diff)
		}
		ts.client(t).do(t, "GET", "/api/v1/me/preferences", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
	})
}
