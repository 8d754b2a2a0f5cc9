package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// A user's own account (issue 15): their name, a change of email address
// confirmed from the new mailbox, and their sessions.

const sessionColumns = `id, token_hash, user_id, created_at, expires_at, user_agent, last_seen_at`

// UpdateUserName sets the user's display name and returns the user.
func (db *DB) UpdateUserName(ctx context.Context, userID, name string) (*lectern.User, error) {
	var u lectern.User
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE users SET name = ? WHERE id = ?`, name, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "user not found")
		}
		return t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("update user name: %w", err)
	}
	return &u, nil
}

// ConfirmEmailChange spends the email change link whose hash is
// tokenHash: the user's address becomes the one the link was sent to,
// every other unused email change and password reset link of theirs ends,
// and notice, when not nil, is queued to the old address in the same
// transaction (its To is filled in). It returns the user as changed. A
// link that is unknown, used or expired is ENOTFOUND; an address another
// account took meanwhile is ECONFLICT; either way nothing changes.
func (db *DB) ConfirmEmailChange(ctx context.Context, tokenHash string, notice *lectern.OutgoingMail) (*lectern.User, error) {
	var u lectern.User
	err := db.write(ctx, func(t tx) error {
		var ut lectern.UserToken
		now := db.now()
		if err := findLiveToken(ctx, t, &ut, tokenHash, lectern.TokenEmailChange, now); err != nil {
			return err
		}
		var old string
		if err := t.get(ctx, &old, `SELECT email FROM users WHERE id = ?`, ut.UserID); err != nil {
			return err
		}
		var taken int
		if err := t.get(ctx, &taken, `SELECT COUNT(*) FROM users WHERE email = ? AND id <> ?`, normEmail(ut.Email), ut.UserID); err != nil {
			return err
		}
		if taken > 0 {
			return lectern.Errorf(lectern.ECONFLICT, "another account uses %s now", ut.Email)
		}
		if _, err := t.exec(ctx, `UPDATE users SET email = ? WHERE id = ?`, normEmail(ut.Email), ut.UserID); err != nil {
			if isUniqueViolation(err) {
				return lectern.Errorf(lectern.ECONFLICT, "another account uses %s now", ut.Email)
			}
			return err
		}
		if _, err := t.exec(ctx, `UPDATE user_tokens SET used_at = ? WHERE token_hash = ?`, now, tokenHash); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM user_tokens WHERE user_id = ? AND used_at IS NULL
			AND purpose IN (?, ?)`, ut.UserID, lectern.TokenEmailChange, lectern.TokenPasswordReset); err != nil {
			return err
		}
		if notice != nil && old != normEmail(ut.Email) {
			notice.To, notice.UserID = old, &ut.UserID
			if err := db.queueMail(ctx, t, notice); err != nil {
				return err
			}
		}
		return t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, ut.UserID)
	})
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "this link has expired or was already used")
	}
	if err != nil {
		return nil, fmt.Errorf("confirm email change: %w", err)
	}
	return &u, nil
}

// FindSessions returns the user's unexpired sessions, the most recently
// seen first.
func (db *DB) FindSessions(ctx context.Context, userID string) ([]*lectern.Session, error) {
	sessions := []*lectern.Session{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &sessions, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND expires_at > ?
			ORDER BY COALESCE(last_seen_at, created_at) DESC, id`, userID, db.now())
	})
	if err != nil {
		return nil, fmt.Errorf("find sessions: %w", err)
	}
	return sessions, nil
}

// EndSession deletes the user's session with the given id and returns its
// token hash; another user's session, or none, is ENOTFOUND.
func (db *DB) EndSession(ctx context.Context, userID, id string) (string, error) {
	var hash string
	err := db.write(ctx, func(t tx) error {
		if err := t.get(ctx, &hash, `SELECT token_hash FROM sessions WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
		return err
	})
	if notFound(err) {
		return "", lectern.Errorf(lectern.ENOTFOUND, "session not found")
	}
	if err != nil {
		return "", fmt.Errorf("end session: %w", err)
	}
	return hash, nil
}

// EndOtherSessions deletes every session of the user but the one whose
// token hash is keep ("" keeps none) and returns the token hashes it
// deleted.
func (db *DB) EndOtherSessions(ctx context.Context, userID, keep string) ([]string, error) {
	var ended []string
	err := db.write(ctx, func(t tx) error {
		var err error
		ended, err = endSessions(ctx, t, userID, keep)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end other sessions: %w", err)
	}
	return ended, nil
}

// DeleteUserAPITokens deletes every API token of the user and returns
// their hashes.
func (db *DB) DeleteUserAPITokens(ctx context.Context, userID string) ([]string, error) {
	var hashes []string
	err := db.write(ctx, func(t tx) error {
		if err := t.sel(ctx, &hashes, `SELECT token_hash FROM api_tokens WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoke api tokens: %w", err)
	}
	return hashes, nil
}

// recordSessionUse sets last_seen_at of the session whose token hash is
// hash, never moving it backwards.
func recordSessionUse(ctx context.Context, t tx, hash string, at any) error {
	_, err := t.exec(ctx, `UPDATE sessions SET last_seen_at = ?
		WHERE token_hash = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`, at, hash, at)
	return err
}

// sessionUseKey marks a session's hash among TokenUses' keys.
const sessionUseKey = "session:"

// NoteSession records, like Note, that the session whose token hash is
// tokenHash was just used (its last_seen_at).
func (u *TokenUses) NoteSession(tokenHash string) { u.Note(sessionUseKey + tokenHash) }

func splitUseKey(k string) (hash string, session bool) { return strings.CutPrefix(k, sessionUseKey) }
