package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// One-time links sent by mail (migration 00018): password resets and
// confirmations of a new email address. Only token hashes are stored.

const userTokenColumns = `token_hash, user_id, purpose, email, created_at, expires_at, used_at`

// CreateUserToken stores a one-time link, filling t.CreatedAt.
func (db *DB) CreateUserToken(ctx context.Context, ut *lectern.UserToken) error {
	nt := *ut
	nt.CreatedAt, nt.ExpiresAt, nt.UsedAt = db.now(), normTime(ut.ExpiresAt), nil
	err := db.write(ctx, func(t tx) error {
		_, err := t.named(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`)
			VALUES (:token_hash, :user_id, :purpose, :email, :created_at, :expires_at, :used_at)`, &nt)
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return lectern.Errorf(lectern.ENOTFOUND, "user not found")
	case err != nil:
		return fmt.Errorf("create user token: %w", err)
	}
	*ut = nt
	return nil
}

// CountUserTokens returns how many links of purpose were made for the
// user since since, used or not: the per-account limit on reset mails.
func (db *DB) CountUserTokens(ctx context.Context, userID, purpose string, since time.Time) (int, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM user_tokens WHERE user_id = ? AND purpose = ? AND created_at > ?`,
			userID, purpose, normTime(since))
	})
	if err != nil {
		return 0, fmt.Errorf("count user tokens: %w", err)
	}
	return n, nil
}

// DeleteUserToken removes a link, such as one whose mail was never sent.
func (db *DB) DeleteUserToken(ctx context.Context, tokenHash string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `DELETE FROM user_tokens WHERE token_hash = ?`, tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user token: %w", err)
	}
	return nil
}

// FindUserToken returns the link of purpose whose hash is tokenHash, if
// it is unused and unexpired by the clock; otherwise ENOTFOUND.
func (db *DB) FindUserToken(ctx context.Context, tokenHash, purpose string) (*lectern.UserToken, error) {
	var ut lectern.UserToken
	err := db.read(ctx, func(t tx) error { return findLiveToken(ctx, t, &ut, tokenHash, purpose, db.now()) })
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "this link has expired or was already used")
	}
	if err != nil {
		return nil, fmt.Errorf("find user token: %w", err)
	}
	return &ut, nil
}

func findLiveToken(ctx context.Context, t tx, ut *lectern.UserToken, tokenHash, purpose string, now time.Time) error {
	return t.get(ctx, ut, `SELECT `+userTokenColumns+` FROM user_tokens
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, tokenHash, purpose, now)
}

// ResetPassword spends the password reset link whose hash is tokenHash:
// the user's password becomes passwordHash, every other reset link of
// theirs ends, and so does every session. It returns the user and the
// token hashes of the sessions it ended. A link that is unknown, used
// or expired is ENOTFOUND, and nothing changes.
func (db *DB) ResetPassword(ctx context.Context, tokenHash, passwordHash string) (*lectern.User, []string, error) {
	var (
		u     lectern.User
		ended []string
	)
	err := db.write(ctx, func(t tx) error {
		var ut lectern.UserToken
		now := db.now()
		if err := findLiveToken(ctx, t, &ut, tokenHash, lectern.TokenPasswordReset, now); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, ut.UserID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE user_tokens SET used_at = ? WHERE token_hash = ?`, now, tokenHash); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM user_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL`,
			ut.UserID, lectern.TokenPasswordReset); err != nil {
			return err
		}
		var err error
		if ended, err = endSessions(ctx, t, ut.UserID, ""); err != nil {
			return err
		}
		return t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, ut.UserID)
	})
	if notFound(err) {
		return nil, nil, lectern.Errorf(lectern.ENOTFOUND, "this link has expired or was already used")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reset password: %w", err)
	}
	return &u, ended, nil
}

// endSessions deletes the user's sessions but the one whose token hash
// is keep ("" keeps none) and returns the token hashes it deleted.
func endSessions(ctx context.Context, t tx, userID, keep string) ([]string, error) {
	var hashes []string
	if err := t.sel(ctx, &hashes, `SELECT token_hash FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, keep); err != nil {
		return nil, err
	}
	if _, err := t.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, keep); err != nil {
		return nil, err
	}
	return hashes, nil
}

// ChangePassword sets the user's password to passwordHash, ends every
// session of theirs but the one whose token hash is keep ("" keeps none)
// and every unused reset link, and returns the token hashes of the
// sessions it ended.
func (db *DB) ChangePassword(ctx context.Context, userID, passwordHash, keep string) ([]string, error) {
	var ended []string
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "user not found")
		}
		if _, err := t.exec(ctx, `DELETE FROM user_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL`,
			userID, lectern.TokenPasswordReset); err != nil {
			return err
		}
		ended, err = endSessions(ctx, t, userID, keep)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	return ended, nil
}
