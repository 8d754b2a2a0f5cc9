package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// refusedEvents asks for the lesson's event stream as c, expecting a
// refusal; a stream that opens fails the test (and is closed).
func refusedEvents(t *testing.T, c *client, lessonID string) *response {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+"/api/v1/lessons/"+lessonID+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("event stream opened; want it refused")
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// wantRetryAfter checks that a refusal says when to try again.
func wantRetryAfter(t *testing.T, r *response) {
	t.Helper()
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After = %q, want a number of seconds", r.Header.Get("Retry-After"))
	}
}

// openFDs counts the file descriptors this process has open.
func openFDs(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counting file descriptors needs /proc/self/fd")
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// redisSubscribers counts the connections named name that hold Redis
// subscriptions, and their subscriptions (channels and patterns).
func redisSubscribers(t *testing.T, admin *redis.Client, name string) (conns, subs int) {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(list), "\n") {
		f := map[string]string{}
		for kv := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		sub, _ := strconv.Atoi(f["sub"])
		psub, _ := strconv.Atoi(f["psub"])
		if f["name"] == name && sub+psub > 0 {
			conns++
			subs += sub + psub
		}
	}
	return conns, subs
}

// TestAcceptance27_EventStreamsCapped is RELIABILITY 27: one user opening
// many live event streams is capped (429 past a handful), the process as a
// whole too (503 when full), the process holds one Redis subscription
// whatever the number of streams, file descriptors grow by the streams'
// own connections only, live delivery still works, and a logout still
// ends the user's streams at once and frees their places.
func TestAcceptance27_EventStreamsCapped(t *testing.T) {
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	t.Cleanup(func() { admin.Close() })
	named := *opt
	named.ClientName = strings.ReplaceAll(testenv.Name("lectern_sse_test"), "-", "_")
	rdb := redis.NewClient(&named)
	t.Cleanup(func() { rdb.Close() })
	bus := events.NewRedis(rdb, testenv.Name("lectern:test:sse")+":")
	t.Cleanup(func() { bus.Close() })

	const perUser, total = server.DefaultEventStreamsPerUser, 12
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts, srv := newLiveServer(t, fx, func(o *server.Options) {
		o.Events = bus
		o.Limits.MaxEventStreams = total
	})
	server.SetStreamTiming(srv, time.Hour, time.Hour)
	cl := newClassroom(t, ts)
	fdsBefore := openFDs(t)

	// Two users fill their share: 10 streams.
	var classmate, author []*eventStream
	for range perUser {
		classmate = append(classmate, openEvents(t, cl.classmate, cl.lessonID))
		author = append(author, openEvents(t, cl.author, cl.lessonID))
	}
	n := 2 * perUser
	if conns, subs := redisSubscribers(t, admin, named.ClientName); conns != 1 || subs != 1 {
		t.Errorf("%d streams hold %d Redis subscriptions on %d connections; want 1 on 1", n, subs, conns)
	}
	// Each stream is one TCP connection, counted twice here (the test's
	// client end and the server's end); nothing else may grow with them.
	grown := openFDs(t) - fdsBefore
	t.Logf("%d streams: %d more file descriptors", n, grown)
	if grown > 2*n+4 {
		t.Errorf("%d streams opened %d file descriptors, want at most %d", n, grown, 2*n+4)
	}

	t.Run("PerUser", func(t *testing.T) {
		r := refusedEvents(t, cl.classmate, cl.lessonID)
		msg := r.wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
		wantRetryAfter(t, r)
		if !strings.Contains(msg, strconv.Itoa(perUser)) {
			t.Errorf("message %q does not say how many streams are allowed", msg)
		}
		// The capped streams still deliver.
		c := cl.post(t, cl.teacher, "comment", "class", 0, "live still works")
		for _, es := range append(classmate, author...) {
			if got := es.changesUntil(t, c.ID); len(got) != 1 {
				t.Errorf("stream got %v, want the one comment", got)
			}
		}
	})

	t.Run("PerProcess", func(t *testing.T) {
		for range total - n {
			openEvents(t, cl.teacher, cl.lessonID)
		}
		r := refusedEvents(t, cl.admin, cl.lessonID)
		r.wantError(http.StatusServiceUnavailable, lectern.EUNAVAILABLE)
		wantRetryAfter(t, r)
	})

	t.Run("LogoutEndsStreamsAndFreesTheirPlaces", func(t *testing.T) {
		cl.classmate.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
		for _, es := range classmate {
			es.wantEnd(t, "session_ended")
		}
		// The server is no longer full.
		openEvents(t, cl.admin, cl.lessonID)
	})

	if conns, subs := redisSubscribers(t, admin, named.ClientName); conns != 1 || subs != 1 {
		t.Errorf("at the end: %d Redis subscriptions on %d connections; want 1 on 1", subs, conns)
	}
}

// TestLimitMetrics: /metrics shows the open event streams and the password
// hashes running, what an operator compares with the caps.
func TestLimitMetrics(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	reg := prometheus.NewRegistry()
	ts, _ := newLiveServer(t, fx, func(o *server.Options) { o.Metrics = reg })
	cl := newClassroom(t, ts)
	openEvents(t, cl.author, cl.lessonID)
	openEvents(t, cl.teacher, cl.lessonID)
	body := string(ts.client(t).do(t, "GET", "/metrics", nil).want(http.StatusOK).Body)
	for _, want := range []string{"\nlectern_event_streams 2\n", "\nlectern_password_hashes_running 0\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
}
