package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// RELIABILITY 12: Redis away while uploads run. A toxiproxy between
// Lectern (api and worker) and Redis first stops answering (a stalled
// Redis: connections hang) and then refuses connections (Redis down),
// for -acceptance12.outage in all. Streaming and resumable uploads that
// were half sent when it went, and new ones made meanwhile, all succeed
// without a 5xx, none held past the enqueue timeout; their jobs wait as
// queued in the database; the live-events stream, comments and /readyz
// degrade without a 5xx; once Redis is back every lesson is transcoded.
// CI keeps Redis away for 25 s, longer than every Redis client timeout
// (dial 5 s, read 3 s, the enqueue timeout 3 s); bench/redis-outage.sh
// keeps it away for the 2 minutes RELIABILITY names.

var acceptance12Outage = flag.Duration("acceptance12.outage", 25*time.Second,
	"how long TestAcceptance12 keeps Redis away (bench/redis-outage.sh sets 2m)")

// uploadAnswerGuard is the longest an upload's last request may take
// once its last byte is sent: the enqueue timeout and time to spare.
const uploadAnswerGuard = enqueueTimeoutForTest + 5*time.Second

// enqueueTimeoutForTest is the server's enqueue timeout (server's
// enqueueTimeout).
const enqueueTimeoutForTest = 3 * time.Second

func TestAcceptance12_RedisAwayDuringUploads(t *testing.T) {
	testenv.FFmpeg(t)
	raw, err := os.ReadFile(makeClip(t, "160x90", 1))
	if err != nil {
		t.Fatal(err)
	}
	c := prepareCluster(t, map[string]string{"LECTERN_RECONCILE_INTERVAL": "1s"})
	redisProxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, c.redisURL))
	c.env["LECTERN_REDIS_URL"] = redisProxy.ProxyURL(c.redisURL)
	c.startAPI(t)
	worker := c.startWorkerWith(t, t.TempDir(), 2, nil)
	worker.waitLog("worker started")
	// A lesson to comment on and watch live, ready (as markReady makes
	// it) before the outage.
	watched := c.newLesson(t)
	markReady(t, c.env["LECTERN_DATABASE_URL"], watched)

	// Three streaming and three resumable uploads have sent half their
	// bytes when Redis goes.
	const inFlight = 3
	var pending []*halfUpload
	for range inFlight {
		pending = append(pending, c.startPut(t, raw), c.startTus(t, raw))
	}
	var results []uploadResult

	redisProxy.Hang()
	away := time.Now()
	for _, u := range pending {
		results = append(results, u.finish())
	}
	results = append(results, c.startPut(t, raw).finish(), c.startTus(t, raw).finish())
	degraded := checkRedisUsers(t, c, watched, "hung")

	redisProxy.Cut()
	redisProxy.Heal()
	results = append(results, c.startPut(t, raw).finish(), c.startTus(t, raw).finish())
	degraded = append(degraded, checkRedisUsers(t, c, watched, "down")...)

	var slowest time.Duration
	for _, r := range results {
		if r.err != nil || r.status != r.want {
			t.Errorf("%s upload of lesson %s: %d %s (%v), want %d", r.kind, r.lesson, r.status, r.body, r.err, r.want)
		}
		if r.took > uploadAnswerGuard {
			t.Errorf("%s upload of lesson %s was answered %v after its last byte, over %v", r.kind, r.lesson, r.took, uploadAnswerGuard)
		}
		slowest = max(slowest, r.took)
	}
	t.Logf("%d uploads (%d half sent when Redis went) all succeeded while it was away; the slowest answer came %v after its last byte",
		len(results), len(pending), slowest.Round(time.Millisecond))
	t.Logf("while Redis was away: %s", strings.Join(degraded, "; "))

	d := openClusterDB(t, c)
	lessons := make([]string, 0, len(results))
	for _, r := range results {
		lessons = append(lessons, r.lesson)
	}
	if rest := *acceptance12Outage - time.Since(away); rest > 0 {
		time.Sleep(rest)
	}
	for _, l := range lessons {
		if j := currentJob(t, d, l); j.State != lectern.JobQueued {
			t.Errorf("lesson %s's job is %s while Redis is away, want queued", l, j.State)
		}
	}
	redisProxy.Restore()
	t.Logf("Redis came back after %v", time.Since(away).Round(time.Second))
	back := time.Now()

	waitJobs(t, d, lessons, "every transcode to end", func(j *db.JobStatus) bool {
		return j.State == lectern.JobSucceeded || j.State == lectern.JobFailed || j.State == lectern.JobCanceled
	})
	t.Logf("all %d lessons were transcoded %v after Redis came back", len(lessons), time.Since(back).Round(time.Second))
	for _, l := range lessons {
		lesson, err := d.FindLessonByID(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		if j := currentJob(t, d, l); lesson.Status != lectern.LessonReady || j.State != lectern.JobSucceeded {
			t.Errorf("lesson %s: %s, job %s (%s); want ready", l, lesson.Status, j.State, j.Error)
		}
	}
	// Live updates work again.
	if status, _ := openEvents(t, c.teacher, watched); status != http.StatusOK {
		t.Errorf("the live-events stream after Redis came back: %d, want 200", status)
	}
	checkNo500(t, c.api)
}

