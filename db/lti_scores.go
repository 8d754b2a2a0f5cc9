package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// Scores for AGS line items. They are queued by triggers on
// lesson_progress (migration 00012) in the transaction of the heartbeat
// that changes them; the server's sender claims due rows, posts them,
// and marks each sent or failed.

// ClaimDueLTIScores leases up to limit scores that are due at now (their
// coverage differs from what was last sent, and any backoff has passed)
// until now+lease, and returns them. A score leased by another sender is
// skipped; a sender that dies leaves its lease to expire.
func (db *DB) ClaimDueLTIScores(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lectern.LTIScore, error) {
	now = normTime(now)
	const dueQuery = `SELECT ` + ltiScoreColumns + ` ` + ltiScoreJoins + `
			WHERE s.covered_secs <> s.sent_secs AND s.next_attempt_at <= ?
				AND (s.lease_until IS NULL OR s.lease_until < ?)
			ORDER BY s.next_attempt_at LIMIT ?`
	var due, claimed []*lectern.LTIScore
	// Look first under a read transaction: the sender runs every few
	// seconds, and an idle pass must not take SQLite's write lock.
	if err := db.read(ctx, func(t tx) error { return t.sel(ctx, &due, dueQuery, now, now, limit) }); err != nil {
		return nil, fmt.Errorf("claim due lti scores: %w", err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	err := db.write(ctx, func(t tx) error {
		due = due[:0]
		if err := t.sel(ctx, &due, dueQuery, now, now, limit); err != nil {
			return err
		}
		claimed = claimed[:0]
		for _, s := range due {
			n, err := t.exec(ctx, `UPDATE lti_scores SET lease_until = ?
				WHERE link_id = ? AND user_id = ? AND (lease_until IS NULL OR lease_until < ?)`,
				now.Add(lease), s.LinkID, s.UserID, now)
			if err != nil {
				return err
			}
			if n == 1 {
				claimed = append(claimed, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due lti scores: %w", err)
	}
	return claimed, nil
}

// MarkLTIScoreSent records that s was posted with s.CoveredSecs: the row
// is due again only when coverage changes once more.
func (db *DB) MarkLTIScoreSent(ctx context.Context, s *lectern.LTIScore) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE lti_scores SET sent_secs = ?, sent_at = ?, attempts = 0, last_error = '',
			lease_until = NULL WHERE link_id = ? AND user_id = ?`, s.CoveredSecs, db.now(), s.LinkID, s.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark lti score sent: %w", err)
	}
	return nil
}

// MarkLTIScoreFailed records a failed post of s: why, and when to try
// again.
func (db *DB) MarkLTIScoreFailed(ctx context.Context, s *lectern.LTIScore, reason string, next time.Time) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE lti_scores SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
			lease_until = NULL WHERE link_id = ? AND user_id = ?`, reason, normTime(next), s.LinkID, s.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark lti score failed: %w", err)
	}
	return nil
}
