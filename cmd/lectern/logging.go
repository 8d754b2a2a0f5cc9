package main

import (
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// newLogger returns the process logger: slog text, or JSON when format is
// "json", at Info level.
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// describeDatabase names a database URL for logs: the scheme, user, host
// and database, never the password or query parameters (which may hold one).
func describeDatabase(raw string) string {
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		return redactURL(raw)
	}
	return raw
}

// redactURL drops the password and the query from a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			u.User = url.User(name)
		} else {
			u.User = nil
		}
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}
