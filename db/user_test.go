package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("CreateAndFind", func(t *testing.T) {
			email := testenv.Name("ada") + "@example.com"
			now := clock.Peek()
			u := &lectern.User{Email: "  " + strings.ToUpper(email) + " ", Name: "Ada", Role: lectern.RoleTeacher, PasswordHash: "argon"}
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			want := &lectern.User{ID: u.ID, Email: email, Name: "Ada", Role: lectern.RoleTeacher, PasswordHash: "argon", CreatedAt: stored(now)}
			if diff := cmp.Diff(want, u); diff != "" {
				t.Errorf("CreateUser filled (-want +got):\n%s", diff)
			}
			if len(u.ID) != 26 {
				t.Errorf("ID %q has %d characters, want 26", u.ID, len(u.ID))
			}
			byID, err := d.FindUserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, byID); diff != "" {
				t.Errorf("FindUserByID (-want +got):\n%s", diff)
			}
			byEmail, err := d.FindUserByEmail(ctx, " "+strings.ToUpper(email[:3])+email[3:])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, byEmail); diff != "" {
				t.Errorf("FindUserByEmail in another case (-want +got):\n%s", diff)
			}
		})
		t.Run("DuplicateEmailAnyCase", func(t *testing.T) {
			email := testenv.Name("bob") + "@example.com"
			if err := d.CreateUser(ctx, &lectern.User{Email: email, Role: lectern.RoleStudent}); err != nil {
				t.Fatal(err)
			}
			err := d.CreateUser(ctx, &lectern.User{Email: " BOB" + email[3:], Role: lectern.RoleTeacher})
			wantCode(t, err, lectern.ECONFLICT)
			if got, want := lectern.ErrorMessage(err), "a user with this email already exists"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
		t.Run("Invalid", func(t *testing.T) {
			for name, u := range map[string]*lectern.User{
				"NoEmail":   {Email: "  ", Role: lectern.RoleStudent},
				"NotEmail":  {Email: "bob", Role: lectern.RoleStudent},
				"BadRole":   {Email: testenv.Name("x") + "@example.com", Role: "owner"},
				"EmptyRole": {Email: testenv.Name("x") + "@example.com"},
			} {
				t.Run(name, func(t *testing.T) {
					wantCode(t, d.CreateUser(ctx, u), lectern.EINVALID)
				})
			}
		})
		t.Run("NotFound", func(t *testing.T) {
			_, err := d.FindUserByID(ctx, "nosuchid")
			wantCode(t, err, lectern.ENOTFOUND)
			_, err = d.FindUserByEmail(ctx, "nobody@example.com")
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}

func TestFindUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		if n, err := d.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountUsers() of a new database = %d, %v; want 0", n, err)
		}
		for _, email := range []string{"carol@example.com", "Alice@example.com", "bob@example.com"} {
			if err := d.CreateUser(ctx, &lectern.User{Email: email, Role: lectern.RoleStudent}); err != nil {
				t.Fatal(err)
			}
		}
		users, err := d.FindUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Email)
		}
		if diff := cmp.Diff([]string{"alice@example.com", "bob@example.com", "carol@example.com"}, got); diff != "" {
			t.Errorf("FindUsers emails (-want +got):\n%s", diff)
		}
		if n, err := d.CountUsers(ctx); err != nil || n != 3 {
			t.Errorf("CountUsers() = %d, %v; want 3", n, err)
		}
	})
}

func TestCreateFirstAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		// Several processes starting at once each try to create their admin.
		const callers = 4
		var (
			wg      sync.WaitGroup
			created = make([]bool, callers)
			errs    = make([]error, callers)
			users   = make([]*lectern.User, callers)
		)
		for i := range callers {
			users[i] = &lectern.User{Email: fmt.Sprintf("admin%d@example.com", i), Name: "Admin", Role: lectern.RoleStudent}
			wg.Go(func() { created[i], errs[i] = d.CreateFirstAdmin(ctx, users[i]) })
		}
		wg.Wait()
		winners := 0
		for i := range callers {
			if errs[i] != nil {
				t.Errorf("CreateFirstAdmin #%d: %v", i, errs[i])
			}
			if !created[i] {
				continue
			}
			winners++
			got, err := d.FindUserByID(ctx, users[i].ID)
			if err != nil {
				t.Fatalf("created admin not found: %v", err)
			}
			if got.Role != lectern.RoleAdmin {
				t.Errorf("first admin has role %q, want admin", got.Role)
			}
		}
		if winners != 1 {
			t.Errorf("%d callers created a first admin, want exactly 1", winners)
		}
		late := &lectern.User{Email: "late@example.com", Role: lectern.RoleAdmin}
		if ok, err := d.CreateFirstAdmin(ctx, late); err != nil || ok {
			t.Errorf("CreateFirstAdmin with users present = %v, %v; want false, nil", ok, err)
		}
		if n, err := d.CountUsers(ctx); err != nil || n != 1 {
			t.Errorf("CountUsers() = %d, %v; want 1", n, err)
		}
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		newSession := func(t *testing.T, u *lectern.User, ttl time.Duration) *lectern.Session {
			t.Helper()
			s := &lectern.Session{TokenHash: testenv.Name("hash"), UserID: u.ID, ExpiresAt: clock.Peek().Add(ttl)}
			if err := d.CreateSession(ctx, s); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			return s
		}
		t.Run("FindUser", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			now := clock.Peek()
			s := newSession(t, u, time.Hour)
			if !s.CreatedAt.Equal(stored(now)) {
				t.Errorf("CreatedAt = %v, want %v", s.CreatedAt, stored(now))
			}
			got, err := d.FindUserBySession(ctx, s.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("FindUserBySession (-want +got):\n%s", diff)
			}
		})
		t.Run("Expired", func(t *testing.T) {
			s := newSession(t, newUser(t, d, lectern.RoleStudent), time.Hour)
			clock.Advance(time.Hour)
			_, err := d.FindUserBySession(ctx, s.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("Unknown", func(t *testing.T) {
			_, err := d.FindUserBySession(ctx, "nosuchhash")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("UnknownUser", func(t *testing.T) {
			err := d.CreateSession(ctx, &lectern.Session{TokenHash: testenv.Name("h"), UserID: "nosuchuser", ExpiresAt: clock.Peek().Add(time.Hour)})
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("Logout", func(t *testing.T) {
			s := newSession(t, newUser(t, d, lectern.RoleStudent), time.Hour)
			if err := d.DeleteSession(ctx, s.TokenHash); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindUserBySession(ctx, s.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
			if err := d.DeleteSession(ctx, s.TokenHash); err != nil {
				t.Errorf("DeleteSession of a missing session: %v", err)
			}
		})
	})
}

func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		u := newUser(t, d, lectern.RoleStudent)
		var short, long []string
		for i, ttl := range []time.Duration{time.Minute, time.Hour, 2 * time.Minute, 24 * time.Hour, 3 * time.Minute} {
			s := &lectern.Session{TokenHash: fmt.Sprintf("hash%d", i), UserID: u.ID, ExpiresAt: clock.Peek().Add(ttl)}
			if err := d.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			if ttl < time.Hour {
				short = append(short, s.TokenHash)
			} else {
				long = append(long, s.TokenHash)
			}
		}
		clock.Advance(10 * time.Minute)
		n, err := d.DeleteExpiredSessions(ctx)
		if err != nil || n != int64(len(short)) {
			t.Errorf("DeleteExpiredSessions() = %d, %v; want %d", n, err, len(short))
		}
		for _, h := range long {
			if _, err := d.FindUserBySession(ctx, h); err != nil {
				t.Errorf("live session %s: %v", h, err)
			}
		}
		if n, err := d.DeleteExpiredSessions(ctx); err != nil || n != 0 {
			t.Errorf("second DeleteExpiredSessions() = %d, %v; want 0", n, err)
		}
	})
}