// uploadResult is how an upload's last request was answered.
type uploadResult struct {
	kind, lesson string
	status, want int
	body         []byte
	err          error
	// took is from the last byte sent to the answer.
	took time.Duration
}

// halfUpload is an upload of which half is sent; finish sends the rest.
type halfUpload struct {
	finish func() uploadResult
}

// newLesson creates a lesson in the teacher's course.
func (c *cluster) newLesson(t *testing.T) string {
	t.Helper()
	var lesson struct{ ID string }
	c.teacher.call(t, "POST", "/api/v1/courses/"+c.course+"/lessons", map[string]string{"publish_at": "now", "title": "Outage"}, http.StatusCreated, &lesson)
	return lesson.ID
}

// startPut starts a streaming upload of raw to a new lesson and sends
// its first half.
func (c *cluster) startPut(t *testing.T, raw []byte) *halfUpload {
	t.Helper()
	lesson := c.newLesson(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PUT", c.teacher.base+"/api/v1/lessons/"+lesson+"/source", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(raw))
	req.Header.Set("Content-Type", "video/mp4")
	done := make(chan uploadResult, 1)
	go func() {
		r := uploadResult{kind: "streaming", lesson: lesson, want: http.StatusAccepted}
		resp, err := c.teacher.hc.Do(req)
		if err != nil {
			r.err = err
		} else {
			r.status = resp.StatusCode
			r.body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- r
	}()
	half := len(raw) / 2
	if _, err := pw.Write(raw[:half]); err != nil {
		t.Fatalf("send the first half of a streaming upload: %v", err)
	}
	return &halfUpload{finish: func() uploadResult {
		if _, err := pw.Write(raw[half:]); err != nil {
			return uploadResult{kind: "streaming", lesson: lesson, err: err}
		}
		pw.Close()
		sent := time.Now()
		r := <-done
		r.took = time.Since(sent)
		return r
	}}
}

// startTus starts a resumable upload of raw to a new lesson and sends its
// first half in one PATCH; finish sends the second.
func (c *cluster) startTus(t *testing.T, raw []byte) *halfUpload {
	t.Helper()
	lesson := c.newLesson(t)
	create := tusRequest(t, c.teacher, "POST", c.teacher.base+"/api/v1/uploads", nil,
		"Upload-Length", strconv.Itoa(len(raw)),
		"Upload-Metadata", "lesson_id "+base64.StdEncoding.EncodeToString([]byte(lesson)))
	if create.status != http.StatusCreated {
		t.Fatalf("create a resumable upload: %d %s", create.status, create.body)
	}
	url := create.location
	if !strings.HasPrefix(url, "http") {
		url = c.teacher.base + url
	}
	half := len(raw) / 2
	if r := tusRequest(t, c.teacher, "PATCH", url, raw[:half], "Upload-Offset", "0"); r.status != http.StatusNoContent {
		t.Fatalf("send the first half of a resumable upload: %d %s", r.status, r.body)
	}
	return &halfUpload{finish: func() uploadResult {
		sent := time.Now()
		r := tusRequest(t, c.teacher, "PATCH", url, raw[half:], "Upload-Offset", strconv.Itoa(half))
		return uploadResult{kind: "resumable", lesson: lesson, want: http.StatusNoContent,
			status: r.status, body: r.body, err: r.err, took: time.Since(sent)}
	}}
}

type tusReply struct {
	status   int
	body     []byte
	location string
	err      error
}

// tusRequest makes one tus 1.0 request with the session's cookies.
func tusRequest(t *testing.T, s *session, method, url string, body []byte, headers ...string) tusReply {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	if method == "PATCH" {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return tusReply{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return tusReply{status: resp.StatusCode, body: b, location: resp.Header.Get("Location")}
}

// checkRedisUsers checks what else uses Redis while it is away (how, says
// state): the live-events stream is refused with 503 and
// Retry-After or opens (without live updates until Redis is back), a
// comment is posted, /readyz names Redis but keeps the API in rotation,
// /metrics answers. It returns what each answered.
func checkRedisUsers(t *testing.T, c *cluster, lesson, state string) []string {
	t.Helper()
	var seen []string
	began := time.Now()
	status, retry := openEvents(t, c.teacher, lesson)
	if status != http.StatusServiceUnavailable && status != http.StatusOK || status == http.StatusServiceUnavailable && retry == "" {
		t.Errorf("Redis %s: the live-events stream answered %d (Retry-After %q), want 503 with Retry-After, or 200", state, status, retry)
	}
	seen = append(seen, fmt.Sprintf("Redis %s: events stream %d (Retry-After %s) in %v", state, status, retry,
		time.Since(began).Round(time.Millisecond)))

	began = time.Now()
	var cm struct{ ID string }
	c.teacher.call(t, "POST", "/api/v1/lessons/"+lesson+"/comments", map[string]any{"at_ms": 0, "kind": "comment", "visibility": "class", "body": "still here? " + state}, http.StatusCreated, &cm)
	seen = append(seen, fmt.Sprintf("comment 201 in %v", time.Since(began).Round(time.Millisecond)))

	resp, err := http.Get(c.teacher.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string
		Checks map[string]string
	}
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ready.Status != "degraded" || ready.Checks["redis"] != "failed" || ready.Checks["db"] != "ok" {
		t.Errorf("Redis %s: /readyz answered %d %+v, want 200, degraded, redis failed", state, resp.StatusCode, ready)
	}
	seen = append(seen, fmt.Sprintf("/readyz %d %s", resp.StatusCode, ready.Status))

	resp, err = http.Get(c.teacher.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Redis %s: /metrics answered %d, want 200", state, resp.StatusCode)
	}
	return seen
}

// openEvents opens the lesson's live-events stream as s and returns its
// status and Retry-After; a stream that opens is closed at once.
func openEvents(t *testing.T, s *session, lesson string) (status int, retryAfter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/api/v1/lessons/"+lesson+"/events", nil)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("open the live-events stream: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// checkNo500 fails the test for every request the process answered with
// a 5xx, from its access log, except the refusals of the live-events
// stream (503 with Retry-After, which the page backs off from).
func checkNo500(t *testing.T, p *proc) {
	t.Helper()
	requests, refused := 0, 0
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) != nil || rec.str("msg") != "request" {
			continue
		}
		requests++
		status, _ := rec["status"].(float64)
		switch {
		case status == http.StatusServiceUnavailable && rec.str("route") == "/api/v1/lessons/:id/events":
			refused++
		case status >= 500:
			t.Errorf("%s %s answered %v", rec.str("method"), rec.str("path"), status)
		}
	}
	t.Logf("the api answered %d requests: none with a 5xx but %d live-events streams refused with 503", requests, refused)
}
