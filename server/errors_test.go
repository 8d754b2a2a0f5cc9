package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

func TestErrorShape(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, c := ts.loginNew(t, lectern.RoleTeacher)

		t.Run("MalformedJSON", func(t *testing.T) {
			msg := c.do(t, "POST", "/api/v1/courses", `{"title": "x"`).wantError(http.StatusBadRequest, lectern.EINVALID)
			if !strings.Contains(msg, "JSON") {
				t.Errorf("message %q does not say the JSON is malformed", msg)
			}
			c.do(t, "POST", "/api/v1/courses", `{"title": }`).wantError(http.StatusBadRequest, lectern.EINVALID)
			c.do(t, "POST", "/api/v1/courses", ``).wantError(http.StatusBadRequest, lectern.EINVALID)
			c.do(t, "POST", "/api/v1/courses", `{"title": "a"} {"title": "b"}`).wantError(http.StatusBadRequest, lectern.EINVALID)
		})
		t.Run("WrongType", func(t *testing.T) {
			msg := c.do(t, "POST", "/api/v1/courses", `{"title": 42}`).wantError(http.StatusBadRequest, lectern.EINVALID)
			if !strings.Contains(msg, `"title"`) || !strings.Contains(msg, "string") {
				t.Errorf("message %q does not say title must be a string", msg)
			}
			c.do(t, "POST", "/api/v1/courses", `["title"]`).wantError(http.StatusBadRequest, lectern.EINVALID)
		})
		t.Run("UnknownRoute", func(t *testing.T) {
			c.do(t, "GET", "/api/v1/no-such-thing", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			ts.client(t).do(t, "GET", "/api/v1/no-such-thing", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			ts.client(t).do(t, "GET", "/nowhere", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("WrongMethod", func(t *testing.T) {
			c.do(t, "PUT", "/api/v1/me", nil).wantError(http.StatusMethodNotAllowed, lectern.EINVALID)
			c.do(t, "PATCH", "/api/v1/session", nil).wantError(http.StatusMethodNotAllowed, lectern.EINVALID)
		})
		t.Run("BodyTooLarge", func(t *testing.T) {
			big := `{"title": "` + strings.Repeat("a", 2<<20) + `"}`
			// With a Content-Length, and streamed without one.
			c.do(t, "POST", "/api/v1/courses", big).wantError(http.StatusRequestEntityTooLarge, lectern.ETOOLARGE)
			c.do(t, "POST", "/api/v1/courses", io.MultiReader(strings.NewReader(big))).
				wantError(http.StatusRequestEntityTooLarge, lectern.ETOOLARGE)
			// Just under the limit is fine as far as size goes.
			ok := `{"title": "T", "description": "` + strings.Repeat("a", 5000) + `"}`
			c.do(t, "POST", "/api/v1/courses", ok).want(http.StatusCreated)
		})
	})
}

func TestCrossOrigin(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx, func(o *server.Options) { o.PublicURL = "https://lectern.example.org" })
		u, pw := fx.createUser(t, lectern.RoleTeacher)
		c := ts.client(t)
		// The login itself is protected from cross-site forgery.
		msg := c.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": pw}, "Sec-Fetch-Site", "cross-site").
			wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		if msg != "cross-origin request refused" {
			t.Errorf("message = %q", msg)
		}
		c.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": pw}, "Sec-Fetch-Site", "same-origin").
			want(http.StatusOK)
		course := map[string]string{"title": "T"}

		t.Run("CrossSiteRefused", func(t *testing.T) {
			c.do(t, "POST", "/api/v1/courses", course, "Sec-Fetch-Site", "cross-site").wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			c.do(t, "POST", "/api/v1/courses", course, "Origin", "https://evil.example").wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			c.do(t, "DELETE", "/api/v1/session", nil, "Origin", "https://evil.example").wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK) // still logged in
		})
		t.Run("SameOriginPasses", func(t *testing.T) {
			c.do(t, "POST", "/api/v1/courses", course, "Sec-Fetch-Site", "same-origin").want(http.StatusCreated)
			c.do(t, "POST", "/api/v1/courses", course, "Origin", ts.URL).want(http.StatusCreated)
			// Behind a proxy that rewrites Host, the public origin still counts.
			c.do(t, "POST", "/api/v1/courses", course, "Origin", "https://lectern.example.org").want(http.StatusCreated)
		})
		t.Run("CrossSiteReadsPass", func(t *testing.T) {
			c.do(t, "GET", "/api/v1/courses", nil, "Sec-Fetch-Site", "cross-site").want(http.StatusOK)
		})
		t.Run("BearerWithoutBrowserHeadersPasses", func(t *testing.T) {
			var tok struct{ Token string }
			c.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}).want(http.StatusCreated).decode(&tok)
			ts.client(t).do(t, "POST", "/api/v1/courses", course, "Authorization", "Bearer "+tok.Token).want(http.StatusCreated)
		})
	})
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestInternalErrorIsLoggedWithRequestID(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	var logs syncBuffer
	ts := newServer(t, fx, func(o *server.Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	_, c := ts.loginNew(t, lectern.RoleStudent)
	c.do(t, "POST", "/api/v1/session", map[string]string{"email": "nobody@example.org", "password": "wrong-password"}).
		wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
	if logs.String() != "" {
		t.Errorf("a client error was logged: %s", logs.String())
	}

	fx.DB.Close() // every query fails from now on
	r := c.do(t, "GET", "/api/v1/me", nil)
	if msg := r.wantError(http.StatusInternalServerError, lectern.EINTERNAL); msg != "internal error" {
		t.Errorf("message = %q; internal details must not reach the client", msg)
	}
	var entry struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal([]byte(logs.String()), &entry); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if id := r.Header.Get("X-Request-Id"); id == "" || entry.RequestID != id || entry.Error == "" {
		t.Errorf("log entry %+v; want request_id %q and the error", entry, id)
	}
}
