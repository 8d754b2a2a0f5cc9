package lectern

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The HTTP layer maps each to a status;
// the strings are the "code" field of the API's error JSON.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	ETOOLARGE     = "too_large"
	// ERATELIMIT extends the contract's list: the client is sending too much
	// too fast (HTTP 429). Login throttling and posting limits use it.
	ERATELIMIT = "rate_limited"
	// ENOSPACE extends the contract's list too: there is no room to store
	// what the request brings, because the server's disk, database or
	// bucket is full or because an upload would take the teacher past
	// their storage quota (HTTP 507 Insufficient Storage).
	ENOSPACE = "insufficient_storage"
	// EUNAVAILABLE extends the contract's list: the server cannot take the
	// request now but may soon (HTTP 503, with Retry-After): full capacity
	// (password hashing slots, live event streams), or a service Lectern
	// needs (the database, object storage) busy or unreachable for now.
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Error is an application error whose Message is safe to show a user.
// Anything that is not an *Error is treated as internal.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("lectern error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// when there is none, and "" for a nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic message for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
