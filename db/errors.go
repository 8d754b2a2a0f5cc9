package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// isUniqueViolation reports whether err is a unique or primary key
// constraint violation, in either dialect.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign key violation:
// the row refers to a user, course or lesson that does not exist.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// IsUnavailable reports whether err says that the database could not
// answer for now, rather than that the request or the code is wrong: SQLite
// still busy or locked once its busy timeout has passed; PostgreSQL
// unreachable, refusing connections, shutting down or restarting, out of
// connections, or a connection lost mid-way; or a deadline passed while
// waiting for either. Such a request may simply be tried again a moment
// later, which is what the HTTP layer tells the client (503, Retry-After).
// A network error that did not come through this package (a client that
// went away mid-upload, say) is not the database's.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		// Extended codes (SQLITE_BUSY_SNAPSHOT, …) keep the primary code
		// in their low byte.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgUnavailable(pe.Code)
	}
	var (
		ce *pgconn.ConnectError
		le *lostConnection
	)
	return errors.As(err, &ce) || errors.As(err, &le) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

// lostConnection is a failure of the connection to the database itself
// (refused, reset, cut off mid-answer), as the driver reported it.
type lostConnection struct{ err error }

func (e *lostConnection) Error() string { return e.err.Error() }
func (e *lostConnection) Unwrap() error { return e.err }

// markLost wraps err in a lostConnection when it is the database
// connection that failed, so that IsUnavailable can tell it from other
// network errors. Every call to the driver returns its errors through it.
func markLost(err error) error {
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return &lostConnection{err}
	case pgconn.SafeToRetry(err):
		// pgx failed before sending anything (its connection was closed).
		return &lostConnection{err}
	}
	return err
}

// pgUnavailable reports whether a PostgreSQL SQLSTATE means the server
// cannot serve the request for now.
func pgUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case code == "57P01", // admin_shutdown: the server is stopping or restarting
		code == "57P02", // crash_shutdown
		code == "57P03", // cannot_connect_now: starting up or in recovery
		code == "57P05", // idle_session_timeout
		code == "57014", // query_canceled: statement_timeout, or a deadline
		code == "53300", // too_many_connections
		code == "25006": // read_only_sql_transaction: a standby during failover
		return true
	}
	return false
}
