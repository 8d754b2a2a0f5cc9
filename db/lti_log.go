package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// ltiLaunchesKept is how many launches are kept per platform.
const ltiLaunchesKept = 200

// RecordLTILaunch stores r (filling its id and time) and forgets the
// platform's launches beyond the latest ltiLaunchesKept.
func (db *DB) RecordLTILaunch(ctx context.Context, r *lectern.LTILaunchRecord) error {
	nr := *r
	nr.ID, nr.At = newID(), db.now()
	err := db.write(ctx, func(t tx) error {
		if _, err := t.named(ctx, `INSERT INTO lti_launches
			(id, platform_id, at, sub, user_id, message_type, context_id, resource_link_id, outcome, detail)
			VALUES (:id, :platform_id, :at, :sub, :user_id, :message_type, :context_id, :resource_link_id, :outcome, :detail)`, &nr); err != nil {
			return err
		}
		_, err := t.exec(ctx, `DELETE FROM lti_launches WHERE platform_id = ? AND id NOT IN (
			SELECT id FROM lti_launches WHERE platform_id = ? ORDER BY at DESC, id DESC LIMIT ?)`,
			nr.PlatformID, nr.PlatformID, ltiLaunchesKept)
		return err
	})
	if err != nil {
		return fmt.Errorf("record lti launch: %w", err)
	}
	*r = nr
	return nil
}

// FindLTILaunches returns a platform's latest launches, newest first.
func (db *DB) FindLTILaunches(ctx context.Context, platformID string, limit int) ([]*lectern.LTILaunchRecord, error) {
	out := []*lectern.LTILaunchRecord{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &out, `SELECT l.id, l.platform_id, l.at, l.sub, l.user_id, COALESCE(u.name, '') AS user_name,
			l.message_type, l.context_id, l.resource_link_id, l.outcome, l.detail
			FROM lti_launches l LEFT JOIN users u ON u.id = l.user_id
			WHERE l.platform_id = ? ORDER BY l.at DESC, l.id DESC LIMIT ?`, platformID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti launches: %w", err)
	}
	return out, nil
}

// ltiScoreColumns selects a queued score with what the admin page and
// the sender need, from lti_scores s joined as below.
const ltiScoreColumns = `s.link_id, k.platform_id, s.user_id, u.name AS user_name, iu.sub,
	COALESCE(k.lesson_id, '') AS lesson_id, COALESCE(l.title, '') AS lesson_title,
	COALESCE(l.duration_ms, 0) AS duration_ms, k.lineitem_url,
	s.covered_secs, s.changed_at, s.sent_secs, s.sent_at, s.attempts, s.next_attempt_at, s.last_error`

const ltiScoreJoins = `FROM lti_scores s
	JOIN lti_links k ON k.id = s.link_id
	JOIN lti_platforms p ON p.id = k.platform_id
	JOIN users u ON u.id = s.user_id
	JOIN lti_users iu ON iu.issuer = p.issuer AND iu.user_id = s.user_id
	LEFT JOIN lessons l ON l.id = k.lesson_id`

// FindFailedLTIScores returns a platform's scores whose last post
// failed and that are still to be sent, most attempted first.
func (db *DB) FindFailedLTIScores(ctx context.Context, platformID string, limit int) ([]*lectern.LTIScore, error) {
	out := []*lectern.LTIScore{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &out, `SELECT `+ltiScoreColumns+` `+ltiScoreJoins+`
			WHERE k.platform_id = ? AND s.last_error <> '' AND s.covered_secs <> s.sent_secs
			ORDER BY s.attempts DESC, s.changed_at LIMIT ?`, platformID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find failed lti scores: %w", err)
	}
	return out, nil
}
