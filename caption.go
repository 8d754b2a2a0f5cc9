package lectern

import "time"

// CaptionStatus says who sees a caption track.
type CaptionStatus string

// Caption statuses. A draft (automatic captions waiting for review, say)
// is seen by the course's teachers only, and is never the default track.
const (
	CaptionPublished CaptionStatus = "published"
	CaptionDraft     CaptionStatus = "draft"
)

// Valid reports whether s is a known status.
func (s CaptionStatus) Valid() bool { return s == CaptionPublished || s == CaptionDraft }

// CaptionSource says where a version of a caption track came from.
type CaptionSource string

// Caption sources.
const (
	CaptionFromUpload     CaptionSource = "upload"
	CaptionFromEditor     CaptionSource = "editor"
	CaptionFromRestore    CaptionSource = "restore"
	CaptionFromRecognizer CaptionSource = "recognizer"
)

// Valid reports whether s is a known source.
func (s CaptionSource) Valid() bool {
	switch s {
	case CaptionFromUpload, CaptionFromEditor, CaptionFromRestore, CaptionFromRecognizer:
		return true
	}
	return false
}

// CaptionTrack is a lesson's captions in one language: its current version
// and how players offer it.
type CaptionTrack struct {
	LessonID string `db:"lesson_id"`
	// Lang is a canonical BCP 47 tag: "en", "pt-BR".
	Lang string `db:"lang"`
	// Label is what the player's caption menu shows.
	Label   string        `db:"label"`
	Default bool          `db:"is_default"`
	Status  CaptionStatus `db:"status"`
	// Version is the current version, from 1; ObjectKey is where its
	// normalised WebVTT is stored and Cues how many cues it has.
	Version   int       `db:"version"`
	ObjectKey string    `db:"object_key"`
	Cues      int       `db:"cue_count"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// CaptionVersion is one saved state of a caption track. Versions are never
// changed; restoring one makes a new version with its object.
type CaptionVersion struct {
	LessonID  string        `db:"lesson_id"`
	Lang      string        `db:"lang"`
	Version   int           `db:"version"`
	ObjectKey string        `db:"object_key"`
	Cues      int           `db:"cue_count"`
	Source    CaptionSource `db:"source"`
	// RestoredFrom is the version a restore copied; nil otherwise.
	RestoredFrom *int `db:"restored_from"`
	// AuthorID and AuthorName say who saved it; nil and "" when nobody
	// did (a recognizer) or the user was deleted.
	AuthorID   *string   `db:"author_id"`
	AuthorName string    `db:"author_name"`
	CreatedAt  time.Time `db:"created_at"`
}

// CaptionCue is one cue of a track's current version as search sees it:
// its span and its words as plain text.
type CaptionCue struct {
	StartMS int64  `db:"start_ms"`
	EndMS   int64  `db:"end_ms"`
	Text    string `db:"text"`
}
