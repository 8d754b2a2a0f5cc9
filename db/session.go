package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// maxUserAgentLen bounds the stored User-Agent of a session.
const maxUserAgentLen = 300

// CreateSession stores a browser login, filling s.CreatedAt. s.ExpiresAt
// is the caller's choice. It returns ENOTFOUND when the user does not exist.
func (db *DB) CreateSession(ctx context.Context, s *lectern.Session) error {
	if s.TokenHash == "" {
		return lectern.Errorf(lectern.EINVALID, "session token hash is required")
	}
	ns := *s
	ns.ID, ns.CreatedAt = newID(), db.now()
	if len(ns.UserAgent) > maxUserAgentLen {
		ns.UserAgent = strings.ToValidUTF8(ns.UserAgent[:maxUserAgentLen], "")
	}
	ns.ExpiresAt = normTime(s.ExpiresAt)
	err := db.write(ctx, func(t tx) error {
		// No login of any kind starts a session of a deactivated account.
		var off int
		if err := t.get(ctx, &off, `SELECT COUNT(*) FROM users WHERE id = ? AND deactivated_at IS NOT NULL`, ns.UserID); err != nil {
			return err
		}
		if off > 0 {
			return errDeactivated
		}
		_, err := t.named(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, user_agent)
			VALUES (:id, :token_hash, :user_id, :created_at, :expires_at, :user_agent)`, &ns)
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return lectern.Errorf(lectern.ENOTFOUND, "user not found")
	case lectern.ErrorCode(err) == lectern.EFORBIDDEN:
		return err
	case isUniqueViolation(err):
		return lectern.Errorf(lectern.ECONFLICT, "session already exists")
	case err != nil:
		return fmt.Errorf("create session: %w", err)
	}
	*s = ns
	return nil
}

// errDeactivated refuses a login to a deactivated account.
var errDeactivated = lectern.Errorf(lectern.EFORBIDDEN, lectern.DeactivatedMessage)

// FindUserBySession returns the user logged in with the session whose
// token hash is tokenHash. It returns ENOTFOUND when there is no such
// session or it has expired by the clock.
func (db *DB) FindUserBySession(ctx context.Context, tokenHash string) (*lectern.User, error) {
	return db.findUser(ctx, "no such session, or it has expired", `SELECT u.id, u.email, u.name, u.role, u.password_hash, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.deactivated_at IS NULL`, tokenHash, db.now())
}

// DeleteSession removes a session (a logout). Removing a missing session
// is not an error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that have expired by the
// clock and returns how many it removed.
func (db *DB) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, db.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
