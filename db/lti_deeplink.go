package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

const ltiDeepLinkColumns = `id, platform_id, user_id, course_id, request, created_at, expires_at`

// CreateLTIDeepLink stores a deep linking request being answered, and
// deletes those that expired.
func (db *DB) CreateLTIDeepLink(ctx context.Context, d *lectern.LTIDeepLink) error {
	nd := *d
	nd.CreatedAt, nd.ExpiresAt = normTime(nd.CreatedAt), normTime(nd.ExpiresAt)
	err := db.write(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `DELETE FROM lti_deep_links WHERE expires_at < ?`, db.now()); err != nil {
			return err
		}
		_, err := t.named(ctx, `INSERT INTO lti_deep_links (`+ltiDeepLinkColumns+`)
			VALUES (:id, :platform_id, :user_id, :course_id, :request, :created_at, :expires_at)`, &nd)
		return err
	})
	if err != nil {
		return fmt.Errorf("create lti deep link: %w", err)
	}
	return nil
}

// FindLTIDeepLink returns the unexpired deep linking request stored
// under idHash without consuming it.
func (db *DB) FindLTIDeepLink(ctx context.Context, idHash string) (*lectern.LTIDeepLink, error) {
	var d lectern.LTIDeepLink
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &d, `SELECT `+ltiDeepLinkColumns+` FROM lti_deep_links WHERE id = ? AND expires_at >= ?`,
			idHash, db.now())
	})
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "deep linking request not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find lti deep link: %w", err)
	}
	return &d, nil
}

// ConsumeLTIDeepLink deletes the unexpired deep linking request stored
// under idHash: a request is answered once. ENOTFOUND means unknown,
// expired or answered already.
func (db *DB) ConsumeLTIDeepLink(ctx context.Context, idHash string) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `DELETE FROM lti_deep_links WHERE id = ? AND expires_at >= ?`, idHash, db.now())
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "deep linking request not found")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("consume lti deep link: %w", err)
	}
	return nil
}
