package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// The mail outbox (migration 00018): rows are queued by requests and
// claimed, sent and deleted by the server's mail sender, which backs off
// after a failure.

const mailColumns = `id, kind, user_id, to_addr, payload, created_at, expires_at, next_attempt_at,
	attempts, last_error, lease_until`

// QueueMail puts m in the outbox, due at once, filling m.ID, m.CreatedAt
// and m.NextAttemptAt. m.ExpiresAt is the caller's choice: past it the
// mail is no longer worth sending.
func (db *DB) QueueMail(ctx context.Context, m *lectern.OutgoingMail) error {
	if err := db.write(ctx, func(t tx) error { return db.queueMail(ctx, t, m) }); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	return nil
}

// queueMail inserts m in t, so that a repository method can queue mail
// in the transaction of the change it announces.
func (db *DB) queueMail(ctx context.Context, t tx, m *lectern.OutgoingMail) error {
	if m.Kind == "" || m.To == "" {
		return lectern.Errorf(lectern.EINVALID, "mail needs a kind and a recipient")
	}
	nm := *m
	nm.ID, nm.CreatedAt = newID(), db.now()
	nm.NextAttemptAt, nm.ExpiresAt = nm.CreatedAt, normTime(m.ExpiresAt)
	nm.Attempts, nm.LastError, nm.LeaseUntil = 0, "", nil
	if _, err := t.named(ctx, `INSERT INTO mail_outbox (`+mailColumns+`) VALUES (:id, :kind, :user_id, :to_addr,
		:payload, :created_at, :expires_at, :next_attempt_at, :attempts, :last_error, :lease_until)`, &nm); err != nil {
		return err
	}
	*m = nm
	return nil
}

// ClaimDueMail leases up to limit mails due at now until now+lease and
// returns them, oldest first. Mail leased by another sender is skipped;
// a sender that dies leaves its lease to expire.
func (db *DB) ClaimDueMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lectern.OutgoingMail, error) {
	now = normTime(now)
	const dueQuery = `SELECT ` + mailColumns + ` FROM mail_outbox
		WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
		ORDER BY next_attempt_at LIMIT ?`
	var due, claimed []*lectern.OutgoingMail
	// Look first under a read transaction: the sender runs every few
	// seconds, and an idle pass must not take SQLite's write lock.
	if err := db.read(ctx, func(t tx) error { return t.sel(ctx, &due, dueQuery, now, now, limit) }); err != nil {
		return nil, fmt.Errorf("claim due mail: %w", err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	err := db.write(ctx, func(t tx) error {
		due, claimed = due[:0], claimed[:0]
		if err := t.sel(ctx, &due, dueQuery, now, now, limit); err != nil {
			return err
		}
		for _, m := range due {
			n, err := t.exec(ctx, `UPDATE mail_outbox SET lease_until = ?
				WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)`, now.Add(lease), m.ID, now)
			if err != nil {
				return err
			}
			if n == 1 {
				claimed = append(claimed, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due mail: %w", err)
	}
	return claimed, nil
}

// DeleteMail removes a mail from the outbox: sent, or given up.
func (db *DB) DeleteMail(ctx context.Context, id string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `DELETE FROM mail_outbox WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete mail: %w", err)
	}
	return nil
}

// MarkMailFailed records a failed attempt to send the mail: why, and
// when to try again.
func (db *DB) MarkMailFailed(ctx context.Context, id, reason string, next time.Time) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
			lease_until = NULL WHERE id = ?`, reason, normTime(next), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark mail failed: %w", err)
	}
	return nil
}

// FindQueuedMail returns the mail waiting in the outbox, oldest first.
func (db *DB) FindQueuedMail(ctx context.Context) ([]*lectern.OutgoingMail, error) {
	mails := []*lectern.OutgoingMail{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &mails, `SELECT `+mailColumns+` FROM mail_outbox ORDER BY created_at, id`)
	})
	if err != nil {
		return nil, fmt.Errorf("find queued mail: %w", err)
	}
	return mails, nil
}
