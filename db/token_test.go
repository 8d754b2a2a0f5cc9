package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

func newToken(t *testing.T, d *db.DB, u *lectern.User, expires *time.Time) *lectern.APIToken {
	t.Helper()
	tok := &lectern.APIToken{UserID: u.ID, Name: "cli", TokenHash: testenv.Name("th"), ExpiresAt: expires}
	if err := d.CreateAPIToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// lastUsed returns when the token was last used, as its owner's list says.
func lastUsed(t *testing.T, d *db.DB, tok *lectern.APIToken) *time.Time {
	t.Helper()
	tokens, err := d.FindAPITokens(context.Background(), tok.UserID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range tokens {
		if k.ID == tok.ID {
			return k.LastUsedAt
		}
	}
	t.Fatalf("token %s is not in its owner's list", tok.ID)
	return nil
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("CreateFindAndList", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleTeacher)
			created := clock.Peek()
			tok := newToken(t, d, u, nil)
			if tok.ID == "" || !tok.CreatedAt.Equal(stored(created)) {
				t.Errorf("CreateAPIToken filled ID %q, CreatedAt %v; want an id and %v", tok.ID, tok.CreatedAt, stored(created))
			}
			clock.Advance(time.Hour)
			got, err := d.FindUserByAPIToken(ctx, tok.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("FindUserByAPIToken (-want +got):\n%s", diff)
			}
			tokens, err := d.FindAPITokens(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Finding the user writes nothing: the use is TokenUses's.
			want := []*lectern.APIToken{{ID: tok.ID, UserID: u.ID, Name: "cli", TokenHash: tok.TokenHash, CreatedAt: tok.CreatedAt}}
			if diff := cmp.Diff(want, tokens); diff != "" {
				t.Errorf("FindAPITokens (-want +got):\n%s", diff)
			}
		})
		t.Run("Unknown", func(t *testing.T) {
			_, err := d.FindUserByAPIToken(ctx, "nosuchhash")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("UnknownUser", func(t *testing.T) {
			err := d.CreateAPIToken(ctx, &lectern.APIToken{UserID: "nosuchuser", Name: "x", TokenHash: testenv.Name("th")})
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("Expires", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			exp := clock.Peek().Add(24 * time.Hour)
			tok := newToken(t, d, u, &exp)
			if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(stored(exp)) {
				t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, stored(exp))
			}
			clock.Advance(24*time.Hour - time.Second)
			if _, err := d.FindUserByAPIToken(ctx, tok.TokenHash); err != nil {
				t.Fatalf("a second before it expires: %v", err)
			}
			clock.Advance(time.Second)
			_, err := d.FindUserByAPIToken(ctx, tok.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
			tokens, err := d.FindAPITokens(ctx, u.ID)
			if err != nil || len(tokens) != 1 || tokens[0].ExpiresAt == nil || !tokens[0].ExpiresAt.Equal(stored(exp)) {
				t.Errorf("an expired token is still listed with its expiry: %+v, %v", tokens, err)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			owner, other := newUser(t, d, lectern.RoleStudent), newUser(t, d, lectern.RoleStudent)
			tok := newToken(t, d, owner, nil)
			wantCode(t, d.DeleteAPIToken(ctx, other.ID, tok.ID), lectern.ENOTFOUND)
			if _, err := d.FindUserByAPIToken(ctx, tok.TokenHash); err != nil {
				t.Fatalf("someone else's revoke stopped the token: %v", err)
			}
			if err := d.DeleteAPIToken(ctx, owner.ID, tok.ID); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindUserByAPIToken(ctx, tok.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
			wantCode(t, d.DeleteAPIToken(ctx, owner.ID, tok.ID), lectern.ENOTFOUND)
		})
		t.Run("AtMostPerUser", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			for range db.MaxAPITokensPerUser {
				newToken(t, d, u, nil)
			}
			err := d.CreateAPIToken(ctx, &lectern.APIToken{UserID: u.ID, Name: "one too many", TokenHash: testenv.Name("th")})
			wantCode(t, err, lectern.ECONFLICT)
			// Another user is not held back by this one's tokens.
			newToken(t, d, newUser(t, d, lectern.RoleStudent), nil)
		})
	})
}

func TestTokenUses(t *testing.T) {
	t.Parallel()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("WrittenInTheBackground", func(t *testing.T) {
			tok := newToken(t, d, newUser(t, d, lectern.RoleStudent), nil)
			uses := db.NewTokenUses(d, func(err error) { t.Errorf("write: %v", err) })
			used := clock.Peek()
			uses.Note(tok.TokenHash)
			// The writer stores it on its own, a moment later.
			for deadline := time.Now().Add(30 * time.Second); lastUsed(t, d, tok) == nil; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the use was not written within 30 s")
				}
			}
			if got := lastUsed(t, d, tok); !got.Equal(stored(used)) {
				t.Errorf("last used %v, want %v", got, stored(used))
			}
			if err := uses.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("AtMostOnceAMinute", func(t *testing.T) {
			tok := newToken(t, d, newUser(t, d, lectern.RoleStudent), nil)
			uses := db.NewTokenUses(d, func(err error) { t.Errorf("write: %v", err) })
			first := clock.Peek()
			uses.Note(tok.TokenHash)
			clock.Advance(59 * time.Second)
			uses.Note(tok.TokenHash) // within the minute: not taken
			if err := uses.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed(t, d, tok); got == nil || !got.Equal(stored(first)) {
				t.Errorf("last used %v, want the first use %v", got, stored(first))
			}

			uses = db.NewTokenUses(d, func(err error) { t.Errorf("write: %v", err) })
			uses.Note(tok.TokenHash)
			clock.Advance(time.Minute)
			later := clock.Peek()
			uses.Note(tok.TokenHash) // a minute on: taken
			if err := uses.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed(t, d, tok); got == nil || !got.Equal(stored(later)) {
				t.Errorf("last used %v, want the use a minute later %v", got, stored(later))
			}
			uses.Note(tok.TokenHash) // after Close: nothing, and no writer left behind
		})
		t.Run("RevokedMeanwhile", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			tok := newToken(t, d, u, nil)
			uses := db.NewTokenUses(d, func(err error) { t.Errorf("write: %v", err) })
			uses.Note(tok.TokenHash)
			if err := d.DeleteAPIToken(context.Background(), u.ID, tok.ID); err != nil {
				t.Fatal(err)
			}
			if err := uses.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := d.FindUserByAPIToken(context.Background(), tok.TokenHash); lectern.ErrorCode(err) != lectern.ENOTFOUND {
				t.Errorf("a revoked token came back after its use was written: %v", err)
			}
		})
	})
}

// TestTokenUsesKeptWhileBusy: uses noted while another connection holds
// SQLite's writer are kept and written once it lets go.
func TestTokenUsesKeptWhileBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lectern.db")
	clock := newFakeClock()
	// A short busy timeout, so that the write fails soon.
	d := openDB(t, "sqlite:"+path+"?_busy_timeout=50", clock)
	tok := newToken(t, d, newUser(t, d, lectern.RoleStudent), nil)

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 10)
	uses := db.NewTokenUses(d, func(err error) { failed <- err })
	used := clock.Peek()
	uses.Note(tok.TokenHash)
	select {
	case err := <-failed:
		if !db.IsUnavailable(err) {
			t.Errorf("the failed write says %v; want a busy database", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no write was tried within 30 s")
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := uses.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(t, d, tok); got == nil || !got.Equal(stored(used)) {
		t.Errorf("last used %v after the writer let go, want %v", got, stored(used))
	}
}
