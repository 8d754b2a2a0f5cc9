package server_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// TestAccessTakenAwayStopsAtOnce checks that what takes access away is
// refused on the very next request although credentials and media access
// are answered from memory: a removed student's media link, a deleted
// lesson's, a logged-out session, a revoked API token. Embedded runs one
// process; Redis runs two API replicas on one database and one Redis,
// each request made on the replica that did not make the change (there
// the refusal waits only for the invalidation to cross Redis). Last, a
// replica whose invalidations stop reaching it stops caching: a change it
// was never told of is still refused at once.
func TestAccessTakenAwayStopsAtOnce(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) {
		fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		ts := newServer(t, fx)
		testAccessTakenAway(t, ts, ts, 0)
	})
	t.Run("Redis", func(t *testing.T) {
		prefix := testenv.Name("lectern:test:authcache") + ":"
		var busB *events.Redis
		fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		a := newServer(t, fx, withRedisEvents(t, prefix, nil))
		b := newServer(t, fx, withRedisEvents(t, prefix, &busB))
		m := testAccessTakenAway(t, a, b, 2*time.Second)

		// b's invalidations stop: b must not cache any more.
		busB.Close()
		id := m.newLesson(t, "After the outage")
		publishMediaOutput(t, fx, id, 1)
		base := mediaBase(t, playback(t, m.classmate, id))
		onB := &client{base: b.URL, hc: &http.Client{}, header: http.Header{}}
		onB.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		onB.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		var me struct{ ID string }
		m.classmate.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		if err := fx.DB.RemoveCourseMember(t.Context(), m.course.ID, me.ID); err != nil {
			t.Fatal(err)
		}
		onB.do(t, "GET", base+"v0/seg_00000.m4s", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	})
}

// withRedisEvents gives a server its own connection to the test Redis
// and an events bus on it under prefix: servers given the same prefix
// hear each other, as API replicas do. own, when not nil, receives the
// bus.
func withRedisEvents(t *testing.T, prefix string, own **events.Redis) func(*server.Options) {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *server.Options) {
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		bus := events.NewRedis(rdb, prefix)
		t.Cleanup(func() { bus.Close() })
		o.Events = bus
		if own != nil {
			*own = bus
		}
	}
}

// testAccessTakenAway makes each change on a and checks, on b, that the
// next request is refused; wait is how long b may take to hear of it
// (zero: the very next request).
func testAccessTakenAway(t *testing.T, a, b *testServer, wait time.Duration) *mediaClass {
	t.Helper()
	m := mediaClassOn(t, a)
	onB := func(c *client) *client {
		o := &client{base: b.URL, hc: &http.Client{}, header: c.header.Clone()}
		if c.hc.Jar != nil {
			if k := cookieOf(t, c, a); k != "" {
				o.header.Set("Cookie", "lectern_session="+k)
			}
		}
		return o
	}
	// refused checks that req gets status, at once or within wait.
	refused := func(t *testing.T, what string, status int, req func() *response) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			r := req()
			if r.Status == status {
				return
			}
			if !time.Now().Before(deadline) {
				t.Fatalf("%s: status %d, want %d", what, r.Status, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	id := func(c *client) string {
		var me struct{ ID string }
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		return me.ID
	}

	t.Run("MemberRemoved", func(t *testing.T) {
		base := mediaBase(t, playback(t, m.student, m.lessonID))
		student := onB(m.student)
		student.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		student.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		m.teacher.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/members/"+id(m.student), nil).want(http.StatusNoContent)
		refused(t, "segment after removal", http.StatusNotFound, func() *response {
			return student.do(t, "GET", base+"v0/seg_00000.m4s", nil)
		})
	})
	t.Run("LessonDeleted", func(t *testing.T) {
		lesson := m.newLesson(t, "Soon gone")
		publishMediaOutput(t, a.fixture, lesson, 1)
		base := mediaBase(t, playback(t, m.classmate, lesson))
		anon := onB(m.anonymous)
		anon.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
		m.teacher.do(t, "DELETE", "/api/v1/lessons/"+lesson, nil).want(http.StatusNoContent)
		refused(t, "playlist after deletion", http.StatusNotFound, func() *response {
			return anon.do(t, "GET", base+"master.m3u8", nil)
		})
	})
	t.Run("Logout", func(t *testing.T) {
		_, c := a.loginNew(t, lectern.RoleStudent)
		other := onB(c)
		other.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		other.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
		refused(t, "request after logout", http.StatusUnauthorized, func() *response {
			return other.do(t, "GET", "/api/v1/me", nil)
		})
	})
	t.Run("TokenRevoked", func(t *testing.T) {
		var tok struct{ ID, Token string }
		m.teacher.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}).want(http.StatusCreated).decode(&tok)
		script := &client{base: b.URL, hc: &http.Client{}, header: http.Header{"Authorization": {"Bearer " + tok.Token}}}
		script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		m.teacher.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil).want(http.StatusNoContent)
		refused(t, "request after revocation", http.StatusUnauthorized, func() *response {
			return script.do(t, "GET", "/api/v1/me", nil)
		})
	})
	return m
}

