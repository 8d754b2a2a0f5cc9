package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/server"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// routes returns the route of every access line logged so far, with its level.
func (b *lockedBuffer) routes(t *testing.T) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var rec struct{ Level, Msg, Method, Route string }
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg == "request" {
			out = append(out, rec.Level+" "+rec.Method+" "+rec.Route)
		}
	}
	b.buf.Reset()
	return out
}

// TestAccessLogLevels checks that an Info access log is not flooded by
// what every playing video sends every few seconds (media files and
// progress heartbeats), while everything else and every failure is logged.
func TestAccessLogLevels(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	logs := &lockedBuffer{}
	m := newMediaClass(t, fx, func(o *server.Options) {
		o.AccessLog = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	logs.routes(t) // the set-up's requests

	base := mediaBase(t, playback(t, m.student, m.lessonID))
	m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
	m.student.do(t, "PUT", "/api/v1/lessons/"+m.lessonID+"/progress", beatJSON("s1", 1, 5, 0, 5)).want(http.StatusOK)
	m.student.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/progress", nil).want(http.StatusOK)
	m.anonymous.do(t, "GET", base+"missing.ts", nil).want(http.StatusNotFound)
	m.outsider.do(t, "PUT", "/api/v1/lessons/"+m.lessonID+"/progress", beatJSON("s2", 1, 5, 0, 5)).want(http.StatusNotFound)

	want := []string{
		"INFO GET /api/v1/lessons/:id/playback",
		"DEBUG GET /media/:token/*",
		"DEBUG PUT /api/v1/lessons/:id/progress",
		"INFO GET /api/v1/lessons/:id/progress",
		"INFO GET /media/:token/*",
		"INFO PUT /api/v1/lessons/:id/progress",
	}
	if diff := cmp.Diff(want, logs.routes(t)); diff != "" {
		t.Errorf("access lines, level method route (-want +got):\n%s", diff)
	}
}
