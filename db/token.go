package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// MaxAPITokensPerUser is how many API tokens one user may hold at once, so
// that nobody can fill the database with them.
const MaxAPITokensPerUser = 100

const apiTokenColumns = `id, user_id, name, token_hash, created_at, last_used_at, expires_at`

// CreateAPIToken stores an API token, filling t.ID and t.CreatedAt;
// t.ExpiresAt, when set, is kept. It returns ENOTFOUND when the user does
// not exist and ECONFLICT when they already hold MaxAPITokensPerUser.
func (db *DB) CreateAPIToken(ctx context.Context, t *lectern.APIToken) error {
	if t.TokenHash == "" {
		return lectern.Errorf(lectern.EINVALID, "token hash is required")
	}
	nt := *t
	nt.ID = newID()
	nt.CreatedAt = db.now()
	nt.LastUsedAt = nil
	if t.ExpiresAt != nil {
		exp := normTime(*t.ExpiresAt)
		nt.ExpiresAt = &exp
	}
	err := db.write(ctx, func(q tx) error {
		var n int
		if err := q.get(ctx, &n, `SELECT COUNT(*) FROM api_tokens WHERE user_id = ?`, nt.UserID); err != nil {
			return err
		}
		if n >= MaxAPITokensPerUser {
			return lectern.Errorf(lectern.ECONFLICT,
				"you already have %d API tokens; revoke one you no longer use first", MaxAPITokensPerUser)
		}
		_, err := q.named(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`)
			VALUES (:id, :user_id, :name, :token_hash, :created_at, :last_used_at, :expires_at)`, &nt)
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return lectern.Errorf(lectern.ENOTFOUND, "user not found")
	case isUniqueViolation(err):
		return lectern.Errorf(lectern.ECONFLICT, "token already exists")
	case lectern.ErrorCode(err) == lectern.ECONFLICT:
		return err
	case err != nil:
		return fmt.Errorf("create api token: %w", err)
	}
	*t = nt
	return nil
}

// FindAPITokens returns the API tokens of a user, newest first, with
// when each was last used and when it expires (expired ones included).
func (db *DB) FindAPITokens(ctx context.Context, userID string) ([]*lectern.APIToken, error) {
	tokens := []*lectern.APIToken{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &tokens, `SELECT `+apiTokenColumns+`
			FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("find api tokens: %w", err)
	}
	return tokens, nil
}

// DeleteAPIToken revokes the API token id of the user userID: from then
// on it authenticates nobody. Another user's token, like a missing one, is
// ENOTFOUND.
func (db *DB) DeleteAPIToken(ctx context.Context, userID, id string) error {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete api token: %w", err)
	}
	if n == 0 {
		return lectern.Errorf(lectern.ENOTFOUND, "API token not found")
	}
	return nil
}

// FindUserByAPIToken returns the owner of the API token whose hash is
// tokenHash. It returns ENOTFOUND for an unknown, revoked or expired
// token. It only reads: the use is recorded apart, by TokenUses, so that
// a busy writer never delays an authenticated read.
func (db *DB) FindUserByAPIToken(ctx context.Context, tokenHash string) (*lectern.User, error) {
	return db.findUser(ctx, "unknown api token", `SELECT u.id, u.email, u.name, u.role, u.password_hash, u.created_at
		FROM api_tokens k JOIN users u ON u.id = k.user_id
		WHERE k.token_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)`, tokenHash, db.now())
}
