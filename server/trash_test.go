package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// courseSettingsJSON is a course with the fields its settings change.
type courseSettingsJSON struct {
	courseJSON
	TimeZone            string     `json:"time_zone"`
	ArchivedAt          *time.Time `json:"archived_at"`
	CompletionThreshold int        `json:"completion_threshold"`
}

func TestCourseSettings(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, outsider := ts.loginNew(t, lectern.RoleTeacher)
		course := createCourse(t, teacher, "Optics")
		student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
		path := "/api/v1/courses/" + course.ID

		var got courseSettingsJSON
		teacher.do(t, "PATCH", path, map[string]any{"title": "  Optics and light ", "description": "Lenses",
			"time_zone": "Asia/Tokyo"}).want(http.StatusOK).decode(&got)
		if got.Title != "Optics and light" || got.Description != "Lenses" || got.TimeZone != "Asia/Tokyo" || got.CompletionThreshold != 90 {
			t.Errorf("after PATCH: %+v", got)
		}
		t.Run("BadTimeZone", func(t *testing.T) {
			msg := teacher.do(t, "PATCH", path, map[string]any{"title": "Changed", "time_zone": "Europe/Atlantis"}).
				wantError(http.StatusBadRequest, lectern.EINVALID)
			if !strings.Contains(msg, "Europe/Atlantis") || !strings.Contains(msg, "IANA") {
				t.Errorf("message %q does not say what is wrong", msg)
			}
			teacher.do(t, "PATCH", path, map[string]any{"title": " "}).wantError(http.StatusBadRequest, lectern.EINVALID)
			teacher.do(t, "PATCH", path, map[string]any{}).wantError(http.StatusBadRequest, lectern.EINVALID)
			var now courseSettingsJSON
			student.do(t, "GET", path, nil).want(http.StatusOK).decode(&now)
			if now.Title != "Optics and light" || now.TimeZone != "Asia/Tokyo" {
				t.Errorf("a refused PATCH changed the course: %+v", now)
			}
		})
		t.Run("NotTheirs", func(t *testing.T) {
			student.do(t, "PATCH", path, map[string]any{"title": "Mine"}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			outsider.do(t, "PATCH", path, map[string]any{"title": "Mine"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
	})
}

func TestArchivedCourse(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx)
		course := "/api/v1/courses/" + m.course.ID
		lesson := "/api/v1/lessons/" + m.lessonID
		q := struct{ ID string }{}
		m.student.do(t, "POST", lesson+"/comments", map[string]any{"kind": "question", "visibility": "class",
			"at_ms": 1000, "body": "Why?"}).want(http.StatusCreated).decode(&q)

		var archived courseSettingsJSON
		m.teacher.do(t, "POST", course+"/archive", nil).want(http.StatusOK).decode(&archived)
		if archived.ArchivedAt == nil {
			t.Fatalf("archive answered %+v, want archived_at set", archived)
		}
		m.student.do(t, "POST", course+"/archive", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		m.outsider.do(t, "POST", course+"/archive", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)

		t.Run("HiddenFromMainList", func(t *testing.T) {
			for _, c := range []*client{m.teacher, m.student} {
				if _, ok := listCourses(t, c)[m.course.ID]; ok {
					t.Error("an archived course is in the main list")
				}
				var resp struct{ Courses []courseJSON }
				c.do(t, "GET", "/api/v1/courses?archived=true", nil).want(http.StatusOK).decode(&resp)
				if len(resp.Courses) != 1 || resp.Courses[0].ID != m.course.ID {
					t.Errorf("archived list = %+v, want the course", resp.Courses)
				}
			}
			m.student.do(t, "GET", "/api/v1/courses?archived=maybe", nil).wantError(http.StatusBadRequest, lectern.EINVALID)
		})
		t.Run("ReadOnlyForEveryone", func(t *testing.T) {
			for _, w := range []struct {
				c            *client
				method, path string
				body         any
			}{
				{m.teacher, "PATCH", course, map[string]any{"title": "Renamed"}},
				{m.teacher, "POST", course + "/lessons", map[string]any{"title": "New"}},
				{m.teacher, "PATCH", lesson, map[string]any{"title": "Renamed"}},
				{m.teacher, "DELETE", lesson, nil},
				{m.teacher, "POST", course + "/sections", map[string]any{"title": "Week 2"}},
				{m.teacher, "PUT", lesson + "/source", strings.NewReader("not a recording")},
				{m.student, "POST", lesson + "/comments", map[string]any{"kind": "comment", "visibility": "class", "at_ms": 10, "body": "hi"}},
				{m.teacher, "POST", lesson + "/comments", map[string]any{"parent_id": q.ID, "body": "Because."}},
				{m.student, "PATCH", "/api/v1/comments/" + q.ID, map[string]any{"body": "Why though?"}},
				{m.student, "DELETE", "/api/v1/comments/" + q.ID, nil},
			} {
				msg := w.c.do(t, w.method, w.path, w.body).wantError(http.StatusConflict, lectern.ECONFLICT)
				if !strings.Contains(msg, "archived") {
					t.Errorf("%s %s: message %q does not say the course is archived", w.method, w.path, msg)
				}
			}
			// A stranger learns nothing from it.
			m.outsider.do(t, "POST", lesson+"/comments", map[string]any{"kind": "comment", "visibility": "class", "at_ms": 10, "body": "hi"}).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
			var l struct{ Title string }
			m.student.do(t, "GET", lesson, nil).want(http.StatusOK).decode(&l)
			if l.Title != "Week 1" {
				t.Errorf("a refused edit changed the lesson: %q", l.Title)
			}
		})
		t.Run("MembersStillWatch", func(t *testing.T) {
			base := mediaBase(t, playback(t, m.student, m.lessonID))
			if body := m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK).Body; !bytes.Equal(body, m.files["master.m3u8"]) {
				t.Error("the master playlist of an archived course's lesson is not served")
			}
			m.student.do(t, "PUT", lesson+"/progress", map[string]any{"session_id": "s1", "seq": 1, "position_ms": 4000,
				"ranges": [][]int64{{0, 4000}}}).want(http.StatusOK)
			m.student.do(t, "GET", lesson+"/comments", nil).want(http.StatusOK)
		})
		t.Run("AccessCanStillBeTakenAway", func(t *testing.T) {
			var mate struct{ ID string }
			m.classmate.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&mate)
			m.teacher.do(t, "DELETE", course+"/members/"+mate.ID, nil).want(http.StatusNoContent)
			m.classmate.do(t, "GET", lesson, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("Restore", func(t *testing.T) {
			var back courseSettingsJSON
			m.teacher.do(t, "POST", course+"/unarchive", nil).want(http.StatusOK).decode(&back)
			if back.ArchivedAt != nil {
				t.Errorf("unarchive answered archived_at %v", back.ArchivedAt)
			}
			if _, ok := listCourses(t, m.student)[m.course.ID]; !ok {
				t.Error("a restored course is not in the main list")
			}
			m.student.do(t, "POST", lesson+"/comments", map[string]any{"kind": "comment", "visibility": "class",
				"at_ms": 10, "body": "back again"}).want(http.StatusCreated)
		})
	})
}

// trashJSON is the trash as the API lists it.
type trashJSON struct {
	Items []struct {
		Kind        string    `json:"kind"`
		ID          string    `json:"id"`
		Title       string    `json:"title"`
		CourseID    string    `json:"course_id"`
		CourseTitle string    `json:"course_title"`
		DeletedAt   time.Time `json:"deleted_at"`
		PurgeAt     time.Time `json:"purge_at"`
		DaysLeft    int       `json:"days_left"`
	} `json:"items"`
	RetentionDays int `json:"retention_days"`
}

func TestTrashLesson(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
			m := newMediaClass(t, fx)
			lesson := "/api/v1/lessons/" + m.lessonID
			m.teacher.do(t, "PATCH", lesson, map[string]any{"title": "Phonons"}).want(http.StatusOK)
			var q struct{ ID string }
			m.student.do(t, "POST", lesson+"/comments", map[string]any{"kind": "question", "visibility": "class",
				"at_ms": 1000, "body": "Why?"}).want(http.StatusCreated).decode(&q)
			m.student.do(t, "PUT", lesson+"/progress", map[string]any{"session_id": "s1", "seq": 1, "position_ms": 4000,
				"ranges": [][]int64{{0, 4000}}}).want(http.StatusOK)
			base := mediaBase(t, playback(t, m.student, m.lessonID))
			m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
			m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)

			m.student.do(t, "DELETE", lesson, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.teacher.do(t, "DELETE", lesson, nil).want(http.StatusNoContent)

			t.Run("GoneForEveryone", func(t *testing.T) {
				for _, c := range []*client{m.student, m.teacher} {
					c.do(t, "GET", lesson, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					c.do(t, "GET", lesson+"/playback", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					c.do(t, "GET", lesson+"/comments", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					c.do(t, "GET", "/api/v1/comments/"+q.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					var lessons struct{ Lessons []struct{ ID string } }
					c.do(t, "GET", "/api/v1/courses/"+m.course.ID+"/lessons", nil).want(http.StatusOK).decode(&lessons)
					if len(lessons.Lessons) != 0 {
						t.Errorf("course lists %v after the delete", lessons.Lessons)
					}
					var hits struct{ Hits []any }
					c.do(t, "GET", "/api/v1/search?q=Phonons", nil).want(http.StatusOK).decode(&hits)
					if len(hits.Hits) != 0 {
						t.Errorf("search still finds the trashed lesson: %v", hits.Hits)
					}
				}
				// The links handed out before stop at once.
				m.anonymous.do(t, "GET", base+"master.m3u8", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				var inbox struct{ Questions []any }
				m.teacher.do(t, "GET", "/api/v1/questions", nil).want(http.StatusOK).decode(&inbox)
				if len(inbox.Questions) != 0 {
					t.Errorf("the inbox still holds the trashed lesson's question: %v", inbox.Questions)
				}
				// Its media is kept.
				if keys := storedKeys(t, fx.Store, lectern.LessonPrefix(m.lessonID)); len(keys) != len(m.files) {
					t.Errorf("stored after the delete: %d objects, want the %d of its output", len(keys), len(m.files))
				}
			})
			t.Run("InTheTeachersTrash", func(t *testing.T) {
				var tr trashJSON
				m.teacher.do(t, "GET", "/api/v1/trash", nil).want(http.StatusOK).decode(&tr)
				if len(tr.Items) != 1 || tr.Items[0].ID != m.lessonID || tr.Items[0].Kind != "lesson" ||
					tr.Items[0].CourseID != m.course.ID || tr.Items[0].DaysLeft != 30 || tr.RetentionDays != 30 {
					t.Fatalf("teacher's trash = %+v", tr)
				}
				if want := tr.Items[0].DeletedAt.Add(30 * 24 * time.Hour); !tr.Items[0].PurgeAt.Equal(want) {
					t.Errorf("purge_at = %v, want %v", tr.Items[0].PurgeAt, want)
				}
				m.student.do(t, "GET", "/api/v1/trash", nil).want(http.StatusOK).decode(&tr)
				if len(tr.Items) != 0 {
					t.Errorf("student's trash = %+v", tr.Items)
				}
				m.student.do(t, "POST", "/api/v1/trash/lessons/"+m.lessonID+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				m.outsider.do(t, "POST", "/api/v1/trash/lessons/"+m.lessonID+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				m.teacher.do(t, "POST", "/api/v1/trash/pictures/"+m.lessonID+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			})
			t.Run("RestoredWhole", func(t *testing.T) {
				m.ts.Clock.Advance(24 * time.Hour)
				var tr trashJSON
				m.teacher.do(t, "GET", "/api/v1/trash", nil).want(http.StatusOK).decode(&tr)
				if len(tr.Items) != 1 || tr.Items[0].DaysLeft != 29 {
					t.Errorf("a day later, the trash = %+v; want 29 days left", tr.Items)
				}
				m.teacher.do(t, "POST", "/api/v1/trash/lessons/"+m.lessonID+"/restore", nil).want(http.StatusOK)
				var l struct {
					Title    string
					Progress *struct {
						PositionMS int64 `json:"position_ms"`
					}
				}
				m.student.do(t, "GET", lesson, nil).want(http.StatusOK).decode(&l)
				if l.Title != "Phonons" || l.Progress == nil || l.Progress.PositionMS != 4000 {
					t.Errorf("restored lesson: %+v (progress %+v)", l, l.Progress)
				}
				m.student.do(t, "GET", "/api/v1/comments/"+q.ID, nil).want(http.StatusOK)
				base := mediaBase(t, playback(t, m.student, m.lessonID))
				if body := m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK).Body; !bytes.Equal(body, m.files["v0/seg_00000.m4s"]) {
					t.Error("the restored lesson's segment is not served whole")
				}
				m.teacher.do(t, "POST", "/api/v1/trash/lessons/"+m.lessonID+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			})
		})
	})
}

func TestTrashCourse(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx)
		course := "/api/v1/courses/" + m.course.ID
		base := mediaBase(t, playback(t, m.student, m.lessonID))
		m.student.do(t, "DELETE", course, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		m.outsider.do(t, "DELETE", course, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		m.teacher.do(t, "DELETE", course, nil).want(http.StatusNoContent)
		for _, c := range []*client{m.student, m.teacher} {
			c.do(t, "GET", course, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			c.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if _, ok := listCourses(t, c)[m.course.ID]; ok {
				t.Error("a trashed course is still listed")
			}
		}
		m.anonymous.do(t, "GET", base+"master.m3u8", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		var tr trashJSON
		m.teacher.do(t, "GET", "/api/v1/trash", nil).want(http.StatusOK).decode(&tr)
		if len(tr.Items) != 1 || tr.Items[0].Kind != "course" || tr.Items[0].ID != m.course.ID {
			t.Fatalf("teacher's trash = %+v", tr)
		}
		m.teacher.do(t, "POST", "/api/v1/trash/courses/"+m.course.ID+"/restore", nil).want(http.StatusOK)
		if _, ok := listCourses(t, m.student)[m.course.ID]; !ok {
			t.Error("the restored course is not listed for its student")
		}
		base = mediaBase(t, playback(t, m.student, m.lessonID))
		m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
	})
}

// TestTrashPurge lets the purge loop of a server whose retention is an
// hour remove what has been in the trash longer: media objects from the
// storage (disk and MinIO), then the rows. What is younger stays.
func TestTrashPurge(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
			m := newMediaClass(t, fx, func(o *server.Options) {
				o.TrashRetention = time.Hour
				o.TrashPurgeInterval = 20 * time.Millisecond
			})
			_, admin := m.ts.loginNew(t, lectern.RoleAdmin)
			young := m.newLesson(t, "Young")
			publishMediaOutput(t, fx, young, 1)
			other := createCourse(t, m.teacher, "Gone course")
			otherLesson := readyLesson(t, m.ts, other.ID, "In the gone course", 6000)
			publishMediaOutput(t, fx, otherLesson, 1)

			m.teacher.do(t, "DELETE", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusNoContent)
			m.teacher.do(t, "DELETE", "/api/v1/courses/"+other.ID, nil).want(http.StatusNoContent)
			m.ts.Clock.Advance(61 * time.Minute)
			m.teacher.do(t, "DELETE", "/api/v1/lessons/"+young, nil).want(http.StatusNoContent)

			gone := func() bool {
				return len(storedKeys(t, fx.Store, lectern.LessonPrefix(m.lessonID))) == 0 &&
					len(storedKeys(t, fx.Store, lectern.LessonPrefix(otherLesson))) == 0
			}
			for deadline := time.Now().Add(time.Minute); !gone(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the purge did not remove the expired items' media within a minute")
				}
			}
			var tr trashJSON
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
				admin.do(t, "GET", "/api/v1/trash", nil).want(http.StatusOK).decode(&tr)
				if len(tr.Items) == 1 || time.Now().After(deadline) {
					break
				}
			}
			if len(tr.Items) != 1 || tr.Items[0].ID != young {
				t.Fatalf("trash after the purge = %+v, want only the young lesson", tr.Items)
			}
			if _, err := fx.DB.FindLessonByID(t.Context(), m.lessonID); lectern.ErrorCode(err) != lectern.ENOTFOUND {
				t.Errorf("the purged lesson's row: %v", err)
			}
			if _, err := fx.DB.FindLessonByID(t.Context(), otherLesson); lectern.ErrorCode(err) != lectern.ENOTFOUND {
				t.Errorf("the purged course's lesson's row: %v", err)
			}
			if n := len(storedKeys(t, fx.Store, lectern.LessonPrefix(young))); n != len(m.files) {
				t.Errorf("the young lesson has %d objects left, want %d", n, len(m.files))
			}
			m.teacher.do(t, "POST", "/api/v1/trash/lessons/"+m.lessonID+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)

			// An admin empties the trash at once.
			m.teacher.do(t, "DELETE", "/api/v1/trash", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			admin.do(t, "DELETE", "/api/v1/trash", nil).want(http.StatusOK)
			if n := len(storedKeys(t, fx.Store, lectern.LessonPrefix(young))); n != 0 {
				t.Errorf("emptying the trash left %d objects of the young lesson", n)
			}
			m.teacher.do(t, "POST", "/api/v1/trash/lessons/"+young+"/restore", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
	})
}

// TestTrashPurgeTwoProcesses runs two API servers over one database and
// one bucket, both purging often, as a scaled deployment does: every
// expired lesson's media and rows go, and neither process reports an
// error for what the other removed first.
func TestTrashPurgeTwoProcesses(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
			var logs syncBuffer
			opts := func(o *server.Options) {
				o.TrashRetention = time.Hour
				o.TrashPurgeInterval = 5 * time.Millisecond
				o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			}
			m := newMediaClass(t, fx, opts)
			newServer(t, fx, opts)
			ids := []string{m.lessonID}
			for i := range 5 {
				id := m.newLesson(t, fmt.Sprintf("Lesson %d", i))
				publishMediaOutput(t, fx, id, 1)
				ids = append(ids, id)
			}
			for _, id := range ids {
				m.teacher.do(t, "DELETE", "/api/v1/lessons/"+id, nil).want(http.StatusNoContent)
			}
			m.ts.Clock.Advance(61 * time.Minute)
			left := func() int {
				n := 0
				for _, id := range ids {
					if _, err := fx.DB.FindLessonByID(t.Context(), id); err == nil {
						n++
					}
					n += len(storedKeys(t, fx.Store, lectern.LessonPrefix(id)))
				}
				return n
			}
			for deadline := time.Now().Add(time.Minute); left() > 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after a minute, %d rows and objects of the expired lessons are left", left())
				}
			}
			if strings.Contains(logs.String(), "trash purge") {
				t.Errorf("a purge reported an error:\n%s", logs.String())
			}
		})
	})
}
