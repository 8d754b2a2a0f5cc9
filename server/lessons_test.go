package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

func TestLessons(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, teacherA := ts.loginNew(t, lectern.RoleTeacher)
		_, teacherB := ts.loginNew(t, lectern.RoleTeacher)
		_, studentA := ts.loginNew(t, lectern.RoleStudent)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		courseA := createCourse(t, teacherA, "Course A")
		courseB := createCourse(t, teacherB, "Course B")
		studentA.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *courseA.JoinCode}).want(http.StatusOK)

		lessonA := teacherA.do(t, "POST", "/api/v1/courses/"+courseA.ID+"/lessons",
			map[string]string{"publish_at": "now", "title": "Week 1", "description": "Intro"}).want(http.StatusCreated).fields()
		lessonB := teacherB.do(t, "POST", "/api/v1/courses/"+courseB.ID+"/lessons",
			map[string]string{"publish_at": "now", "title": "Other week 1"}).want(http.StatusCreated).fields()
		idA, idB := lessonA["id"].(string), lessonB["id"].(string)

		t.Run("TeacherCreates", func(t *testing.T) {
			want := map[string]any{
				"id": idA, "course_id": courseA.ID, "title": "Week 1", "description": "Intro",
				"status": "awaiting_upload", "duration_ms": 0.0, "renditions": []any{}, "playable": false, "transcode": nil, "poster_url": nil, "chapters": []any{}, "section_id": nil, "watch_by": nil,
			}
			if diff := cmp.Diff(want, lessonA, ignoreKeys("created_at", "updated_at", "publication")); diff != "" {
				t.Errorf("created lesson (-want +got):\n%s", diff)
			}
			if pub, _ := lessonA["publication"].(map[string]any); pub["state"] != "published" || pub["time_zone"] != "UTC" {
				t.Errorf("created with publish_at now: publication %v, want published in UTC", lessonA["publication"])
			}
		})

		t.Run("MemberReads", func(t *testing.T) {
			var list struct{ Lessons []struct{ ID, Status string } }
			studentA.do(t, "GET", "/api/v1/courses/"+courseA.ID+"/lessons", nil).want(http.StatusOK).decode(&list)
			if len(list.Lessons) != 1 || list.Lessons[0].ID != idA || list.Lessons[0].Status != "awaiting_upload" {
				t.Errorf("lessons = %+v, want just %s awaiting upload", list.Lessons, idA)
			}
			got := studentA.do(t, "GET", "/api/v1/lessons/"+idA, nil).want(http.StatusOK).fields()
			if _, ok := got["publication"]; ok {
				t.Errorf("a student sees the lesson's publication: %v", got["publication"])
			}
			if diff := cmp.Diff(lessonA, got, ignoreKeys("created_at", "updated_at", "publication")); diff != "" {
				t.Errorf("lesson (-created +read):\n%s", diff)
			}
		})

		t.Run("StudentOfAGets404ForB", func(t *testing.T) {
			studentA.do(t, "GET", "/api/v1/courses/"+courseB.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			studentA.do(t, "GET", "/api/v1/courses/"+courseB.ID+"/lessons", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			studentA.do(t, "POST", "/api/v1/courses/"+courseB.ID+"/lessons", map[string]string{"publish_at": "now", "title": "x"}).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
			studentA.do(t, "GET", "/api/v1/lessons/"+idB, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			studentA.do(t, "DELETE", "/api/v1/lessons/"+idB, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			// A teacher of another course is no better off.
			teacherB.do(t, "GET", "/api/v1/lessons/"+idA, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			teacherB.do(t, "DELETE", "/api/v1/lessons/"+idA, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})

		t.Run("StudentMemberForbidden", func(t *testing.T) {
			studentA.do(t, "POST", "/api/v1/courses/"+courseA.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Mine"}).
				wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			studentA.do(t, "DELETE", "/api/v1/lessons/"+idA, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		})

		t.Run("Invalid", func(t *testing.T) {
			teacherA.do(t, "POST", "/api/v1/courses/"+courseA.ID+"/lessons", map[string]string{"publish_at": "now", "title": ""}).
				wantError(http.StatusBadRequest, lectern.EINVALID)
			teacherA.do(t, "POST", "/api/v1/courses/"+courseA.ID+"/lessons", map[string]string{"publish_at": "now", "title": "T", "description": strings.Repeat("d", 5001)}).
				wantError(http.StatusBadRequest, lectern.EINVALID)
		})

		t.Run("TeacherEdits", func(t *testing.T) {
			l := teacherA.do(t, "POST", "/api/v1/courses/"+courseA.ID+"/lessons",
				map[string]string{"publish_at": "now", "title": "Draft", "description": "Old words"}).want(http.StatusCreated).fields()
			id := l["id"].(string)
			got := teacherA.do(t, "PATCH", "/api/v1/lessons/"+id, map[string]string{"title": "  Week 2: vectors "}).
				want(http.StatusOK).fields()
			if got["title"] != "Week 2: vectors" || got["description"] != "Old words" {
				t.Errorf("after a title edit: title %q, description %q", got["title"], got["description"])
			}
			teacherA.do(t, "PATCH", "/api/v1/lessons/"+id, map[string]string{"description": ""}).want(http.StatusOK)
			read := studentA.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).fields()
			if read["title"] != "Week 2: vectors" || read["description"] != "" {
				t.Errorf("a classmate reads title %q, description %q", read["title"], read["description"])
			}
			for _, body := range []map[string]any{{}, {"title": ""}, {"title": 7}, {"description": strings.Repeat("d", 5001)}} {
				teacherA.do(t, "PATCH", "/api/v1/lessons/"+id, body).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			studentA.do(t, "PATCH", "/api/v1/lessons/"+id, map[string]string{"title": "Mine"}).
				wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			teacherB.do(t, "PATCH", "/api/v1/lessons/"+id, map[string]string{"title": "Theirs"}).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if l := studentA.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).fields(); l["title"] != "Week 2: vectors" {
				t.Errorf("refused edits changed the title to %q", l["title"])
			}
		})

		t.Run("AdminReads", func(t *testing.T) {
			admin.do(t, "GET", "/api/v1/lessons/"+idB, nil).want(http.StatusOK)
			admin.do(t, "GET", "/api/v1/courses/"+courseB.ID+"/lessons", nil).want(http.StatusOK)
		})

		t.Run("TeacherDeletes", func(t *testing.T) {
			ctx := context.Background()
			for _, key := range []string{"lessons/" + idA + "/source", "lessons/" + idA + "/1/master.m3u8", "lessons/" + idB + "/source"} {
				if _, err := fx.Store.Put(ctx, key, strings.NewReader("bytes")); err != nil {
					t.Fatal(err)
				}
			}
			teacherA.do(t, "DELETE", "/api/v1/lessons/"+idA, nil).want(http.StatusNoContent)
			studentA.do(t, "GET", "/api/v1/lessons/"+idA, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			teacherA.do(t, "DELETE", "/api/v1/lessons/"+idA, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if keys := storedKeys(t, fx.Store, "lessons/"); len(keys) != 3 {
				t.Errorf("stored keys after delete = %q; want all three kept in the trash", keys)
			}
			// Removing it from the trash removes its objects.
			admin.do(t, "DELETE", "/api/v1/trash/lessons/"+idA, nil).want(http.StatusNoContent)
			if keys := storedKeys(t, fx.Store, "lessons/"); !cmp.Equal(keys, []string{"lessons/" + idB + "/source"}) {
				t.Errorf("stored keys after purge = %q; want only lesson B's", keys)
			}
		})

		t.Run("Anonymous", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/lessons/"+idB, nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
	})
}

func storedKeys(t *testing.T, s lectern.Storage, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}
