package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// credentialRow is a user with the expiry of the credential it was found
// by.
type credentialRow struct {
	lectern.User
	Until sql.NullTime `db:"credential_until"`
}

// FindSessionCredential is FindUserBySession that also returns when the
// session expires, for callers that keep the answer for a while and must
// not keep it past that.
func (db *DB) FindSessionCredential(ctx context.Context, tokenHash string) (*lectern.User, time.Time, error) {
	return db.findCredential(ctx, "no such session, or it has expired", `SELECT `+prefixed("u.", userColumns)+`,
		s.expires_at AS credential_until
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.deactivated_at IS NULL`, tokenHash, db.now())
}

// FindAPITokenCredential is FindUserByAPIToken that also returns when the
// token expires (the zero time for a token that never does).
func (db *DB) FindAPITokenCredential(ctx context.Context, tokenHash string) (*lectern.User, time.Time, error) {
	return db.findCredential(ctx, "unknown api token", `SELECT `+prefixed("u.", userColumns)+`,
		k.expires_at AS credential_until
		FROM api_tokens k JOIN users u ON u.id = k.user_id
		WHERE k.token_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?) AND u.deactivated_at IS NULL`, tokenHash, db.now())
}

func (db *DB) findCredential(ctx context.Context, notFoundMsg, query string, args ...any) (*lectern.User, time.Time, error) {
	var r credentialRow
	// One statement, outside BEGIN/COMMIT, as findUser.
	err := db.db.GetContext(ctx, &r, db.db.Rebind(query), args...)
	if notFound(err) {
		return nil, time.Time{}, lectern.Errorf(lectern.ENOTFOUND, "%s", notFoundMsg)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("find user: %w", markLost(err))
	}
	u := r.User
	return &u, r.Until.Time, nil
}
