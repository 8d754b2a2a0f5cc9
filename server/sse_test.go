package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// streamWait bounds how long a test waits for an event that must come;
// reaching it means the event was lost, not that it was slow.
const streamWait = 10 * time.Second

// newLiveServer is newServer that also returns the *server.Server, to
// tune and close its event streams.
func newLiveServer(t *testing.T, fx *fixture, edit ...func(*server.Options)) (*testServer, *server.Server) {
	t.Helper()
	opts := server.Options{DB: fx.DB, Storage: fx.Store, Clock: fx.Clock, Secret: []byte("0123456789abcdef0123456789abcdef")}
	for _, e := range edit {
		e(&opts)
	}
	s, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() { s.Close() })
	return &testServer{fixture: fx, URL: hs.URL}, s
}

// sseEvent is one event read from a stream, or a comment line (Comment).
type sseEvent struct {
	Name, Data, Comment string
}

// eventStream is a real HTTP client reading a lesson's event stream.
type eventStream struct {
	events chan sseEvent
}

// openEvents opens the lesson's stream as c and waits until it is ready.
func openEvents(t *testing.T, c *client, lessonID string) *eventStream {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+"/api/v1/lessons/"+lessonID+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("event stream: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	es := &eventStream{events: make(chan sseEvent)}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); resp.Body.Close() })
	go func() {
		defer close(es.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			var send *sseEvent
			switch {
			case line == "" && ev.Name != "":
				send, ev = &sseEvent{Name: ev.Name, Data: ev.Data}, sseEvent{}
			case strings.HasPrefix(line, ":"):
				send = &sseEvent{Comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[len("data: "):]
			}
			if send != nil {
				select {
				case es.events <- *send:
				case <-stop:
					return
				}
			}
		}
	}()
	if ev, ok := es.next(t); !ok || ev.Name != "ready" {
		t.Fatalf("first event = %+v (stream open %v), want ready", ev, ok)
	}
	return es
}

// next returns the next event or comment, or false when the stream ended.
func (es *eventStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-es.events:
		return ev, ok
	case <-time.After(streamWait):
		t.Fatalf("nothing on the event stream for %v", streamWait)
		return sseEvent{}, false
	}
}

// changesUntil reads entry events, as "event:id", up to and including the
// one about entry last.
func (es *eventStream) changesUntil(t *testing.T, last string) []string {
	t.Helper()
	var got []string
	for {
		ev, ok := es.next(t)
		if !ok {
			t.Fatalf("stream ended after %v, before the event about %s", got, last)
		}
		if ev.Name == "" {
			continue // heartbeat
		}
		var c commentJSON
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatalf("event %s data %q: %v", ev.Name, ev.Data, err)
		}
		got = append(got, ev.Name+":"+c.ID)
		if c.ID == last {
			return got
		}
	}
}

// wantEnd reads until the stream ends, failing unless it ends and its last
// event is named last ("" for none).
func (es *eventStream) wantEnd(t *testing.T, last string) {
	t.Helper()
	var final sseEvent
	for {
		ev, ok := es.next(t)
		if !ok {
			break
		}
		if ev.Name != "" {
			final = ev
		}
	}
	if final.Name != last {
		t.Errorf("last event before the stream ended = %+v, want %q", final, last)
	}
}

