package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
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

// tokenEntry is a token as GET /api/v1/tokens lists it.
type tokenEntry struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Expired    bool       `json:"expired"`
}

func listTokens(t *testing.T, c *client) []tokenEntry {
	t.Helper()
	var list struct{ Tokens []tokenEntry }
	r := c.do(t, "GET", "/api/v1/tokens", nil).want(http.StatusOK)
	r.decode(&list)
	if strings.Contains(string(r.Body), "lct_") || strings.Contains(string(r.Body), "hash") {
		t.Errorf("the token list shows a secret or its hash: %s", r.Body)
	}
	return list.Tokens
}

// TestTokenManagement: people list their API tokens, give new ones an
// expiry, and revoke them; an expired or revoked token stops working at
// once, and nobody can see or revoke someone else's.
func TestTokenManagement(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, c := ts.loginNew(t, lectern.RoleStudent)
		_, other := ts.loginNew(t, lectern.RoleStudent)
		bearer := func(secret string) *client {
			b := ts.client(t)
			b.header.Set("Authorization", "Bearer "+secret)
			return b
		}

		var forever, weekly struct {
			tokenEntry
			Token string
		}
		c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "backup script"}).want(http.StatusCreated).decode(&forever)
		fx.Clock.Advance(time.Second)
		c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "laptop", "expires_in_days": 7}).want(http.StatusCreated).decode(&weekly)
		now := fx.Clock.Now()
		if forever.ExpiresAt != nil || forever.Token == "" {
			t.Errorf("token without expiry: %+v", forever)
		}
		if weekly.ExpiresAt == nil || !weekly.ExpiresAt.Equal(now.Add(7*24*time.Hour)) {
			t.Errorf("expires_at = %v, want 7 days from now (%v)", weekly.ExpiresAt, now.Add(7*24*time.Hour))
		}

		t.Run("ListNewestFirst", func(t *testing.T) {
			list := listTokens(t, c)
			if len(list) != 2 || list[0].ID != weekly.ID || list[1].ID != forever.ID {
				t.Fatalf("tokens = %+v; want laptop then backup script", list)
			}
			if list[0].Name != "laptop" || list[0].ExpiresAt == nil || list[0].Expired || list[1].LastUsedAt != nil {
				t.Errorf("listed = %+v", list)
			}
			if got := listTokens(t, other); len(got) != 0 {
				t.Errorf("another user sees %d tokens, want none", len(got))
			}
		})
		t.Run("BadExpiry", func(t *testing.T) {
			for _, days := range []any{0, -1, 3651, "7", 1.5} {
				c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "x", "expires_in_days": days}).
					wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			if n := len(listTokens(t, c)); n != 2 {
				t.Errorf("%d tokens after refused creations, want 2", n)
			}
		})
		t.Run("LastUsedShown", func(t *testing.T) {
			bearer(forever.Token).do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
			// Written by the background writer, a moment later.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				list := listTokens(t, c)
				if used := list[1].LastUsedAt; used != nil {
					if !used.Equal(fx.Clock.Now()) {
						t.Errorf("last_used_at = %v, want %v", used, fx.Clock.Now())
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("last_used_at not shown within 30 s of a use")
				}
			}
		})
		t.Run("SomeoneElsesIs404", func(t *testing.T) {
			other.do(t, "DELETE", "/api/v1/tokens/"+forever.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			bearer(forever.Token).do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
			c.do(t, "DELETE", "/api/v1/tokens/no-such-token", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("ExpiredIs401AtOnce", func(t *testing.T) {
			b := bearer(weekly.Token)
			fx.Clock.Advance(7*24*time.Hour - 2*time.Second)
			b.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
			fx.Clock.Advance(2 * time.Second)
			b.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			list := listTokens(t, c)
			if !list[0].Expired {
				t.Errorf("expired token listed as %+v, want expired", list[0])
			}
		})
		t.Run("RevokedIs401AtOnce", func(t *testing.T) {
			b := bearer(forever.Token)
			b.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
			c.do(t, "DELETE", "/api/v1/tokens/"+forever.ID, nil).want(http.StatusNoContent)
			b.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			list := listTokens(t, c)
			if len(list) != 1 || list[0].ID != weekly.ID {
				t.Errorf("tokens after revoking one: %+v", list)
			}
			c.do(t, "DELETE", "/api/v1/tokens/"+forever.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("Anonymous", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/tokens", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			ts.client(t).do(t, "DELETE", "/api/v1/tokens/"+weekly.ID, nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
	})
}

// TestTokensPage: the API tokens page lists my tokens (never a secret or
// anyone else's), is linked from every page's account menu, and needs a
// login.
func TestTokensPage(t *testing.T) {
	ts := pageServer(t)
	_, c := ts.loginNew(t, lectern.RoleStudent)
	_, other := ts.loginNew(t, lectern.RoleStudent)
	var mine, theirs struct{ Token string }
	c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "<b>nightly</b> export", "expires_in_days": 30}).want(http.StatusCreated).decode(&mine)
	other.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "their script"}).want(http.StatusCreated).decode(&theirs)

	page := string(c.do(t, "GET", "/account/tokens", nil).want(http.StatusOK).Body)
	for _, want := range []string{"&lt;b&gt;nightly&lt;/b&gt; export", "Revoke", `src="/static/js/tokens.js`, `href="/account/tokens" aria-current="page"`} {
		if !strings.Contains(page, want) {
			t.Errorf("tokens page lacks %q", want)
		}
	}
	for _, leak := range []string{mine.Token, theirs.Token, "their script", "<b>nightly"} {
		if strings.Contains(page, leak) {
			t.Errorf("tokens page shows %q", leak)
		}
	}
	courses := string(c.do(t, "GET", "/courses", nil).want(http.StatusOK).Body)
	if !strings.Contains(courses, `href="/account/tokens"`) {
		t.Error("the account menu does not link the API tokens page")
	}
	r := ts.client(t).noRedirects().do(t, "GET", "/account/tokens", nil).want(http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != "/login?next=%2Faccount%2Ftokens" {
		t.Errorf("logged out: Location = %q", got)
	}
}
