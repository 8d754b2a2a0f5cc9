package db_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// TestIsUnavailable classifies errors the databases really return: an
// outage or a busy writer is "unavailable" (the HTTP layer answers 503 and
// Retry-After); a request's own mistake is not.
func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, what string, err error, want bool) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if got := db.IsUnavailable(err); got != want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", what, err, got, want)
		}
	}

	t.Run("SQLiteBusy", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lectern.db")
		d := openDB(t, "sqlite:"+path+"?_busy_timeout=50", nil)
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
		defer conn.ExecContext(ctx, "ROLLBACK")
		check(t, "write while another connection holds the writer", d.CreateUser(ctx, &lectern.User{Email: "a@example.org", Role: lectern.RoleStudent}), true)
	})

	t.Run("PostgreSQL", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		proxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, url))
		d := openDB(t, proxy.ProxyURL(url), nil)
		u := newUser(t, d, lectern.RoleStudent)
		check(t, "duplicate email", d.CreateUser(ctx, &lectern.User{Email: u.Email, Role: lectern.RoleStudent}), false)
		_, err := d.FindUserByID(ctx, "nobody")
		check(t, "missing user", err, false)

		// An administrator (or a restart) ends every session: 57P01.
		admin, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
		if _, err = d.FindUserByID(ctx, u.ID); err != nil {
			check(t, "connection terminated by the server", err, true)
		} else {
			// database/sql checks a connection idle for over a second
			// before use, and quietly replaced this one.
			t.Log("the terminated connection was replaced before use")
		}

		proxy.Cut()
		_, err = d.FindUserByID(ctx, u.ID)
		check(t, "server gone", err, true)
		_, err = d.FindUsers(ctx)
		check(t, "server gone, in a transaction", err, true)
		proxy.Restore()
		if _, err := d.FindUserByID(ctx, u.ID); err != nil {
			t.Errorf("after the server came back: %v", err)
		}

		short, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		<-short.Done()
		_, err = d.FindUsers(short)
		check(t, "deadline passed", err, true)
	})

	t.Run("NotDatabase", func(t *testing.T) {
		check(t, "lectern error", lectern.Errorf(lectern.EINVALID, "bad"), false)
		check(t, "plain error", errors.New("boom"), false)
		check(t, "canceled request", context.Canceled, false)
		// A client that went away mid-request is not the database.
		check(t, "client connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false)
		check(t, "client body cut short", io.ErrUnexpectedEOF, false)
	})
}
