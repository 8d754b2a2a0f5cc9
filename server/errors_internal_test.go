package server

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lectern/lectern"
)

// TestPublicErrorStorageFull maps every "no room" error a layer below can
// return to ENOSPACE, and leaves other errors as they are. SQLite's and
// the OS's are also met for real in TestSQLiteOnAFullDisk and
// TestTusOnAFullDisk; PostgreSQL's disk_full cannot be, on a shared
// server, so its error value is built here.
func TestPublicErrorStorageFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"PostgreSQLDiskFull", fmt.Errorf("create session: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), lectern.ENOSPACE},
		{"OSNoSpace", &fs.PathError{Op: "write", Path: "/data/x", Err: syscall.ENOSPC}, lectern.ENOSPACE},
		{"OSQuota", fmt.Errorf("put: %w", syscall.EDQUOT), lectern.ENOSPACE},
		{"PostgreSQLOther", &pgconn.PgError{Code: "23505"}, lectern.EINTERNAL},
		{"Plain", errors.New("boom"), lectern.EINTERNAL},
		{"LecternErrorKept", lectern.Errorf(lectern.ENOTFOUND, "lesson not found"), lectern.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := publicError(tc.err)
			if got := lectern.ErrorCode(err); got != tc.want {
				t.Errorf("code %q, want %q", got, tc.want)
			}
			if tc.want == lectern.ENOSPACE {
				if msg := lectern.ErrorMessage(err); msg != storageFullMessage {
					t.Errorf("message %q", msg)
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("the original error is not kept for the log")
				}
			}
		})
	}
}
