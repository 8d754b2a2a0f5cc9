package server_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lectern/lectern"
)

// watchClass is course A with its teacher, three students and a ready
// lesson of 100 s, and course B with its own teacher and student.
type watchClass struct {
	ts                 *testServer
	teacher            *client
	students           []*client
	studentUsers       []*lectern.User
	outsider, teacherB *client
	admin              *client
	courseID, lessonID string
}

const watchLessonMS = 100_000

func newWatchClass(t *testing.T, ts *testServer) *watchClass {
	t.Helper()
	w := &watchClass{ts: ts}
	_, w.teacher = ts.loginNew(t, lectern.RoleTeacher)
	_, w.teacherB = ts.loginNew(t, lectern.RoleTeacher)
	_, w.outsider = ts.loginNew(t, lectern.RoleStudent)
	_, w.admin = ts.loginNew(t, lectern.RoleAdmin)
	a, b := createCourse(t, w.teacher, "Course A"), createCourse(t, w.teacherB, "Course B")
	w.courseID = a.ID
	for range 3 {
		u, s := ts.loginNew(t, lectern.RoleStudent)
		s.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *a.JoinCode}).want(http.StatusOK)
		w.students = append(w.students, s)
		w.studentUsers = append(w.studentUsers, u)
	}
	w.outsider.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *b.JoinCode}).want(http.StatusOK)
	w.lessonID = w.teacher.do(t, "POST", "/api/v1/courses/"+a.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Week 1"}).
		want(http.StatusCreated).fields()["id"].(string)
	ready, duration := lectern.LessonReady, int64(watchLessonMS)
	if _, err := ts.DB.UpdateLesson(context.Background(), w.lessonID, lectern.LessonUpdate{Status: &ready, DurationMS: &duration}); err != nil {
		t.Fatal(err)
	}
	return w
}

// beatJSON is a heartbeat body; ranges are start, end pairs in seconds.
func beatJSON(session string, seq, positionS int64, ranges ...int64) map[string]any {
	rs := [][2]int64{}
	for i := 0; i+1 < len(ranges); i += 2 {
		rs = append(rs, [2]int64{ranges[i] * 1000, ranges[i+1] * 1000})
	}
	return map[string]any{"session_id": session, "seq": seq, "position_ms": positionS * 1000, "ranges": rs}
}

func (w *watchClass) put(t *testing.T, c *client, body any) *lectern.Progress {
	t.Helper()
	var p lectern.Progress
	c.do(t, "PUT", "/api/v1/lessons/"+w.lessonID+"/progress", body).want(http.StatusOK).decode(&p)
	return &p
}

func (w *watchClass) get(t *testing.T, c *client) *lectern.Progress {
	t.Helper()
	var p lectern.Progress
	c.do(t, "GET", "/api/v1/lessons/"+w.lessonID+"/progress", nil).want(http.StatusOK).decode(&p)
	return &p
}

func TestProgressAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		w := newWatchClass(t, ts)
		path := "/api/v1/lessons/" + w.lessonID + "/progress"

		t.Run("PutThenGet", func(t *testing.T) {
			s := w.students[0]
			w.put(t, s, beatJSON("tab", 0, 0))
			fx.Clock.Advance(10 * time.Second)
			resp := s.do(t, "PUT", path, beatJSON("tab", 1, 10, 0, 10)).want(http.StatusOK)
			fields := resp.fields()
			for _, key := range []string{"position_ms", "watched_ms", "percent", "completed"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("answer %s lacks %q", resp.Body, key)
				}
			}
			var put lectern.Progress
			resp.decode(&put)
			want := lectern.Progress{LessonID: w.lessonID, DurationMS: watchLessonMS, PositionMS: 10000, LastPositionMS: 10000,
				WatchedMS: 10000, Percent: 10, CompletionThreshold: 90}
			if diff := cmp.Diff(want, put, cmpopts.IgnoreFields(lectern.Progress{}, "LastSeenAt")); diff != "" {
				t.Errorf("PUT answer (-want +got):\n%s", diff)
			}
			if put.LastSeenAt == nil || !put.LastSeenAt.Equal(fx.Clock.Now()) {
				t.Errorf("last_seen_at = %v, want %v", put.LastSeenAt, fx.Clock.Now())
			}
			if diff := cmp.Diff(&put, w.get(t, s)); diff != "" {
				t.Errorf("GET differs from the PUT answer (-put +get):\n%s", diff)
			}
		})

		t.Run("SendBeacon", func(t *testing.T) {
			s := w.students[0]
			before := w.get(t, s)
			fx.Clock.Advance(10 * time.Second)
			body := `{"session_id":"tab","seq":2,"position_ms":20000,"ranges":[[10000,20000]]}`
			s.do(t, "POST", path, body, "Content-Type", "text/plain;charset=UTF-8",
				"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example").wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			if diff := cmp.Diff(before, w.get(t, s)); diff != "" {
				t.Fatalf("a cross-site beacon changed progress (-before +after):\n%s", diff)
			}
			var p lectern.Progress
			s.do(t, "POST", path, body, "Content-Type", "text/plain;charset=UTF-8",
				"Sec-Fetch-Site", "same-origin", "Origin", ts.URL).want(http.StatusOK).decode(&p)
			if p.WatchedMS != 20000 || p.LastPositionMS != 20000 {
				t.Errorf("after a same-origin beacon: watched %d ms at %d, want 20000 at 20000", p.WatchedMS, p.LastPositionMS)
			}
		})

		t.Run("Refused", func(t *testing.T) {
			s := w.students[1]
			s.do(t, "PUT", path, beatJSON("tab", 1, 100, 0, 3600)).wantError(http.StatusBadRequest, lectern.EINVALID)
			s.do(t, "PUT", path, beatJSON("", 1, 10)).wantError(http.StatusBadRequest, lectern.EINVALID)
			s.do(t, "PUT", path, `{"session_id":"tab","seq":1,"ranges":[[1,2,3]]}`).wantError(http.StatusBadRequest, lectern.EINVALID)
			s.do(t, "PUT", path, `{"session_id":`).wantError(http.StatusBadRequest, lectern.EINVALID)
			s.do(t, "PUT", path, "session_id=tab", "Content-Type", "application/x-www-form-urlencoded").
				wantError(http.StatusBadRequest, lectern.EINVALID)
			s.do(t, "PUT", path, `{"session_id":"`+strings.Repeat("x", 20000)+`"}`).wantError(http.StatusRequestEntityTooLarge, lectern.ETOOLARGE)
			if p := w.get(t, s); p.LastSeenAt != nil {
				t.Errorf("refused beats were recorded: %+v", p)
			}
		})

		t.Run("ScrubbingDoesNotCount", func(t *testing.T) {
			s := w.students[1]
			for i, pos := range []int64{0, 30, 60, 95} {
				fx.Clock.Advance(5 * time.Second)
				w.put(t, s, beatJSON("scrub", int64(i), pos))
			}
			p := w.get(t, s)
			if p.WatchedMS != 0 || p.Completed || p.LastPositionMS != 95000 || p.PositionMS != 0 {
				t.Errorf("scrubbed to 95 s: watched %d ms, completed %v, last at %d, resume at %d; want 0, false, 95000, 0 (near the end)",
					p.WatchedMS, p.Completed, p.LastPositionMS, p.PositionMS)
			}
		})

		t.Run("ResumeNearStart", func(t *testing.T) {
			s := w.students[1]
			fx.Clock.Advance(5 * time.Second)
			w.put(t, s, beatJSON("scrub", 10, 4))
			if p := w.get(t, s); p.PositionMS != 0 || p.LastPositionMS != 4000 {
				t.Errorf("left at 4 s of 100: resume at %d (last %d), want 0", p.PositionMS, p.LastPositionMS)
			}
		})

		t.Run("DuplicatedAndReorderedConcurrently", func(t *testing.T) {
			s := w.students[2]
			w.put(t, s, beatJSON("tab", 0, 0))
			fx.Clock.Advance(time.Minute)
			var order []int64
			for seq := int64(1); seq <= 5; seq++ {
				order = append(order, seq, seq, seq)
			}
			rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			var wg sync.WaitGroup
			for _, seq := range order {
				wg.Go(func() {
					s.do(t, "PUT", path, beatJSON("tab", seq, seq*10, (seq-1)*10, seq*10)).want(http.StatusOK)
				})
			}
			wg.Wait()
			p := w.get(t, s)
			if p.WatchedMS != 50000 || p.Percent != 50 || p.LastPositionMS != 50000 {
				t.Errorf("15 beats (5 distinct, shuffled): watched %d ms (%v %%) at %d; want 50000 (50 %%) at 50000",
					p.WatchedMS, p.Percent, p.LastPositionMS)
			}
		})

		t.Run("StaleTabCannotMoveBack", func(t *testing.T) {
			s := w.students[2]
			fx.Clock.Advance(time.Second)
			w.put(t, s, beatJSON("second-tab", 1, 70, 60, 70))
			fx.Clock.Advance(10 * time.Second)
			if p := w.put(t, s, beatJSON("tab", 6, 55, 50, 55)); p.LastPositionMS != 70000 || p.WatchedMS != 65000 {
				t.Errorf("older tab's beat: at %d, watched %d; want position kept at 70000, its seconds counted (65000)",
					p.LastPositionMS, p.WatchedMS)
			}
		})

		t.Run("OtherCourseGets404", func(t *testing.T) {
			for name, c := range map[string]*client{"Student": w.outsider, "Teacher": w.teacherB} {
				t.Run(name, func(t *testing.T) {
					c.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					c.do(t, "PUT", path, beatJSON("tab", 1, 10, 0, 10)).wantError(http.StatusNotFound, lectern.ENOTFOUND)
					c.do(t, "POST", path, beatJSON("tab", 1, 10, 0, 10)).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				})
			}
			ts.client(t).do(t, "GET", path, nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("LessonsShowMyProgress", func(t *testing.T) {
			mine := w.get(t, w.students[2])
			var list struct {
				Lessons []struct {
					ID       string
					Progress *lectern.Progress
				}
			}
			w.students[2].do(t, "GET", "/api/v1/courses/"+w.courseID+"/lessons", nil).want(http.StatusOK).decode(&list)
			if len(list.Lessons) != 1 || !cmp.Equal(list.Lessons[0].Progress, mine) {
				t.Errorf("lesson list shows %+v, want my progress %+v", list.Lessons, mine)
			}
			var one struct{ Progress *lectern.Progress }
			w.students[2].do(t, "GET", "/api/v1/lessons/"+w.lessonID, nil).want(http.StatusOK).decode(&one)
			if !cmp.Equal(one.Progress, mine) {
				t.Errorf("lesson shows %+v, want my progress %+v", one.Progress, mine)
			}
			// The teacher, who has watched nothing, sees no progress, and
			// in particular not the students'.
			for _, r := range []*response{
				w.teacher.do(t, "GET", "/api/v1/courses/"+w.courseID+"/lessons", nil).want(http.StatusOK),
				w.teacher.do(t, "GET", "/api/v1/lessons/"+w.lessonID, nil).want(http.StatusOK),
			} {
				if strings.Contains(string(r.Body), `"progress"`) {
					t.Errorf("teacher's lesson JSON shows progress: %s", r.Body)
				}
			}
		})
	})
}

