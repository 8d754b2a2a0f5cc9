package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

type outlineJSON struct {
	Version     int64    `json:"version"`
	Unsectioned []string `json:"unsectioned"`
	Sections    []struct {
		ID        string   `json:"id"`
		Title     string   `json:"title,omitempty"`
		LessonIDs []string `json:"lesson_ids"`
	} `json:"sections"`
}

// TestOutlineAPI: teachers group lessons in sections and reorder them
// with one PUT; the lesson list follows; stale versions, other courses'
// IDs and students are refused without changing anything.
func TestOutlineAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		course := createCourse(t, teacher, "Term")
		other := createCourse(t, teacher, "Other")
		student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
		base := "/api/v1/courses/" + course.ID
		newLesson := func(courseID, title, section string) string {
			return teacher.do(t, "POST", "/api/v1/courses/"+courseID+"/lessons",
				map[string]string{"publish_at": "now", "title": title, "section_id": section}).want(http.StatusCreated).fields()["id"].(string)
		}
		week1 := teacher.do(t, "POST", base+"/sections", map[string]string{"title": "Week 1"}).want(http.StatusCreated).fields()["id"].(string)
		week2 := teacher.do(t, "POST", base+"/sections", map[string]string{"title": "Week 2"}).want(http.StatusCreated).fields()["id"].(string)
		a := newLesson(course.ID, "A", week1)
		b := newLesson(course.ID, "B", "") // the last section
		foreign := newLesson(other.ID, "Foreign", "")
		teacher.do(t, "POST", base+"/lessons", map[string]string{"publish_at": "now", "title": "X", "section_id": "nosuch"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)

		var o outlineJSON
		student.do(t, "GET", base+"/outline", nil).want(http.StatusOK).decode(&o)
		if len(o.Sections) != 2 || cmp.Diff([]string{a}, o.Sections[0].LessonIDs) != "" || cmp.Diff([]string{b}, o.Sections[1].LessonIDs) != "" || o.Sections[1].Title != "Week 2" {
			t.Fatalf("outline = %+v, want A in week 1 and B in week 2", o)
		}
		put := func(version int64, unsectioned []string, sections ...any) map[string]any {
			return map[string]any{"version": version, "unsectioned": unsectioned, "sections": sections}
		}
		sec := func(id string, lessons ...string) map[string]any {
			return map[string]any{"id": id, "lesson_ids": append([]string{}, lessons...)}
		}
		student.do(t, "PUT", base+"/outline", put(o.Version, nil, sec(week2, b, a), sec(week1))).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		teacher.do(t, "PUT", base+"/outline", put(o.Version, nil, sec(week2, b, a), sec(week1, foreign))).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		teacher.do(t, "PUT", base+"/outline", put(o.Version, nil, sec(week2, b), sec(week1))).wantError(http.StatusBadRequest, lectern.EINVALID)
		teacher.do(t, "PUT", base+"/outline", map[string]any{"sections": []any{}}).wantError(http.StatusBadRequest, lectern.EINVALID)
		var otherO outlineJSON
		teacher.do(t, "GET", "/api/v1/courses/"+other.ID+"/outline", nil).want(http.StatusOK).decode(&otherO)
		teacher.do(t, "PUT", "/api/v1/courses/"+other.ID+"/outline", put(otherO.Version, []string{foreign}, sec(week2, b, a), sec(week1))).wantError(http.StatusNotFound, lectern.ENOTFOUND)

		var moved outlineJSON
		teacher.do(t, "PUT", base+"/outline", put(o.Version, []string{a}, sec(week2, b), sec(week1))).want(http.StatusOK).decode(&moved)
		if moved.Version != o.Version+1 || moved.Sections[0].ID != week2 || moved.Sections[0].Title != "Week 2" {
			t.Errorf("PUT answered %+v, want week 2 first at version %d", moved, o.Version+1)
		}
		// A second window still holding the old version is told so.
		teacher.do(t, "PUT", base+"/outline", put(o.Version, nil, sec(week1, a, b), sec(week2))).wantError(http.StatusConflict, lectern.ECONFLICT)

		var list struct {
			Lessons []struct {
				ID        string
				SectionID *string `json:"section_id"`
			}
		}
		student.do(t, "GET", base+"/lessons", nil).want(http.StatusOK).decode(&list)
		if len(list.Lessons) != 2 || list.Lessons[0].ID != a || list.Lessons[0].SectionID != nil ||
			list.Lessons[1].ID != b || list.Lessons[1].SectionID == nil || *list.Lessons[1].SectionID != week2 {
			t.Errorf("lesson list after reorder = %+v, want A (no section) then B (week 2)", list.Lessons)
		}

		teacher.do(t, "PATCH", base+"/sections/"+week1, map[string]string{"title": ""}).wantError(http.StatusBadRequest, lectern.EINVALID)
		teacher.do(t, "PATCH", "/api/v1/courses/"+other.ID+"/sections/"+week1, map[string]string{"title": "Mine"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		student.do(t, "DELETE", base+"/sections/"+week2, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		teacher.do(t, "PATCH", base+"/sections/"+week1, map[string]string{"title": "Week one"}).want(http.StatusOK)
		teacher.do(t, "DELETE", base+"/sections/"+week2, nil).want(http.StatusNoContent)
		var after outlineJSON
		teacher.do(t, "GET", base+"/outline", nil).want(http.StatusOK).decode(&after)
		if cmp.Diff([]string{a, b}, after.Unsectioned) != "" || len(after.Sections) != 1 || after.Sections[0].Title != "Week one" {
			t.Errorf("outline after renaming week 1 and deleting week 2 = %+v, want A, B in no section and Week one", after)
		}
	})
}

// TestNextLessonFollowsOutline: the watch page's "Next lesson" card and
// the course page follow the course's order, skipping lessons that cannot
// be watched yet, and the last lesson offers none.
func TestNextLessonFollowsOutline(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, teacher, "Term")
		base := "/api/v1/courses/" + course.ID
		ids := map[string]string{}
		for _, title := range []string{"Alpha", "Beta", "Gamma"} {
			ids[title] = teacher.do(t, "POST", base+"/lessons", map[string]string{"publish_at": "now", "title": title}).want(http.StatusCreated).fields()["id"].(string)
		}
		for _, title := range []string{"Alpha", "Gamma"} { // Beta has nothing to watch yet
			prefix := "lessons/" + ids[title] + "/out"
			if _, err := fx.DB.UpdateLesson(t.Context(), ids[title], lectern.LessonUpdate{OutputPrefix: &prefix}); err != nil {
				t.Fatal(err)
			}
		}
		next := func(title string) string {
			t.Helper()
			body := string(teacher.do(t, "GET", "/watch/"+ids[title], nil).want(http.StatusOK).Body)
			for other, id := range ids {
				if strings.Contains(body, `id="next-card-link" href="/watch/`+id+`"`) {
					return other
				}
			}
			return ""
		}
		if got := next("Alpha"); got != "Gamma" {
			t.Errorf("next after Alpha = %q, want Gamma (Beta is not ready)", got)
		}
		if got := next("Gamma"); got != "" {
			t.Errorf("next after the last lesson = %q, want none", got)
		}
		var o outlineJSON
		teacher.do(t, "GET", base+"/outline", nil).want(http.StatusOK).decode(&o)
		teacher.do(t, "PUT", base+"/outline", map[string]any{"version": o.Version,
			"unsectioned": []string{ids["Gamma"], ids["Beta"], ids["Alpha"]}, "sections": []any{}}).want(http.StatusOK)
		if got := next("Gamma"); got != "Alpha" {
			t.Errorf("next after Gamma once it is first = %q, want Alpha", got)
		}
		if got := next("Alpha"); got != "" {
			t.Errorf("next after Alpha once it is last = %q, want none", got)
		}
		page := string(teacher.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusOK).Body)
		g, b, a := strings.Index(page, `data-lesson-id="`+ids["Gamma"]), strings.Index(page, `data-lesson-id="`+ids["Beta"]), strings.Index(page, `data-lesson-id="`+ids["Alpha"])
		if !(g >= 0 && g < b && b < a) {
			t.Errorf("course page rows at %d, %d, %d: want Gamma, Beta, Alpha in that order", g, b, a)
		}
	})
}
