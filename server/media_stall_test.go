//go:build unix

package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// TestMediaStalledClientCutOff: a player that reads the first bytes of a
// large segment and then stops reading has its connection closed once the
// stall timeout has passed (its download ends short), on disk and on S3
// storage, while a slow player that keeps reading, pausing for less than
// the timeout between reads, gets the whole segment. The clients' receive
// windows are kept small so that the stall reaches the server quickly.
func TestMediaStalledClientCutOff(t *testing.T) {
	const stall = time.Second
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx, func(o *server.Options) { o.Limits.MediaStallTimeout = stall })
		big := testBytes("large segment", 16<<20) // well past the socket buffers
		key := lectern.OutputPrefix(m.lessonID, 1) + "v0/big.m4s"
		if _, err := fx.Store.Put(t.Context(), key, bytes.NewReader(big)); err != nil {
			t.Fatal(err)
		}
		url := m.ts.URL + mediaBase(t, playback(t, m.student, m.lessonID)) + "v0/big.m4s"

		t.Run("Stalled", func(t *testing.T) {
			body := getSmallWindow(t, url)
			if _, err := io.ReadFull(body, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * stall)
			n, err := io.Copy(io.Discard, body)
			if err == nil || int(n)+100 >= len(big) {
				t.Fatalf("a client that stopped reading for %v got %d more bytes of %d (error %v), want its connection closed",
					3*stall, n, len(big)-100, err)
			}
		})
		t.Run("SlowButMoving", func(t *testing.T) {
			body := getSmallWindow(t, url)
			var got bytes.Buffer
			for {
				n, err := io.CopyN(&got, body, 2<<20)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("slow client cut off after %d bytes: %v", got.Len(), err)
				}
				if n > 0 {
					time.Sleep(stall / 5)
				}
			}
			if !bytes.Equal(got.Bytes(), big) {
				t.Fatalf("slow client got %d bytes, want the whole %d", got.Len(), len(big))
			}
		})
	})
}

// getSmallWindow GETs url over a new connection whose receive buffer is
// small, and returns the response's body once the headers are in.
func getSmallWindow(t *testing.T, url string) io.Reader {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return resp.Body
}
