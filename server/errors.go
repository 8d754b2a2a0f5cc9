package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// errorBody is the API's error shape: {"error":{"code":…,"message":…}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps a lectern error code to an HTTP status.
func statusOf(code string) int {
	switch code {
	case lectern.EINVALID:
		return http.StatusBadRequest
	case lectern.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case lectern.EFORBIDDEN:
		return http.StatusForbidden
	case lectern.ENOTFOUND:
		return http.StatusNotFound
	case lectern.ECONFLICT:
		return http.StatusConflict
	case lectern.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case lectern.ERATELIMIT:
		return http.StatusTooManyRequests
	case lectern.ENOSPACE:
		return http.StatusInsufficientStorage
	case lectern.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// storageFullMessage is what a user is told when the database or the
// disk under it is full, whatever they were doing (logging in, creating a
// lesson, uploading).
const storageFullMessage = "The server is out of storage space, so this could not be saved. Please try again later, and tell your administrator."

// publicError is the one place where errors from below that a person
// should hear about, yet carry no *lectern.Error, get one: a database or
// disk that is full (SQLite's "database or disk is full", PostgreSQL's
// disk_full, the OS's ENOSPC, an S3 store out of space) is ENOSPACE,
// answered 507 with storageFullMessage instead of a 500. err stays in the
// chain, for the log. Anything else is returned as it is.
func publicError(err error) error {
	var le *lectern.Error
	if err == nil || errors.As(err, &le) || !isStorageFull(err) {
		return err
	}
	return fmt.Errorf("%w (%w)", lectern.Errorf(lectern.ENOSPACE, storageFullMessage), err)
}

// isStorageFull reports an error that says there is no room to write,
// recognised through the methods of the drivers' error types so that this
// package needs none of them.
func isStorageFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	var sqliteErr interface{ Code() int } // modernc.org/sqlite's *Error
	if errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteFull {
		return true
	}
	var pgErr interface{ SQLState() string } // pgx's *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.SQLState() == pgDiskFull {
		return true
	}
	var s3Err interface {
		ErrorCode() string
		ErrorMessage() string
	} // the AWS SDK's API errors (tusd's S3 store)
	if errors.As(err, &s3Err) {
		switch s3Err.ErrorCode() {
		case "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded":
			return true
		}
		// MinIO sometimes reports a drive that filled up during the
		// request as an InternalError whose cause is the OS's.
		return strings.Contains(s3Err.ErrorMessage(), "no space left on device")
	}
	return false
}

const (
	// sqliteFull is SQLITE_FULL, "database or disk is full".
	sqliteFull = 13
	// pgDiskFull is PostgreSQL's SQLSTATE disk_full.
	pgDiskFull = "53100"
)

// fromEchoError turns one of Echo's own errors (unknown route, wrong
// method, body limit, …) into the API's code and message. A wrong method
// is 405 with code "invalid": the contract has no dedicated code for it.
func fromEchoError(he *echo.HTTPError) (status int, code, message string) {
	status = he.Code
	switch status {
	case http.StatusNotFound:
		return status, lectern.ENOTFOUND, "not found"
	case http.StatusMethodNotAllowed:
		return status, lectern.EINVALID, "method not allowed"
	case http.StatusRequestEntityTooLarge:
		return status, lectern.ETOOLARGE, "request body too large"
	case http.StatusUnauthorized:
		return status, lectern.EUNAUTHORIZED, "authentication required"
	case http.StatusForbidden:
		return status, lectern.EFORBIDDEN, "forbidden"
	case http.StatusTooManyRequests:
		return status, lectern.ERATELIMIT, "too many requests"
	case http.StatusServiceUnavailable:
		return status, lectern.EUNAVAILABLE, "the server is busy; try again in a moment"
	}
	if status >= 400 && status < 500 {
		msg := strings.ToLower(http.StatusText(status))
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		return status, lectern.EINVALID, msg
	}
	return http.StatusInternalServerError, lectern.EINTERNAL, "internal error"
}

