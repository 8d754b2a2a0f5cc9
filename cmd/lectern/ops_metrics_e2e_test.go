package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testMetricsAfterTranscode: after an upload, its transcode, playback and
// progress heartbeats in serve mode, /metrics counts each of them.
func testMetricsAfterTranscode(t *testing.T, clip string) {
	env := embeddedEnv(t.TempDir())
	env["LECTERN_ADMIN_EMAIL"], env["LECTERN_ADMIN_PASSWORD"] = e2eAdminEmail, e2eAdminPassword
	base := startLectern(t, env, "serve").ready()
	uploaded, files, served := meteredJourney(t, base, clip)

	// The outcome is counted just after the lesson is published.
	var m metrics
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(100 * time.Millisecond) {
		m = scrape(t, base)
		if m.value("lectern_transcodes_total", `outcome="succeeded"`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no succeeded transcode in /metrics:\n%s", m)
		}
	}
	source, progress := `route="/api/v1/lessons/:id/source"`, `route="/api/v1/lessons/:id/progress"`
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"UploadRequests", "lectern_http_requests_total", []string{`method="PUT"`, source, `status="202"`}, 1},
		{"UploadLatency", "lectern_http_request_duration_seconds_count", []string{`method="PUT"`, source}, 1},
		{"HeartbeatRequests", "lectern_http_requests_total", []string{`method="PUT"`, progress, `status="200"`}, 2},
		{"MediaRequests", "lectern_http_requests_total", []string{`method="GET"`, `route="/media/`, `status="200"`}, float64(files)},
		{"UploadBytes", "lectern_upload_bytes_total", nil, float64(uploaded)},
		{"MediaBytes", "lectern_media_served_bytes_total", nil, float64(served)},
		{"Heartbeats", "lectern_progress_heartbeats_total", nil, 2},
		{"TranscodeDurations", "lectern_transcode_duration_seconds_count", []string{`outcome="succeeded"`}, 1},
		// Summed over the transcode queues (transcode, transcode_…).
		{"QueueCompleted", "asynq_tasks_enqueued_total", []string{`queue="transcode`, `state="completed"`}, 1},
		{"QueuePending", "asynq_tasks_enqueued_total", []string{`queue="transcode`, `state="pending"`}, 0},
		// The completed task is kept (for the queue UI) and counted.
		{"QueueSize", "asynq_queue_size", []string{`queue="transcode`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !m.has(tt.metric, tt.labels...) {
				t.Fatalf("/metrics has no %s{%s}", tt.metric, strings.Join(tt.labels, ","))
			}
			if got := m.value(tt.metric, tt.labels...); got != tt.want {
				t.Errorf("%s{%s} = %v, want %v", tt.metric, strings.Join(tt.labels, ","), got, tt.want)
			}
		})
	}
}

// meteredJourney uploads clip as a teacher, waits for its transcode, and
// has a student fetch some of it and send two progress heartbeats. It
// returns the bytes uploaded, and the files and bytes the student got.
func meteredJourney(t *testing.T, base, clip string) (uploaded int64, files, served int) {
	t.Helper()
	admin := newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	teacher, student := admin.newUser(t, "teacher"), admin.newUser(t, "student")
	var course struct {
		ID       string
		JoinCode string `json:"join_code"`
	}
	teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Metrics"}, http.StatusCreated, &course)
	student.call(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}, http.StatusOK, nil)
	var lesson struct{ ID string }
	teacher.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Counted"}, http.StatusCreated, &lesson)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	waitReady(t, teacher, lesson.ID)

	files, served = playSome(t, student, base, lesson.ID)
	for seq := range 2 {
		beat := map[string]any{"session_id": "metrics", "seq": seq, "position_ms": 1000 * (seq + 1),
			"ranges": [][2]int{{1000 * seq, 1000 * (seq + 1)}}}
		student.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/progress", beat, http.StatusOK, nil)
	}
	return fi.Size(), files, served

}

// playSome fetches the lesson's master playlist, its first media playlist
// and that playlist's first file as the student's player would, and
// returns how many files and body bytes it got.
func playSome(t *testing.T, s *session, base, lessonID string) (files, n int) {
	t.Helper()
	var playback struct {
		HLSURL string `json:"hls_url"`
	}
	s.call(t, "GET", "/api/v1/lessons/"+lessonID+"/playback", nil, http.StatusOK, &playback)
	u := base + playback.HLSURL
	for range 3 {
		status, body := s.get(t, u)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", u, status)
		}
		files, n = files+1, n+len(body)
		if !strings.HasPrefix(string(body), "#EXTM3U") {
			break // a segment
		}
		uris := playlistURIs(body)
		if len(uris) == 0 {
			t.Fatalf("%s names no files:\n%s", u, body)
		}
		u = resolve(t, u, uris[0])
	}
	return files, n
}

// metrics is a scrape of /metrics in the Prometheus text format.
type metrics string

func scrape(t *testing.T, base string) metrics {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	return metrics(b.String())
}

// samples returns the values of the series named name whose labels
// contain every one of labels (`key="value"`, or a prefix of one).
func (m metrics) samples(name string, labels ...string) []float64 {
	var out []float64
	sc := bufio.NewScanner(strings.NewReader(string(m)))
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if n, _, _ := strings.Cut(series, "{"); n != name {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if v, err := strconv.ParseFloat(value, 64); match && err == nil {
			out = append(out, v)
		}
	}
	return out
}

func (m metrics) has(name string, labels ...string) bool { return len(m.samples(name, labels...)) > 0 }

// value is the sum of the matching series.
func (m metrics) value(name string, labels ...string) float64 {
	sum := 0.0
	for _, v := range m.samples(name, labels...) {
		sum += v
	}
	return sum
}
