package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The http.Server deliberately has no ReadTimeout (cmd/lectern/http.go):
// an upload may take hours. Without a deadline of some kind, though, a
// client that sends a body a byte now and then holds a connection and a
// goroutine for as long as it likes. withBodyDeadlines sets one per
// request: the whole body of an ordinary request must arrive within
// Limits.BodyTimeout; an upload's body may take as long as it needs but may
// not go silent for Limits.UploadIdleTimeout. A request cut off is answered
// 408, and the server then closes its connection.
func (s *Server) withBodyDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w)}
		if isUploadRequest(r) {
			b.idle, b.timeout = s.limits.UploadIdleTimeout, errUploadIdle
		} else {
			b.timeout = errBodySlow
			err := b.rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout))
			if errors.Is(err, http.ErrNotSupported) {
				next.ServeHTTP(w, r) // a connection without deadlines (tests' recorders)
				return
			}
		}
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

// isUploadRequest reports whether r's body is a recording: a tus request
// or the streaming upload. A new route that streams a large body belongs
// here (and in streamingRoute), or its body must arrive within
// Limits.BodyTimeout.
func isUploadRequest(r *http.Request) bool {
	return isTusRequest(r) || r.Method == http.MethodPut && routeMatches(sourceRoute, r.URL.Path)
}

// routeMatches reports whether path matches an Echo route template whose
// ":name" segments match any one non-empty segment.
func routeMatches(route, path string) bool {
	rs, ps := strings.Split(route, "/"), strings.Split(path, "/")
	if len(rs) != len(ps) {
		return false
	}
	for i := range rs {
		if strings.HasPrefix(rs[i], ":") && ps[i] != "" || rs[i] == ps[i] {
			continue
		}
		return false
	}
	return true
}

// deadlineBody is a request body read under a deadline: one for the whole
// body, set before it is wrapped, or, when idle is set, a fresh one before
// each read. Once the body has been read to its end the deadline is
// cleared, so that it cannot cut off the rest of the request (net/http
// reads on from the connection to notice a client that goes away).
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	idle    time.Duration
	timeout error
	ended   bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.idle > 0 && !b.ended {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle)) // supported: the caller checked
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && !b.ended:
		b.ended = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, b.timeout
	}
	return n, err
}

// bodyTimeoutError is what reading a request body returns once its
// deadline has passed. It unwraps to a 408 for the error handler, and it
// is a timeout (a net.Error, and os.ErrDeadlineExceeded) for code that
// checks, such as tusd, which then keeps what arrived for the upload to
// resume from.
type bodyTimeoutError struct{ he *echo.HTTPError }

var (
	errBodySlow = &bodyTimeoutError{echo.NewHTTPError(http.StatusRequestTimeout,
		"the request took too long to arrive; check your connection and try again")}
	errUploadIdle = &bodyTimeoutError{echo.NewHTTPError(http.StatusRequestTimeout,
		"the upload stopped: nothing arrived for a while; check your connection and upload again")}
)

func (e *bodyTimeoutError) Error() string        { return "request body: " + e.he.Message.(string) }
func (e *bodyTimeoutError) Unwrap() error        { return e.he }
func (e *bodyTimeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// Timeout reports true: the body timed out.
func (e *bodyTimeoutError) Timeout() bool { return true }

// Temporary reports false: the connection is done.
func (e *bodyTimeoutError) Temporary() bool { return false }
