package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// LTI 1.3 registrations, Lectern's signing keys and OIDC logins under way.

const ltiPlatformColumns = `id, name, issuer, client_id, auth_login_url, token_url, jwks_url, admin_role, created_at`

// CreateLTIPlatform stores p with its deployment ids, filling p.ID and
// p.CreatedAt. It returns ECONFLICT when the issuer and client id are
// registered already.
func (db *DB) CreateLTIPlatform(ctx context.Context, p *lectern.LTIPlatform) error {
	np := *p
	np.ID, np.CreatedAt = newID(), db.now()
	err := db.write(ctx, func(t tx) error {
		_, err := t.named(ctx, `INSERT INTO lti_platforms (`+ltiPlatformColumns+`)
			VALUES (:id, :name, :issuer, :client_id, :auth_login_url, :token_url, :jwks_url, :admin_role, :created_at)`, &np)
		if isUniqueViolation(err) {
			return lectern.Errorf(lectern.ECONFLICT, "A platform with this issuer and client ID is registered already.")
		}
		if err != nil {
			return err
		}
		return replaceDeployments(ctx, t, np.ID, np.Deployments, np.CreatedAt)
	})
	if err != nil {
		return fmt.Errorf("create lti platform: %w", err)
	}
	*p = np
	return nil
}

// UpdateLTIPlatform replaces the registration of platform p.ID (all
// fields but the id and creation time) and its deployment ids.
func (db *DB) UpdateLTIPlatform(ctx context.Context, p *lectern.LTIPlatform) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.named(ctx, `UPDATE lti_platforms SET name = :name, issuer = :issuer, client_id = :client_id,
			auth_login_url = :auth_login_url, token_url = :token_url, jwks_url = :jwks_url, admin_role = :admin_role
			WHERE id = :id`, p)
		if isUniqueViolation(err) {
			return lectern.Errorf(lectern.ECONFLICT, "A platform with this issuer and client ID is registered already.")
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "platform not found")
		}
		return replaceDeployments(ctx, t, p.ID, p.Deployments, db.now())
	})
	if err != nil {
		return fmt.Errorf("update lti platform: %w", err)
	}
	return nil
}

