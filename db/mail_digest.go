package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// QueueQuestionDigests queues the daily digest of open questions to each
// teacher who has some, has not turned the digest off, and has had none
// queued since due (the day's digest time): the mark in mail_digests
// moves forward in the same transaction as the mail is queued, so that
// several processes, or one restarted, never queue two for one day.
// expires is when an unsent digest is dropped. It returns how many were
// queued.
func (db *DB) QueueQuestionDigests(ctx context.Context, due time.Time, expires time.Time) (int, error) {
	due = normTime(due)
	var teachers []struct {
		ID    string `db:"id"`
		Email string `db:"email"`
	}
	// Teachers with an open question in a course they teach.
	const candidates = `SELECT DISTINCT u.id, u.email FROM users u
		JOIN course_members m ON m.user_id = u.id AND m.role = 'teacher'
		JOIN comments c ON c.course_id = m.course_id AND c.kind = ? AND c.status = ? AND c.parent_id IS NULL AND c.deleted_at IS NULL
		WHERE NOT EXISTS (SELECT 1 FROM mail_opt_outs o WHERE o.user_id = u.id AND o.kind = ?)
		  AND NOT EXISTS (SELECT 1 FROM mail_digests d WHERE d.user_id = u.id AND d.queued_at >= ?)
		ORDER BY u.id`
	if err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &teachers, candidates, lectern.KindQuestion, lectern.QuestionOpen, lectern.MailQuestionDigest, due)
	}); err != nil {
		return 0, fmt.Errorf("find digest recipients: %w", err)
	}
	queued := 0
	for _, u := range teachers {
		err := db.write(ctx, func(t tx) error {
			now := db.now()
			n, err := t.exec(ctx, `INSERT INTO mail_digests (user_id, queued_at) VALUES (?, ?)
				ON CONFLICT (user_id) DO UPDATE SET queued_at = excluded.queued_at
				WHERE mail_digests.queued_at < ?`, u.ID, now, due)
			if err != nil || n == 0 {
				return err // another process queued it
			}
			id := u.ID
			queued++
			return db.queueMail(ctx, t, &lectern.OutgoingMail{Kind: lectern.MailQuestionDigest, UserID: &id,
				To: u.Email, ExpiresAt: expires})
		})
		if err != nil {
			return queued, fmt.Errorf("queue question digest: %w", err)
		}
	}
	return queued, nil
}