func TestLessonEvents(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, srv := newLiveServer(t, fx)
		cl := newClassroom(t, ts)
		t.Run("Visibility", func(t *testing.T) {
			streams := map[string]*eventStream{
				"Author": openEvents(t, cl.author, cl.lessonID), "Classmate": openEvents(t, cl.classmate, cl.lessonID),
				"CourseTeacher": openEvents(t, cl.teacher, cl.lessonID), "Admin": openEvents(t, cl.admin, cl.lessonID),
			}
			cl.otherTeacher.do(t, "GET", "/api/v1/lessons/"+cl.lessonID+"/events", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)

			note := cl.post(t, cl.author, "note", "private", 100, "revise this")
			shy := cl.post(t, cl.author, "question", "teachers", 200, "I am lost")
			open := cl.post(t, cl.classmate, "comment", "class", 300, "first!")
			answer := cl.reply(t, cl.teacher, shy, "see chapter 2")
			cl.author.do(t, "PATCH", "/api/v1/comments/"+shy.ID, map[string]any{"status": "resolved"}).want(http.StatusOK)
			cl.teacher.do(t, "DELETE", "/api/v1/comments/"+open.ID, nil).want(http.StatusNoContent)
			last := cl.post(t, cl.teacher, "comment", "class", 400, "that's all")

			teachers := []string{"comment.created:" + shy.ID, "comment.created:" + open.ID,
				"comment.created:" + answer.ID, "comment.updated:" + shy.ID, "comment.updated:" + shy.ID,
				"comment.deleted:" + open.ID, "comment.created:" + last.ID}
			want := map[string][]string{
				"Author":        append([]string{"comment.created:" + note.ID}, teachers...),
				"Classmate":     {"comment.created:" + open.ID, "comment.deleted:" + open.ID, "comment.created:" + last.ID},
				"CourseTeacher": teachers,
				"Admin":         teachers,
			}
			for name, es := range streams {
				if diff := cmp.Diff(want[name], es.changesUntil(t, last.ID)); diff != "" {
					t.Errorf("%s's stream (-want +got):\n%s", name, diff)
				}
			}
		})
		t.Run("EntryAsTheWatcherSeesIt", func(t *testing.T) {
			es := openEvents(t, cl.classmate, cl.lessonID)
			c := cl.post(t, cl.author, "comment", "class", 0, `<b>bold</b> "quoted"`)
			ev, _ := es.next(t)
			var got commentJSON
			if err := json.Unmarshal([]byte(ev.Data), &got); err != nil || got.Body != `<b>bold</b> "quoted"` || got.ID != c.ID {
				t.Errorf("event %s = %+v (%v), want the entry with its body as text", ev.Name, got, err)
			}
		})
		t.Run("Heartbeat", func(t *testing.T) {
			server.SetStreamTiming(srv, 10*time.Millisecond, time.Hour)
			es := openEvents(t, cl.classmate, cl.lessonID)
			if ev, _ := es.next(t); ev.Comment != "ping" {
				t.Errorf("idle stream sent %+v, want a ping comment", ev)
			}
		})
		t.Run("LogoutEndsTheStreamAtOnce", func(t *testing.T) {
			// The periodic check is too far off to be what ends it.
			server.SetStreamTiming(srv, time.Hour, time.Hour)
			u, pw := ts.createUser(t, lectern.RoleAdmin)
			c := ts.login(t, u, pw)
			es := openEvents(t, c, cl.lessonID)
			c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
			es.wantEnd(t, "session_ended")
		})
		// An admin deactivating or deleting an account ends its streams at
		// once too.
		for _, action := range []struct{ name, method, path string }{
			{"DeactivationEndsTheStreamAtOnce", "POST", "/deactivate"}, {"DeletionEndsTheStreamAtOnce", "DELETE", ""},
		} {
			t.Run(action.name, func(t *testing.T) {
				server.SetStreamTiming(srv, time.Hour, time.Hour)
				u, pw := ts.createUser(t, lectern.RoleAdmin)
				es := openEvents(t, ts.login(t, u, pw), cl.lessonID)
				r := cl.admin.do(t, action.method, "/api/v1/users/"+u.ID+action.path, nil)
				if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
					t.Fatalf("%s %s: status %d %s", action.method, action.path, r.Status, r.Body)
				}
				es.wantEnd(t, "session_ended")
			})
		}
		t.Run("RecheckEndsTheStreamOfALoggedOutSession", func(t *testing.T) {
			server.SetStreamTiming(srv, time.Hour, 10*time.Millisecond)
			u, pw := ts.createUser(t, lectern.RoleAdmin)
			c := ts.login(t, u, pw)
			es := openEvents(t, c, cl.lessonID)
			c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
			es.wantEnd(t, "session_ended")
		})
		t.Run("RecheckEndsTheStreamOfAnExpiredSession", func(t *testing.T) {
			// Last: every session of this server expires.
			server.SetStreamTiming(srv, time.Hour, 10*time.Millisecond)
			es := openEvents(t, cl.classmate, cl.lessonID)
			ts.Clock.Advance(15 * 24 * time.Hour)
			es.wantEnd(t, "session_ended")
		})
	})
}

func TestLessonEventsShutdown(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts, srv := newLiveServer(t, fx)
	cl := newClassroom(t, ts)
	es := openEvents(t, cl.author, cl.lessonID)
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	es.wantEnd(t, "")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(streamWait):
		t.Fatal("Close did not return after the streams ended")
	}
	r := cl.author.do(t, "GET", "/api/v1/lessons/"+cl.lessonID+"/events", nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("stream after Close: status %d, Retry-After %q; want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
}

// TestLessonEventsAcrossReplicas runs two API servers on one database and
// one Redis, as the scaled setup does: a watcher of one sees what is
// posted through the other.
func TestLessonEventsAcrossReplicas(t *testing.T) {
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := testenv.Name("lectern:test:sse") + ":"
	withRedis := func(o *server.Options) {
		bus := events.NewRedis(rdb, prefix)
		t.Cleanup(func() { bus.Close() })
		o.Events = bus
	}
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	a, srvA := newLiveServer(t, fx, withRedis)
	b, srvB := newLiveServer(t, fx, withRedis)
	cl := newClassroom(t, a)
	u, pw := b.createUser(t, lectern.RoleAdmin)
	watcher := b.login(t, u, pw)
	es := openEvents(t, watcher, cl.lessonID)
	c := cl.post(t, cl.author, "question", "teachers", 0, "through replica a")
	if diff := cmp.Diff([]string{"comment.created:" + c.ID}, es.changesUntil(t, c.ID)); diff != "" {
		t.Errorf("replica b's stream (-want +got):\n%s", diff)
	}
	// A logout on replica a ends the session's stream on replica b.
	server.SetStreamTiming(srvB, time.Hour, time.Hour)
	es = openEvents(t, watcher, cl.lessonID)
	server.EndSessionStreams(srvA, sessionCookieValue(t, watcher, b))
	es.wantEnd(t, "session_ended")
}
