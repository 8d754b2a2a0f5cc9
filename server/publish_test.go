package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

// publicationJSON is what a lesson's teachers see of its publication.
type publicationJSON struct {
	State     string     `json:"state"`
	PublishAt *time.Time `json:"publish_at"`
	TimeZone  string     `json:"time_zone"`
}

// publishedLesson is a lesson as the API shows it, with its publication.
type publishedLesson struct {
	ID          string           `json:"id"`
	WatchBy     *time.Time       `json:"watch_by"`
	Publication *publicationJSON `json:"publication"`
}

// TestPublication: a new lesson is a draft; its teacher publishes,
// schedules (at a time with an offset, or a local time in the course's
// zone), unpublishes it and sets a watch-by date; until it is published a
// student gets 404 for it and everything of it, exactly as for a lesson
// that does not exist, and sees it at its time without anyone doing
// anything; media links stop at once when it goes back to a draft.
func TestPublication(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx)
		word := "Ultrasonics"
		m.teacher.do(t, "PATCH", "/api/v1/courses/"+m.course.ID, map[string]string{"time_zone": "Europe/Paris"}).want(http.StatusOK)
		var draft publishedLesson
		m.teacher.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/lessons", map[string]string{"title": word + " draft"}).
			want(http.StatusCreated).decode(&draft)
		if draft.Publication == nil || draft.Publication.State != "draft" || draft.Publication.PublishAt != nil || draft.Publication.TimeZone != "Europe/Paris" {
			t.Fatalf("a new lesson's publication = %+v, want a draft in Europe/Paris", draft.Publication)
		}
		publishMediaOutput(t, fx, draft.ID, 1)
		m.teacher.do(t, "POST", "/api/v1/lessons/"+draft.ID+"/comments",
			map[string]any{"at_ms": 1000, "body": word + " note", "kind": "comment", "visibility": "class"}).want(http.StatusCreated)

		// hidden checks that the student finds nothing of lesson id, and
		// that a lesson that does not exist answers the same.
		hidden := func(t *testing.T, id string) {
			t.Helper()
			for _, id := range []string{id, "nosuchlesson"} {
				for _, path := range []string{"", "/playback", "/comments", "/captions", "/chapters", "/progress", "/markers", "/events"} {
					msg := m.student.do(t, "GET", "/api/v1/lessons/"+id+path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					if id != "nosuchlesson" && strings.Contains(msg, "draft") {
						t.Errorf("GET %s says %q: a student must not learn that a draft exists", path, msg)
					}
				}
				m.student.do(t, "POST", "/api/v1/lessons/"+id+"/comments",
					map[string]any{"at_ms": 1000, "body": "hi", "kind": "comment", "visibility": "class"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				m.student.do(t, "GET", "/watch/"+id, nil).want(http.StatusNotFound)
			}
			var list struct{ Lessons []publishedLesson }
			m.student.do(t, "GET", "/api/v1/courses/"+m.course.ID+"/lessons", nil).want(http.StatusOK).decode(&list)
			for _, l := range list.Lessons {
				if l.ID == id {
					t.Errorf("the student's lesson list holds the hidden lesson")
				}
				if l.Publication != nil {
					t.Errorf("a student sees lesson %s's publication %+v", l.ID, l.Publication)
				}
			}
			if page := string(m.student.do(t, "GET", "/courses/"+m.course.ID, nil).want(http.StatusOK).Body); strings.Contains(page, word) {
				t.Errorf("the student's course page shows the hidden lesson")
			}
			var hits struct {
				Hits []struct {
					LessonID string `json:"lesson_id"`
				}
			}
			m.student.do(t, "GET", "/api/v1/search?q="+url.QueryEscape(word), nil).want(http.StatusOK).decode(&hits)
			if len(hits.Hits) != 0 {
				t.Errorf("the student's search finds %d hits of the hidden lesson", len(hits.Hits))
			}
		}
		shown := func(t *testing.T, id string) {
			t.Helper()
			for _, path := range []string{"", "/playback", "/comments", "/chapters", "/progress"} {
				m.student.do(t, "GET", "/api/v1/lessons/"+id+path, nil).want(http.StatusOK)
			}
			if page := string(m.student.do(t, "GET", "/courses/"+m.course.ID, nil).want(http.StatusOK).Body); !strings.Contains(page, word) {
				t.Errorf("the student's course page does not show the lesson")
			}
		}
		patch := func(t *testing.T, body map[string]any) publishedLesson {
			t.Helper()
			var l publishedLesson
			m.teacher.do(t, "PATCH", "/api/v1/lessons/"+draft.ID, body).want(http.StatusOK).decode(&l)
			return l
		}

		t.Run("DraftHidden", func(t *testing.T) {
			hidden(t, draft.ID)
			m.teacher.do(t, "GET", "/api/v1/lessons/"+draft.ID+"/playback", nil).want(http.StatusOK)
		})
		t.Run("ScheduledAppearsAtItsTime", func(t *testing.T) {
			at := fx.Clock.Now().Add(2 * time.Hour).Truncate(time.Second)
			l := patch(t, map[string]any{"publish_at": at.Format(time.RFC3339)})
			if l.Publication.State != "scheduled" || !l.Publication.PublishAt.Equal(at) {
				t.Fatalf("scheduled: %+v, want scheduled at %s", l.Publication, at)
			}
			hidden(t, draft.ID)
			fx.Clock.Advance(2*time.Hour + time.Second)
			shown(t, draft.ID)
			var got publishedLesson
			m.teacher.do(t, "GET", "/api/v1/lessons/"+draft.ID, nil).want(http.StatusOK).decode(&got)
			if got.Publication.State != "published" {
				t.Errorf("after its time the teacher sees %q, want published", got.Publication.State)
			}
		})
		t.Run("LocalTimeInCourseZone", func(t *testing.T) {
			paris, _ := time.LoadLocation("Europe/Paris")
			local := fx.Clock.Now().In(paris).Add(24 * time.Hour).Truncate(time.Minute)
			l := patch(t, map[string]any{"publish_at": local.Format("2006-01-02T15:04")})
			if !l.Publication.PublishAt.Equal(local) {
				t.Errorf("local %s in Europe/Paris scheduled at %s", local.Format("2006-01-02T15:04"), l.Publication.PublishAt)
			}
			hidden(t, draft.ID)
		})
		t.Run("PublishNowThenUnpublishStopsMediaAtOnce", func(t *testing.T) {
			patch(t, map[string]any{"publish_at": "now"})
			p := playback(t, m.student, draft.ID)
			seg := mediaBase(t, p) + "v0/seg_00000.m4s"
			m.student.do(t, "GET", seg, nil).want(http.StatusOK)
			m.student.do(t, "GET", seg, nil).want(http.StatusOK) // now from the access cache
			if l := patch(t, map[string]any{"publish_at": nil}); l.Publication.State != "draft" {
				t.Errorf("unpublished: %+v", l.Publication)
			}
			m.student.do(t, "GET", seg, nil).want(http.StatusNotFound)
			hidden(t, draft.ID)
			patch(t, map[string]any{"publish_at": "now"})
			m.student.do(t, "GET", seg, nil).want(http.StatusOK)
		})
		t.Run("WatchBy", func(t *testing.T) {
			l := patch(t, map[string]any{"watch_by": "2031-01-14T17:00"})
			want := time.Date(2031, 1, 14, 16, 0, 0, 0, time.UTC)
			if l.WatchBy == nil || !l.WatchBy.Equal(want) {
				t.Fatalf("watch_by = %v, want %s", l.WatchBy, want)
			}
			var seen publishedLesson
			m.student.do(t, "GET", "/api/v1/lessons/"+draft.ID, nil).want(http.StatusOK).decode(&seen)
			if seen.WatchBy == nil || !seen.WatchBy.Equal(want) || seen.Publication != nil {
				t.Errorf("the student sees watch_by %v and publication %+v, want %s and none", seen.WatchBy, seen.Publication, want)
			}
			// Analytics: the student who finished is on time, then late
			// once the date is before they finished; the classmate not yet.
			m.student.do(t, "PUT", "/api/v1/lessons/"+draft.ID+"/progress",
				map[string]any{"session_id": "s1", "seq": 1, "position_ms": 6000, "ranges": [][]int64{{0, 6000}}}).want(http.StatusOK)
			statuses := func() map[string]string {
				var a struct {
					WatchBy  *time.Time `json:"watch_by"`
					Students []struct {
						Email  string `json:"email"`
						Status string `json:"watch_by_status"`
					}
				}
				m.teacher.do(t, "GET", "/api/v1/lessons/"+draft.ID+"/analytics", nil).want(http.StatusOK).decode(&a)
				out := map[string]string{}
				for _, st := range a.Students {
					out[st.Email] = st.Status
				}
				return out
			}
			email := func(c *client) string {
				var me struct{ Email string }
				c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
				return me.Email
			}
			studentEmail, classmateEmail := email(m.student), email(m.classmate)
			if got := statuses(); got[studentEmail] != "on_time" || got[classmateEmail] != "not_yet" {
				t.Errorf("watch-by statuses = %v, want the student on_time and the classmate not_yet", got)
			}
			patch(t, map[string]any{"watch_by": fx.Clock.Now().Add(-time.Hour).Format(time.RFC3339)})
			if got := statuses(); got[studentEmail] != "late" || got[classmateEmail] != "not_yet" {
				t.Errorf("watch-by statuses = %v, want the student late and the classmate not_yet", got)
			}
			if l := patch(t, map[string]any{"watch_by": nil}); l.WatchBy != nil {
				t.Errorf("cleared watch_by = %v", l.WatchBy)
			}
		})
		t.Run("BadInputChangesNothing", func(t *testing.T) {
			for _, body := range []map[string]any{
				{"publish_at": "tomorrow"}, {"publish_at": 5}, {"watch_by": "now"}, {"publish_at": "2031-02-30T10:00"},
				{"title": "Renamed", "publish_at": "soon"},
			} {
				m.teacher.do(t, "PATCH", "/api/v1/lessons/"+draft.ID, body).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			var got struct {
				Title string `json:"title"`
				publishedLesson
			}
			m.teacher.do(t, "GET", "/api/v1/lessons/"+draft.ID, nil).want(http.StatusOK).decode(&got)
			if got.Title != word+" draft" || got.Publication.State != "published" {
				t.Errorf("after bad input: title %q, state %q", got.Title, got.Publication.State)
			}
			m.student.do(t, "PATCH", "/api/v1/lessons/"+draft.ID, map[string]any{"publish_at": nil}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			m.outsider.do(t, "PATCH", "/api/v1/lessons/"+draft.ID, map[string]any{"publish_at": nil}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
	})
}
