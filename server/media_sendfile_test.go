package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern/server"
)

// readFromSpy sits between the connection's writer and the server and
// records what each io.Copy into the response reads from: an *os.File
// (alone or under the io.LimitedReader of a range) reaching the
// connection's ReadFrom is what net/http sends with sendfile.
type readFromSpy struct {
	http.ResponseWriter
	record func(string)
}

func (w readFromSpy) ReadFrom(src io.Reader) (int64, error) {
	inner := src
	if lr, ok := src.(*io.LimitedReader); ok {
		inner = lr.R
	}
	_, isFile := inner.(*os.File)
	w.record(fmt.Sprintf("file=%v", isFile))
	return w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
}

func (w readFromSpy) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestMediaFromDiskIsSentFromTheFile serves segments from disk storage
// through a real TCP connection and checks that the whole-file and range
// answers hand the open file itself to the connection (sendfile: the bytes
// never pass through the server's buffers), with the right bytes, and
// that conditional requests still answer 304 without a body.
func TestMediaFromDiskIsSentFromTheFile(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	var mu sync.Mutex
	var copies []string
	fx.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(readFromSpy{w, func(s string) { mu.Lock(); copies = append(copies, s); mu.Unlock() }}, r)
		})
	}
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		c := copies
		copies = nil
		return c
	}
	m := newMediaClass(t, fx, func(o *server.Options) { o.Metrics = prometheus.NewRegistry() })
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	seg := m.files["v0/seg_00000.m4s"]
	taken()

	r := m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
	if !bytes.Equal(r.Body, seg) {
		t.Errorf("whole segment: got %d bytes, want the stored %d", len(r.Body), len(seg))
	}
	if got := taken(); len(got) != 1 || got[0] != "file=true" {
		t.Errorf("whole segment: copies into the connection = %q, want one from the open file", got)
	}

	r = m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", "bytes=100-1099").want(http.StatusPartialContent)
	if !bytes.Equal(r.Body, seg[100:1100]) || r.Header.Get("Content-Range") != "bytes 100-1099/3000" {
		t.Errorf("range: Content-Range %q, %d bytes; want bytes 100-1099/3000 and those bytes", r.Header.Get("Content-Range"), len(r.Body))
	}
	if got := taken(); len(got) != 1 || got[0] != "file=true" {
		t.Errorf("range: copies into the connection = %q, want one from the open file", got)
	}

	etag := r.Header.Get("ETag")
	r = m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "If-None-Match", etag).want(http.StatusNotModified)
	if len(r.Body) != 0 {
		t.Errorf("304 has a %d-byte body", len(r.Body))
	}

	// The bytes sent from the file still count in the operators' metrics.
	metrics := m.anonymous.do(t, "GET", "/metrics", nil).want(http.StatusOK).Body
	if want := "lectern_media_served_bytes_total 4000\n"; !bytes.Contains(metrics, []byte(want)) {
		t.Errorf("metrics lack %q (3000 + 1000 bytes sent):\n%s", want, metrics)
	}
	m.anonymous.do(t, "GET", base+"v0/missing.m4s", nil).want(http.StatusNotFound)
}
