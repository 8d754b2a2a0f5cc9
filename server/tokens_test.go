package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

// holdSQLiteWriter takes SQLite's write lock on the database file at path
// from a connection of its own, as a long write by another process would,
// and returns the function that lets it go (also run when the test ends).
func holdSQLiteWriter(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("release the write lock: %v", err)
		}
		conn.Close()
		other.Close()
	}
	t.Cleanup(release)
	return release
}

// TestTokenAuthWhileWriterHeld: a script using an API token keeps getting
// answers to its reads while another connection holds SQLite's write lock
// (a long upload commit, a migration, a backup): authenticating must not
// write. Before the fix every bearer request updated last_used_at in a
// write transaction, waited out the 10 s busy timeout and answered 500.
func TestTokenAuthWhileWriterHeld(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lectern.db")
	ts := newServer(t, openFixture(t, "sqlite:"+path))
	_, c := ts.loginNew(t, lectern.RoleStudent)
	var tok struct{ Token string }
	c.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}).want(http.StatusCreated).decode(&tok)

	holdSQLiteWriter(t, path)
	bearer := ts.client(t)
	// Well under the 10 s busy timeout: a request that waits for the
	// lock fails here instead of passing late.
	bearer.hc.Timeout = 3 * time.Second
	for range 5 {
		var me struct{ ID string }
		bearer.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok.Token).want(http.StatusOK).decode(&me)
		if me.ID == "" {
			t.Fatal("GET /api/v1/me answered no user")
		}
	}
}