func replaceDeployments(ctx context.Context, t tx, platformID string, ids []string, now time.Time) error {
	if _, err := t.exec(ctx, `DELETE FROM lti_deployments WHERE platform_id = ?`, platformID); err != nil {
		return fmt.Errorf("delete deployments: %w", err)
	}
	for _, id := range ids {
		if _, err := t.exec(ctx, `INSERT INTO lti_deployments (platform_id, deployment_id, created_at)
			VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, platformID, id, now); err != nil {
			return fmt.Errorf("insert deployment: %w", err)
		}
	}
	return nil
}

// DeleteLTIPlatform removes a registration; its launches stop working,
// its users and courses stay.
func (db *DB) DeleteLTIPlatform(ctx context.Context, id string) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `DELETE FROM lti_platforms WHERE id = ?`, id)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "platform not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete lti platform: %w", err)
	}
	return nil
}

// FindLTIPlatforms returns every registration, by name and issuer.
func (db *DB) FindLTIPlatforms(ctx context.Context) ([]*lectern.LTIPlatform, error) {
	ps := []*lectern.LTIPlatform{}
	err := db.read(ctx, func(t tx) error {
		if err := t.sel(ctx, &ps, `SELECT `+ltiPlatformColumns+` FROM lti_platforms ORDER BY name, issuer, client_id`); err != nil {
			return err
		}
		return fillDeployments(ctx, t, ps)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti platforms: %w", err)
	}
	return ps, nil
}

// FindLTIPlatform returns the registration with the given id.
func (db *DB) FindLTIPlatform(ctx context.Context, id string) (*lectern.LTIPlatform, error) {
	return db.findLTIPlatform(ctx, `WHERE id = ?`, id)
}

// FindLTIPlatformByIssuer returns the registration of issuer with
// clientID; an empty clientID finds the issuer's only registration
// (ENOTFOUND when there is none, EINVALID when there are several).
func (db *DB) FindLTIPlatformByIssuer(ctx context.Context, issuer, clientID string) (*lectern.LTIPlatform, error) {
	if clientID != "" {
		return db.findLTIPlatform(ctx, `WHERE issuer = ? AND client_id = ?`, issuer, clientID)
	}
	return db.findLTIPlatform(ctx, `WHERE issuer = ?`, issuer)
}

func (db *DB) findLTIPlatform(ctx context.Context, where string, args ...any) (*lectern.LTIPlatform, error) {
	var ps []*lectern.LTIPlatform
	err := db.read(ctx, func(t tx) error {
		if err := t.sel(ctx, &ps, `SELECT `+ltiPlatformColumns+` FROM lti_platforms `+where+` LIMIT 2`, args...); err != nil {
			return err
		}
		return fillDeployments(ctx, t, ps)
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("find lti platform: %w", err)
	case len(ps) == 0:
		return nil, lectern.Errorf(lectern.ENOTFOUND, "platform not found")
	case len(ps) > 1:
		return nil, lectern.Errorf(lectern.EINVALID, "several registrations share this issuer; the LMS must send its client_id")
	}
	return ps[0], nil
}

func fillDeployments(ctx context.Context, t tx, ps []*lectern.LTIPlatform) error {
	for _, p := range ps {
		p.Deployments = []string{}
		if err := t.sel(ctx, &p.Deployments, `SELECT deployment_id FROM lti_deployments
			WHERE platform_id = ? ORDER BY created_at, deployment_id`, p.ID); err != nil {
			return fmt.Errorf("find deployments: %w", err)
		}
	}
	return nil
}

// LTIKey is one of Lectern's signing keys as stored: the private half
// sealed (see lti.SealPrivate).
type LTIKey struct {
	ID            string     `db:"id"`
	SealedPrivate string     `db:"sealed_private"`
	CreatedAt     time.Time  `db:"created_at"`
	RetiredAt     *time.Time `db:"retired_at"`
}

// FindLTIKeys returns the stored signing keys, oldest first.
func (db *DB) FindLTIKeys(ctx context.Context) ([]*LTIKey, error) {
	keys := []*LTIKey{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &keys, `SELECT id, sealed_private, created_at, retired_at FROM lti_keys ORDER BY created_at, id`)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti keys: %w", err)
	}
	return keys, nil
}

// AddLTIKey stores k as the current key. With rotate, the keys current
// until now are retired at k.CreatedAt; without, k is stored only when
// there is no current key (the first key, made by whichever process asks
// first) and the call reports whether it was. Keys retired before
// dropBefore are deleted.
func (db *DB) AddLTIKey(ctx context.Context, k *LTIKey, rotate bool, dropBefore time.Time) (bool, error) {
	added := false
	err := db.write(ctx, func(t tx) error {
		if db.dialect == DialectPostgres {
			// Two processes making the first key must not both succeed.
			if _, err := t.exec(ctx, `LOCK TABLE lti_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		if !rotate {
			var n int
			if err := t.get(ctx, &n, `SELECT COUNT(*) FROM lti_keys WHERE retired_at IS NULL`); err != nil || n > 0 {
				return err
			}
		}
		if _, err := t.exec(ctx, `UPDATE lti_keys SET retired_at = ? WHERE retired_at IS NULL`, normTime(k.CreatedAt)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM lti_keys WHERE retired_at < ?`, normTime(dropBefore)); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO lti_keys (id, sealed_private, created_at) VALUES (?, ?, ?)`,
			k.ID, k.SealedPrivate, normTime(k.CreatedAt))
		added = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("add lti key: %w", err)
	}
	return added, nil
}

// CreateLTILogin stores a login under way, and deletes the logins that
// expired.
func (db *DB) CreateLTILogin(ctx context.Context, l *lectern.LTILogin) error {
	err := db.write(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `DELETE FROM lti_logins WHERE expires_at < ?`, db.now()); err != nil {
			return err
		}
		nl := *l
		nl.CreatedAt, nl.ExpiresAt = normTime(nl.CreatedAt), normTime(nl.ExpiresAt)
		_, err := t.named(ctx, `INSERT INTO lti_logins (state_hash, platform_id, nonce, params, storage_target, created_at, expires_at)
			VALUES (:state_hash, :platform_id, :nonce, :params, :storage_target, :created_at, :expires_at)`, &nl)
		return err
	})
	if err != nil {
		return fmt.Errorf("create lti login: %w", err)
	}
	return nil
}

const ltiLoginColumns = `state_hash, platform_id, nonce, params, storage_target, created_at, expires_at`

// FindLTILogin returns the unexpired login with this state hash without
// consuming it.
func (db *DB) FindLTILogin(ctx context.Context, stateHash string) (*lectern.LTILogin, error) {
	var l lectern.LTILogin
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &l, `SELECT `+ltiLoginColumns+` FROM lti_logins WHERE state_hash = ? AND expires_at >= ?`,
			stateHash, db.now())
	})
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "login not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find lti login: %w", err)
	}
	return &l, nil
}

// ConsumeLTILogin deletes the unexpired login with this state hash and
// returns it: a state, and the nonce it carries, work once. ENOTFOUND
// means unknown, expired or used already.
func (db *DB) ConsumeLTILogin(ctx context.Context, stateHash string) (*lectern.LTILogin, error) {
	var l lectern.LTILogin
	err := db.write(ctx, func(t tx) error {
		return t.get(ctx, &l, `DELETE FROM lti_logins WHERE state_hash = ? AND expires_at >= ?
			RETURNING `+ltiLoginColumns, stateHash, db.now())
	})
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "login not found")
	}
	if err != nil {
		return nil, fmt.Errorf("consume lti login: %w", err)
	}
	return &l, nil
}
