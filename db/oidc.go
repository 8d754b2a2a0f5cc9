package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// Single sign-on identities (migration 00023): which account at an
// OpenID Connect provider, named by its issuer and subject, is which
// Lectern user.

// FindUserByOIDC returns the user linked to the provider account
// (issuer, subject), or ENOTFOUND.
func (db *DB) FindUserByOIDC(ctx context.Context, issuer, subject string) (*lectern.User, error) {
	return db.findUser(ctx, "no user is linked to this sign-in",
		`SELECT `+userColumns+` FROM users WHERE id = (SELECT user_id FROM oidc_identities WHERE issuer = ? AND subject = ?)`,
		issuer, subject)
}

// LinkOIDC links the provider account (issuer, subject) to the user.
// ECONFLICT means the provider account is linked already.
func (db *DB) LinkOIDC(ctx context.Context, issuer, subject, userID string) error {
	return db.write(ctx, func(t tx) error { return db.insertOIDC(ctx, t, issuer, subject, userID) })
}

// CreateOIDCUser creates u (filling its ID) linked to the provider
// account (issuer, subject), in one transaction.
func (db *DB) CreateOIDCUser(ctx context.Context, u *lectern.User, issuer, subject string) error {
	return db.write(ctx, func(t tx) error {
		if err := db.insertUser(ctx, t, u); err != nil {
			return err
		}
		return db.insertOIDC(ctx, t, issuer, subject, u.ID)
	})
}

func (db *DB) insertOIDC(ctx context.Context, t tx, issuer, subject, userID string) error {
	_, err := t.exec(ctx, `INSERT INTO oidc_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
		issuer, subject, userID, db.now())
	switch {
	case isUniqueViolation(err):
		return lectern.Errorf(lectern.ECONFLICT, "this sign-in is linked to a Lectern account already")
	case isForeignKeyViolation(err):
		return lectern.Errorf(lectern.ENOTFOUND, "user not found")
	case err != nil:
		return fmt.Errorf("link oidc identity: %w", err)
	}
	return nil
}

// HasOIDCIdentity reports whether the user is linked to an account at
// an OpenID Connect provider.
func (db *DB) HasOIDCIdentity(ctx context.Context, userID string) (bool, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?`, userID)
	})
	if err != nil {
		return false, fmt.Errorf("find oidc identity: %w", err)
	}
	return n > 0, nil
}

// PromoteToTeacher makes a student a teacher; teachers and admins stay
// as they are. It reports whether the role changed.
func (db *DB) PromoteToTeacher(ctx context.Context, userID string) (bool, error) {
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `UPDATE users SET role = ? WHERE id = ? AND role = ?`,
			lectern.RoleTeacher, userID, lectern.RoleStudent)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("promote to teacher: %w", err)
	}
	return n > 0, nil
}