// cookieOf is c's session cookie for ts, or "" when it has none.
func cookieOf(t *testing.T, c *client, ts *testServer) string {
	t.Helper()
	for _, k := range c.hc.Jar.Cookies(mustURL(t, ts.URL)) {
		if k.Name == "lectern_session" {
			return k.Value
		}
	}
	return ""
}

// TestRedisAwayTurnsCachingOff: replica a reaches Redis through a fault
// proxy, replica b directly. When a's Redis stops answering (a black hole:
// nothing is closed, so only the bus's pings can tell), the changes made
// on b in the meantime never reach a; a must stop answering from memory
// as soon as its bus notices, within two ping intervals: a deleted
// lesson's media link and a revoked API token are refused on a although
// the clock stands still (the cache's TTL never runs out here). Once
// Redis answers again, a caches again and hears b's changes again.
func TestRedisAwayTurnsCachingOff(t *testing.T) {
	redisURL := testenv.RedisURL(t)
	proxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, redisURL))
	prefix := testenv.Name("lectern:test:authcache") + ":"
	withRedis := func(rawURL string) func(*server.Options) {
		return func(o *server.Options) {
			opt, err := redis.ParseURL(rawURL)
			if err != nil {
				t.Fatal(err)
			}
			rdb := redis.NewClient(opt)
			t.Cleanup(func() { rdb.Close() })
			bus := events.NewRedis(rdb, prefix)
			bus.SetPingInterval(200 * time.Millisecond)
			t.Cleanup(func() { bus.Close() })
			o.Events = bus
		}
	}
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	a := newServer(t, fx, withRedis(proxy.ProxyURL(redisURL)))
	b := newServer(t, fx, withRedis(redisURL))
	m := mediaClassOn(t, b) // every change is made on b
	onA := func(header http.Header) *client {
		return &client{base: a.URL, hc: &http.Client{}, header: header}
	}
	// newScript is an API token of the teacher's, used on a.
	newScript := func(t *testing.T) (id string, script *client) {
		var tok struct{ ID, Token string }
		m.teacher.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}).want(http.StatusCreated).decode(&tok)
		return tok.ID, onA(http.Header{"Authorization": {"Bearer " + tok.Token}})
	}
	// within polls req on a until it gets status.
	within := func(t *testing.T, what string, status int, req func() *response) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for r := req(); r.Status != status; r = req() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %d, want %d", what, r.Status, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	lesson := m.newLesson(t, "Gone during the outage")
	publishMediaOutput(t, fx, lesson, 1)
	seg := mediaBase(t, playback(t, m.classmate, lesson)) + "v0/seg_00000.m4s"
	player := onA(http.Header{})
	player.do(t, "GET", seg, nil).want(http.StatusOK)
	player.do(t, "GET", seg, nil).want(http.StatusOK)
	tokID, script := newScript(t)
	script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
	script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)

	proxy.Blackhole()
	m.teacher.do(t, "DELETE", "/api/v1/lessons/"+lesson, nil).want(http.StatusNoContent)
	m.teacher.do(t, "DELETE", "/api/v1/tokens/"+tokID, nil).want(http.StatusNoContent)
	within(t, "deleted lesson's segment on a while Redis is away", http.StatusNotFound, func() *response {
		return player.do(t, "GET", seg, nil)
	})
	within(t, "revoked token on a while Redis is away", http.StatusUnauthorized, func() *response {
		return script.do(t, "GET", "/api/v1/me", nil)
	})

	proxy.Heal()
	// a caches again once it has subscribed again: a token deleted in the
	// database behind Lectern's back (no invalidation) is then answered
	// from memory, as any such change is for up to the cache's TTL.
	var me struct{ ID string }
	m.teacher.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
	for deadline := time.Now().Add(30 * time.Second); ; {
		id, script := newScript(t)
		script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		if err := fx.DB.DeleteAPIToken(t.Context(), me.ID, id); err != nil {
			t.Fatal(err)
		}
		if script.do(t, "GET", "/api/v1/me", nil).Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a did not cache again after Redis came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// ... and hears b's invalidations again.
	tokID, script = newScript(t)
	script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
	script.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
	m.teacher.do(t, "DELETE", "/api/v1/tokens/"+tokID, nil).want(http.StatusNoContent)
	within(t, "revoked token on a after Redis came back", http.StatusUnauthorized, func() *response {
		return script.do(t, "GET", "/api/v1/me", nil)
	})
}
