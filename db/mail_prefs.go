package db

import (
	"context"
	"fmt"
)

// Mail preferences (migration 00018, mail_opt_outs): a row is a kind of
// optional mail the user turned off.

// FindMailOptOuts returns the kinds of mail the user turned off.
func (db *DB) FindMailOptOuts(ctx context.Context, userID string) ([]string, error) {
	kinds := []string{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &kinds, `SELECT kind FROM mail_opt_outs WHERE user_id = ? ORDER BY kind`, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("find mail opt-outs: %w", err)
	}
	return kinds, nil
}

// MailOptedOut reports whether the user turned off mail of kind.
func (db *DB) MailOptedOut(ctx context.Context, userID, kind string) (bool, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM mail_opt_outs WHERE user_id = ? AND kind = ?`, userID, kind)
	})
	if err != nil {
		return false, fmt.Errorf("find mail opt-out: %w", err)
	}
	return n > 0, nil
}

// SetMailOptOut turns mail of kind off (out) or back on for the user.
// Doing what is already done, or naming a user since deleted, is not an
// error.
func (db *DB) SetMailOptOut(ctx context.Context, userID, kind string, out bool) error {
	err := db.write(ctx, func(t tx) error {
		if !out {
			_, err := t.exec(ctx, `DELETE FROM mail_opt_outs WHERE user_id = ? AND kind = ?`, userID, kind)
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO mail_opt_outs (user_id, kind, created_at)
			SELECT id, ?, ? FROM users WHERE id = ?
			ON CONFLICT (user_id, kind) DO NOTHING`, kind, db.now(), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set mail opt-out: %w", err)
	}
	return nil
}

// FindAnswerRecipient returns the asker whose question the entry
// answerID answered (by its notification), or "" when it answered none.
func (db *DB) FindAnswerRecipient(ctx context.Context, answerID string) (userID, email string, err error) {
	var rows []struct {
		UserID string `db:"user_id"`
		Email  string `db:"email"`
	}
	err = db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT n.user_id, u.email FROM comment_notifications n JOIN users u ON u.id = n.user_id
			WHERE n.answer_id = ?`, answerID)
	})
	if err != nil {
		return "", "", fmt.Errorf("find answer recipient: %w", err)
	}
	if len(rows) == 0 {
		return "", "", nil
	}
	return rows[0].UserID, rows[0].Email, nil
}