// handleError is Echo's one HTTPErrorHandler: every error a handler or
// middleware returns becomes the API's JSON error shape here. Only internal
// errors are logged, with the request ID.
func (s *Server) handleError(err error, c echo.Context) {
	if s.handleUnavailable(err, c) {
		return
	}
	var (
		status        int
		code, message string
		le            *lectern.Error
		he            *echo.HTTPError
	)
	err = publicError(err)
	switch {
	case errors.As(err, &le):
		status, code, message = statusOf(le.Code), le.Code, le.Message
	case errors.As(err, &he):
		status, code, message = fromEchoError(he)
	default:
		status, code, message = http.StatusInternalServerError, lectern.EINTERNAL, "internal error"
	}
	// A refusal for lack of capacity (503) is not a failure of the server:
	// it shows in the metrics by status, not as an error line per request.
	if status >= http.StatusInternalServerError && code != lectern.EUNAVAILABLE {
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.Any("error", err))
	}
	if c.Response().Committed {
		return
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if err := c.JSON(status, errorBody{errorDetail{code, message}}); err != nil {
		s.logger.WarnContext(c.Request().Context(), "write error response", slog.Any("error", err))
	}
}

// A busy or unreachable database (db.IsUnavailable) is answered here, for
// every route: 503, code "unavailable", a Retry-After, and a message that
// names no driver, table or host. It is logged as a warning with its cause:
// many requests fail together during an outage, and the fault is not in
// the request. Alert on the rate of 503s (see docs/operations.md).

// unavailableRetryAfter is what Retry-After says, in seconds: long enough
// for a SQLite writer or a PostgreSQL restart to finish, short enough that
// a player's next heartbeat is not held back much.
const unavailableRetryAfter = 5

// unavailableMessage is what people are told.
const unavailableMessage = "Lectern is busy or cannot reach its database right now. Please try again in a few seconds."

// unavailable returns the EUNAVAILABLE error err stands for when err says
// the database is busy or unreachable, and nil otherwise. Errors that
// already carry a code (a *lectern.Error) keep it.
func unavailable(err error) *lectern.Error {
	if lectern.ErrorCode(err) != lectern.EINTERNAL || !db.IsUnavailable(err) {
		return nil
	}
	return lectern.Errorf(lectern.EUNAVAILABLE, unavailableMessage)
}

// handleUnavailable answers err with 503 and Retry-After when the
// database is busy or unreachable, and reports whether it did.
func (s *Server) handleUnavailable(err error, c echo.Context) bool {
	ue := unavailable(err)
	if ue == nil {
		return false
	}
	s.logger.WarnContext(c.Request().Context(), "database unavailable",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("method", c.Request().Method),
		slog.String("path", c.Request().URL.Path),
		slog.Any("error", err))
	if c.Response().Committed {
		return true
	}
	setRetryAfter(c, unavailableRetryAfter)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(http.StatusServiceUnavailable)
		return true
	}
	_ = c.JSON(http.StatusServiceUnavailable, errorBody{errorDetail{ue.Code, ue.Message}})
	return true
}

// writeErrorJSON writes the API's error shape outside Echo (the
// cross-origin deny handler runs before Echo sees the request).
func writeErrorJSON(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{errorDetail{code, message}})
}

// decodeJSON reads one JSON value from the request body into v. Errors are
// *lectern.Error with messages a client developer can act on, except an
// oversize body, which stays Echo's 413 error.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		return jsonDecodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return lectern.Errorf(lectern.EINVALID, "request body must hold a single JSON object")
	}
	return nil
}

func jsonDecodeError(err error) error {
	var (
		he  *echo.HTTPError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, io.EOF):
		return lectern.Errorf(lectern.EINVALID, "request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return lectern.Errorf(lectern.EINVALID, "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		return lectern.Errorf(lectern.EINVALID, "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &ute):
		if ute.Field == "" {
			return lectern.Errorf(lectern.EINVALID, "request body must be %s, not %s", kindName(ute.Type), ute.Value)
		}
		return lectern.Errorf(lectern.EINVALID, "field %q must be %s, not %s", ute.Field, kindName(ute.Type), ute.Value)
	}
	return lectern.Errorf(lectern.EINVALID, "could not read request body: %s", err.Error())
}

// kindName names a Go type the way a JSON client thinks of it.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of type " + t.String()
}

// setRetryAfter tells a throttled client how long to wait, in whole seconds.
func setRetryAfter(c echo.Context, seconds int) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(seconds))
}

// validateText trims s and checks that it has between minLen and maxLen
// characters, naming field in the EINVALID error.
func validateText(field, s string, minLen, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && n == 0:
		return "", lectern.Errorf(lectern.EINVALID, "%s is required", field)
	case n < minLen:
		return "", lectern.Errorf(lectern.EINVALID, "%s must be at least %d characters", field, minLen)
	case n > maxLen:
		return "", lectern.Errorf(lectern.EINVALID, "%s must be at most %d characters", field, maxLen)
	}
	return s, nil
}
