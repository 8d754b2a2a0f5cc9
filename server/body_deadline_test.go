package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/server"
)

// rawConn is a client that writes an HTTP/1.1 request by hand, as slowly
// as it likes, and reads what the server answers.
type rawConn struct {
	conn   net.Conn
	answer chan rawAnswer
	closed chan error // the server's close (nil) or another read error
}

// rawAnswer is what the server sent before closing the connection.
type rawAnswer struct {
	status int
	body   string
	err    error
	at     time.Time
}

// dialRaw connects to ts and sends the request line and headers of a
// request whose body is contentLength bytes long.
func dialRaw(t *testing.T, ts *testServer, method, path string, contentLength int, headers ...string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: lectern.test\r\nContent-Length: %d\r\n", method, path, contentLength)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{conn: conn, answer: make(chan rawAnswer, 1), closed: make(chan error, 1)}
	go func() {
		// Read the answer, then everything up to the server's close.
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			rc.answer <- rawAnswer{err: err, at: time.Now()}
			rc.closed <- err
			return
		}
		body, err := io.ReadAll(resp.Body)
		rc.answer <- rawAnswer{status: resp.StatusCode, body: string(body), err: err, at: time.Now()}
		_, err = io.Copy(io.Discard, br)
		rc.closed <- err
	}()
	return rc
}

// send writes data, one chunk every gap, stopping early once the server
// has answered (or the connection broke).
func (rc *rawConn) send(data []byte, chunk int, gap time.Duration) {
	for sent := 0; sent < len(data); sent += chunk {
		if _, err := rc.conn.Write(data[sent:min(sent+chunk, len(data))]); err != nil {
			return
		}
		select {
		case a := <-rc.answer:
			rc.answer <- a
			return
		case <-time.After(gap):
		}
	}
}

// answeredWithin waits up to d for the server's answer.
func (rc *rawConn) answeredWithin(t *testing.T, d time.Duration) rawAnswer {
	t.Helper()
	select {
	case a := <-rc.answer:
		rc.answer <- a
		return a
	case <-time.After(d):
		t.Fatalf("the server did not answer within %v", d)
		return rawAnswer{}
	}
}

// closedWithin waits up to d for the server to answer and close the
// connection, and returns the answer.
func (rc *rawConn) closedWithin(t *testing.T, d time.Duration) rawAnswer {
	t.Helper()
	timeout := time.After(d)
	a := rc.answeredWithin(t, d)
	select {
	case err := <-rc.closed:
		if err != nil {
			t.Errorf("reading to the close: %v", err)
		}
	case <-timeout:
		t.Fatalf("the server answered %d but kept the connection open", a.status)
	}
	return a
}

// slowUploadHead starts an upload body the way an MP4 recording starts.
var slowUploadHead = []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")

// TestAcceptance31_SlowBodiesAreCutOff is RELIABILITY 31: a request body
// dribbled a byte at a time is cut off by the body deadline; an upload
// that keeps sending is not, however long it takes; an upload that goes
// silent is cut off after the idle timeout (its bytes so far kept, for a
// tus upload to resume); each time the server closes the connection and
// its goroutines return to their baseline.
func TestAcceptance31_SlowBodiesAreCutOff(t *testing.T) {
	const bodyTimeout, idleTimeout = time.Second, time.Second
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts := newServer(t, fx, func(o *server.Options) {
		o.Limits.BodyTimeout, o.Limits.UploadIdleTimeout = bodyTimeout, idleTimeout
		o.Uploads.Dir = t.TempDir()
	})
	teacher, lessonID := newLessonFor(t, ts)
	cookie := "lectern_session=" + sessionCookieValue(t, teacher, ts)
	teacher.hc.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	t.Run("DribbledLoginBody", func(t *testing.T) {
		body := `{"email":"someone@example.org","password":"a long password, slowly"}`
		rc := dialRaw(t, ts, "POST", "/api/v1/session", len(body), "Content-Type", "application/json")
		start := time.Now()
		go rc.send([]byte(body), 1, 300*time.Millisecond) // 20 s for the whole body
		a := rc.closedWithin(t, bodyTimeout+5*time.Second)
		if a.status != http.StatusRequestTimeout || !strings.Contains(a.body, `"code":"invalid"`) {
			t.Errorf("answer %d %s (%v), want 408 with the JSON error", a.status, a.body, a.err)
		}
		if took := a.at.Sub(start); took < bodyTimeout {
			t.Errorf("cut off after %v, before the %v deadline", took, bodyTimeout)
		}
	})

	t.Run("SteadyUploadIsNotCutOff", func(t *testing.T) {
		// 3 s of upload, longer than the body deadline, never silent for long.
		const size, chunk, gap = 30 * 1024, 1024, 100 * time.Millisecond
		rc := dialRaw(t, ts, "PUT", "/api/v1/lessons/"+lessonID+"/source", len(slowUploadHead)+size,
			"Cookie", cookie, "Content-Type", "video/mp4")
		if _, err := rc.conn.Write(slowUploadHead); err != nil {
			t.Fatal(err)
		}
		rc.send(bytes.Repeat([]byte{0x42}, size), chunk, gap)
		a := rc.answeredWithin(t, 10*time.Second)
		if a.status != http.StatusAccepted {
			t.Errorf("answer %d %s (%v), want 202", a.status, a.body, a.err)
		}
	})

	t.Run("SilentUploadIsCutOff", func(t *testing.T) {
		rc := dialRaw(t, ts, "PUT", "/api/v1/lessons/"+lessonID+"/source", 1<<20,
			"Cookie", cookie, "Content-Type", "video/mp4")
		if _, err := rc.conn.Write(append(slowUploadHead, make([]byte, 64<<10)...)); err != nil {
			t.Fatal(err)
		}
		silent := time.Now()
		a := rc.closedWithin(t, idleTimeout+5*time.Second)
		if a.status != http.StatusRequestTimeout {
			t.Errorf("answer %d %s (%v), want 408", a.status, a.body, a.err)
		}
		if took := a.at.Sub(silent); took < idleTimeout {
			t.Errorf("cut off after %v of silence, before the %v idle timeout", took, idleTimeout)
		}
	})

	t.Run("SilentTusPatchIsCutOffAndResumable", func(t *testing.T) {
		tc := tusClient{teacher}
		_, url := tc.create(t, lessonID, 1<<20)
		teacher.hc.CloseIdleConnections()
		path := strings.TrimPrefix(url, ts.URL)
		rc := dialRaw(t, ts, "PATCH", path, 1<<20, "Cookie", cookie, "Tus-Resumable", "1.0.0",
			"Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")
		sent := append(slowUploadHead, make([]byte, 64<<10)...)
		if _, err := rc.conn.Write(sent); err != nil {
			t.Fatal(err)
		}
		a := rc.closedWithin(t, idleTimeout+5*time.Second)
		if a.status != http.StatusRequestTimeout || !strings.Contains(a.body, "resumes") {
			t.Errorf("tus answered %d %s (%v), want 408 saying the upload resumes", a.status, strings.TrimSpace(a.body), a.err)
		}
		if got := tc.offset(t, url); got != int64(len(sent)) {
			t.Errorf("offset after the silent PATCH = %d, want the %d bytes sent, kept to resume from", got, len(sent))
		}
		teacher.hc.CloseIdleConnections()
	})

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the slow clients, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