// TestProgressCompletion watches a lesson to the course's threshold over
// HTTP: not completed just below it, completed at it, and never again
// un-completed.
func TestProgressCompletion(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		w := newWatchClass(t, ts)
		s := w.students[0]
		w.put(t, s, beatJSON("tab", 0, 0))
		var p *lectern.Progress
		for sec := int64(0); sec < 89; sec += 10 {
			fx.Clock.Advance(10 * time.Second)
			end := min(sec+10, 89)
			p = w.put(t, s, beatJSON("tab", end, end, sec, end))
		}
		if p.Completed || p.Percent != 89 {
			t.Fatalf("at 89 %%: completed %v (%v %%), want not completed", p.Completed, p.Percent)
		}
		fx.Clock.Advance(time.Second)
		if p = w.put(t, s, beatJSON("tab", 90, 90, 89, 90)); !p.Completed || p.CompletedAt == nil || !p.CompletedAt.Equal(fx.Clock.Now()) {
			t.Fatalf("at 90 %%: completed %v at %v, want completed now", p.Completed, p.CompletedAt)
		}
		w.teacher.do(t, "PATCH", "/api/v1/courses/"+w.courseID, map[string]int{"completion_threshold": 100}).want(http.StatusOK)
		if got := w.get(t, s); !got.Completed || got.CompletionThreshold != 100 || !got.CompletedAt.Equal(*p.CompletedAt) {
			t.Errorf("after raising the threshold: completed %v at %v (threshold %d), want still completed at %v",
				got.Completed, got.CompletedAt, got.CompletionThreshold, p.CompletedAt)
		}
	})
}

func TestCourseUpdate(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		w := newWatchClass(t, ts)
		path := "/api/v1/courses/" + w.courseID
		t.Run("TeacherSetsThreshold", func(t *testing.T) {
			got := w.teacher.do(t, "PATCH", path, map[string]int{"completion_threshold": 80}).want(http.StatusOK).fields()
			if got["id"] != w.courseID || got["completion_threshold"] != 80.0 || got["join_code"] == nil {
				t.Errorf("PATCH answer = %v, want the course with completion_threshold 80", got)
			}
			if p := w.get(t, w.students[0]); p.CompletionThreshold != 80 {
				t.Errorf("progress shows threshold %d, want 80", p.CompletionThreshold)
			}
			w.admin.do(t, "PATCH", path, map[string]int{"completion_threshold": 75}).want(http.StatusOK)
		})
		t.Run("Invalid", func(t *testing.T) {
			for _, body := range []any{map[string]int{"completion_threshold": 0}, map[string]int{"completion_threshold": 101},
				`{"completion_threshold":"90"}`, `{}`} {
				w.teacher.do(t, "PATCH", path, body).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
		})
		t.Run("StudentForbidden", func(t *testing.T) {
			w.students[0].do(t, "PATCH", path, map[string]int{"completion_threshold": 50}).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		})
		t.Run("OtherCourseGets404", func(t *testing.T) {
			for _, c := range []*client{w.outsider, w.teacherB} {
				c.do(t, "PATCH", path, map[string]int{"completion_threshold": 50}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
			if p := w.get(t, w.students[0]); p.CompletionThreshold != 75 {
				t.Errorf("threshold = %d after refused changes, want 75", p.CompletionThreshold)
			}
		})
	})
}
