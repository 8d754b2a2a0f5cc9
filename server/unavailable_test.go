package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// wantUnavailable checks the answer to a request made while the database
// was busy or away: 503, Retry-After, the "unavailable" code, and nothing
// of the driver's words.
func wantUnavailable(t *testing.T, r *response) {
	t.Helper()
	msg := r.wantError(http.StatusServiceUnavailable, lectern.EUNAVAILABLE)
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	for _, leak := range []string{"sqlite", "SQLITE", "locked", "pgx", "postgres", "dial", "127.0.0.1", "tcp"} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("error body shows %q: %s", leak, r.Body)
		}
	}
	t.Logf("answered 503: %s", msg)
}

// TestDatabaseUnavailable: requests that need a database that is busy
// (SQLite's writer held past the busy timeout) or gone (PostgreSQL
// unreachable) answer 503 with Retry-After, never 500, on the API and on
// pages; once the database is back the same requests succeed.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("SQLiteWriterHeld", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lectern.db")
		// A short busy timeout, so that the test need not wait 10 s.
		ts := newServer(t, openFixture(t, "sqlite:"+path+"?_busy_timeout=100"))
		_, c := ts.loginNew(t, lectern.RoleTeacher)
		release := holdSQLiteWriter(t, path)
		wantUnavailable(t, c.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Busy"}))
		wantUnavailable(t, c.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "busy"}))
		// Reads go on while the writer is held.
		c.do(t, "GET", "/api/v1/courses", nil).want(http.StatusOK)
		release()
		c.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Free"}).want(http.StatusCreated)
	})
	t.Run("PostgreSQLGone", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		proxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, url))
		ts := newServer(t, openFixture(t, proxy.ProxyURL(url)))
		_, c := ts.loginNew(t, lectern.RoleTeacher)
		proxy.Cut()
		wantUnavailable(t, c.do(t, "GET", "/api/v1/me", nil))
		wantUnavailable(t, c.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Away"}))
		wantUnavailable(t, c.do(t, "GET", "/api/v1/courses", nil, "Authorization", "Bearer lct_whatever"))
		page := c.do(t, "GET", "/courses", nil)
		if page.Status != http.StatusServiceUnavailable || page.Header.Get("Retry-After") == "" {
			t.Errorf("page while the database is away: %d, Retry-After %q; want 503 with Retry-After", page.Status, page.Header.Get("Retry-After"))
		}
		if !strings.Contains(string(page.Body), "Lectern is busy") || strings.Contains(string(page.Body), "dial") {
			t.Errorf("the page does not say the server is busy, or shows the driver's words:\n%s", page.Body)
		}
		proxy.Restore()
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		c.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Back"}).want(http.StatusCreated)
	})
}
