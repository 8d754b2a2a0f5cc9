package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// FindPreferences returns a user's player preferences: the defaults
// (lectern.DefaultPreferences) for a user who never changed them.
func (db *DB) FindPreferences(ctx context.Context, userID string) (*lectern.Preferences, error) {
	var p *lectern.Preferences
	err := db.read(ctx, func(t tx) error {
		var err error
		p, err = findPreferences(ctx, t, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find preferences: %w", err)
	}
	return p, nil
}

func findPreferences(ctx context.Context, t tx, userID string) (*lectern.Preferences, error) {
	var p lectern.Preferences
	err := t.get(ctx, &p, `SELECT user_id, caption_lang, caption_size, caption_background, updated_at
		FROM user_preferences WHERE user_id = ?`, userID)
	if notFound(err) {
		p = lectern.DefaultPreferences(userID)
		return &p, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdatePreferences changes the fields of a user's preferences that upd
// sets and returns them all. The caller has checked CaptionLang (a
// canonical language tag, or "" for captions off); sizes and backgrounds
// outside the known ones are EINVALID.
func (db *DB) UpdatePreferences(ctx context.Context, userID string, upd lectern.PreferencesUpdate) (*lectern.Preferences, error) {
	if upd.CaptionSize != nil && !upd.CaptionSize.Valid() {
		return nil, lectern.Errorf(lectern.EINVALID, "caption size must be small, medium or large")
	}
	if upd.CaptionBackground != nil && !upd.CaptionBackground.Valid() {
		return nil, lectern.Errorf(lectern.EINVALID, "caption background must be none, semi or solid")
	}
	var p *lectern.Preferences
	err := db.write(ctx, func(t tx) error {
		var err error
		if p, err = findPreferences(ctx, t, userID); err != nil {
			return err
		}
		if upd.CaptionLang != nil {
			p.CaptionLang = *upd.CaptionLang
		}
		if upd.CaptionSize != nil {
			p.CaptionSize = *upd.CaptionSize
		}
		if upd.CaptionBackground != nil {
			p.CaptionBackground = *upd.CaptionBackground
		}
		p.UpdatedAt = db.now()
		_, err = t.named(ctx, `INSERT INTO user_preferences (user_id, caption_lang, caption_size, caption_background, updated_at)
			VALUES (:user_id, :caption_lang, :caption_size, :caption_background, :updated_at)
			ON CONFLICT (user_id) DO UPDATE SET caption_lang = excluded.caption_lang,
				caption_size = excluded.caption_size, caption_background = excluded.caption_background,
				updated_at = excluded.updated_at`, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update preferences: %w", err)
	}
	return p, nil
}
