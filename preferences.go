package lectern

import "time"

// CaptionSize is how large the player draws captions.
type CaptionSize string

// Caption sizes, smallest first. Medium is the default.
const (
	CaptionSmall  CaptionSize = "small"
	CaptionMedium CaptionSize = "medium"
	CaptionLarge  CaptionSize = "large"
)

// Valid reports whether s is a known size.
func (s CaptionSize) Valid() bool {
	return s == CaptionSmall || s == CaptionMedium || s == CaptionLarge
}

// CaptionBackground is what the player draws behind caption text.
type CaptionBackground string

// Caption backgrounds: none (text with an outline), a semi-transparent
// box (the default) or a solid one.
const (
	CaptionBackgroundNone  CaptionBackground = "none"
	CaptionBackgroundSemi  CaptionBackground = "semi"
	CaptionBackgroundSolid CaptionBackground = "solid"
)

// Valid reports whether b is a known background.
func (b CaptionBackground) Valid() bool {
	return b == CaptionBackgroundNone || b == CaptionBackgroundSemi || b == CaptionBackgroundSolid
}

// Preferences are a user's player settings, kept on the server so that
// they follow the user from device to device.
type Preferences struct {
	UserID string `db:"user_id"`
	// CaptionLang is the caption language the user last chose (a
	// canonical BCP 47 tag), or "" for captions off, which is also where
	// a user starts.
	CaptionLang       string            `db:"caption_lang"`
	CaptionSize       CaptionSize       `db:"caption_size"`
	CaptionBackground CaptionBackground `db:"caption_background"`
	// UpdatedAt is zero for a user who never changed anything.
	UpdatedAt time.Time `db:"updated_at"`
}

// DefaultPreferences are the preferences of a user who never chose.
func DefaultPreferences(userID string) Preferences {
	return Preferences{UserID: userID, CaptionSize: CaptionMedium, CaptionBackground: CaptionBackgroundSemi}
}

// PreferencesUpdate holds the preferences to change; nil means unchanged.
type PreferencesUpdate struct {
	CaptionLang       *string
	CaptionSize       *CaptionSize
	CaptionBackground *CaptionBackground
}
