package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

const captionTrackColumns = `lesson_id, lang, label, is_default, status, version, object_key, cue_count,
	created_at, updated_at`

// CaptionSave is one save of a lesson's captions in a language: a new
// version, which becomes the track's current one.
type CaptionSave struct {
	LessonID string
	// Lang is the track's canonical BCP 47 tag; the caller has checked it.
	Lang string
	// ObjectKey is where the version's WebVTT is stored; Cues are its cues
	// as plain text, which replace the track's in caption_cues.
	ObjectKey string
	Cues      []lectern.CaptionCue
	Source    lectern.CaptionSource
	// RestoredFrom is the version a restore copies; 0 otherwise.
	RestoredFrom int
	// AuthorID is who saved it; "" for nobody (a recognizer).
	AuthorID string
	// Label, Default and Status change the track when set. A new track
	// without them gets DefaultLabel, no default flag and published.
	Label        *string
	DefaultLabel string
	Default      *bool
	Status       *lectern.CaptionStatus
}

// CaptionTrackUpdate holds the track fields to change; nil means unchanged.
type CaptionTrackUpdate struct {
	Label   *string
	Default *bool
	Status  *lectern.CaptionStatus
}

// errDraftDefault refuses to make a draft the default track.
func errDraftDefault() error {
	return lectern.Errorf(lectern.EINVALID, "a draft cannot be the default track: publish it first")
}

// SaveCaptions stores a new version of a lesson's track in s.Lang,
// creating the track if there is none, and makes it the current version:
// the track's object, cue count and cues (caption_cues) follow it. Setting
// Default unsets every other track's default flag; a track made a draft
// stops being the default. It returns the track and whether it was
// created; ENOTFOUND when there is no such lesson. The caller has checked
// that the user may change the lesson's captions.
func (db *DB) SaveCaptions(ctx context.Context, s CaptionSave) (*lectern.CaptionTrack, bool, error) {
	if err := validateCaptionSave(s); err != nil {
		return nil, false, err
	}
	var (
		track   *lectern.CaptionTrack
		created bool
	)
	err := db.write(ctx, func(t tx) error {
		var err error
		track, created, err = db.saveCaptions(ctx, t, s)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("save captions: %w", err)
	}
	return track, created, nil
}

// saveCaptions is SaveCaptions within t, after s has been validated.
func (db *DB) saveCaptions(ctx context.Context, t tx, s CaptionSave) (*lectern.CaptionTrack, bool, error) {
	now := db.now()
	created := false
	if err := db.lockLesson(ctx, t, s.LessonID); err != nil {
		return nil, false, err
	}
	cur, err := findCaptionTrack(ctx, t, s.LessonID, s.Lang)
	switch {
	case lectern.ErrorCode(err) == lectern.ENOTFOUND:
		created = true
		cur = &lectern.CaptionTrack{LessonID: s.LessonID, Lang: s.Lang, Label: s.DefaultLabel,
			Status: lectern.CaptionPublished, CreatedAt: now}
	case err != nil:
		return nil, false, err
	}
	track := *cur
	if err := applyCaptionUpdate(&track, CaptionTrackUpdate{Label: s.Label, Default: s.Default, Status: s.Status}); err != nil {
		return nil, false, err
	}
	if err := t.get(ctx, &track.Version, `SELECT COALESCE(MAX(version), 0) + 1 FROM caption_versions
		WHERE lesson_id = ? AND lang = ?`, s.LessonID, s.Lang); err != nil {
		return nil, false, err
	}
	track.ObjectKey, track.Cues, track.UpdatedAt = s.ObjectKey, len(s.Cues), now
	if err := putCaptionTrack(ctx, t, &track, created); err != nil {
		return nil, false, err
	}
	var restored *int
	if s.RestoredFrom > 0 {
		restored = &s.RestoredFrom
	}
	var author *string
	if s.AuthorID != "" {
		author = &s.AuthorID
	}
	if _, err := t.exec(ctx, `INSERT INTO caption_versions (lesson_id, lang, version, object_key, cue_count,
			source, restored_from, author_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.LessonID, s.Lang, track.Version, s.ObjectKey, len(s.Cues), s.Source, restored, author, now); err != nil {
		return nil, false, err
	}
	if err := replaceCaptionCues(ctx, t, s.LessonID, s.Lang, s.Cues); err != nil {
		return nil, false, err
	}
	return &track, created, nil
}

func validateCaptionSave(s CaptionSave) error {
	switch {
	case s.Lang == "":
		return lectern.Errorf(lectern.EINVALID, "caption language is required")
	case !s.Source.Valid():
		return lectern.Errorf(lectern.EINVALID, "unknown caption source %q", s.Source)
	case s.DefaultLabel == "" && s.Label == nil:
		return lectern.Errorf(lectern.EINVALID, "caption label is required")
	}
	if err := lectern.ValidateKey(s.ObjectKey); err != nil {
		return err
	}
	for i, c := range s.Cues {
		if c.StartMS < 0 || c.EndMS <= c.StartMS {
			return lectern.Errorf(lectern.EINVALID, "cue %d ends before it starts", i+1)
		}
	}
	return nil
}

// lockLesson takes the lesson's row lock on PostgreSQL, so that saves of
// one lesson's captions (version numbers, the default flag) happen one at
// a time; SQLite's write transactions are one at a time anyway.
func (db *DB) lockLesson(ctx context.Context, t tx, lessonID string) error {
	var id string
	err := t.get(ctx, &id, `SELECT id FROM lessons WHERE id = ?`+db.forUpdate(), lessonID)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	return err
}

// applyCaptionUpdate sets upd's fields on tr, keeping a draft from being
// the default.
func applyCaptionUpdate(tr *lectern.CaptionTrack, upd CaptionTrackUpdate) error {
	if upd.Label != nil {
		if strings.TrimSpace(*upd.Label) == "" {
			return lectern.Errorf(lectern.EINVALID, "caption label is required")
		}
		tr.Label = *upd.Label
	}
	if upd.Status != nil {
		if !upd.Status.Valid() {
			return lectern.Errorf(lectern.EINVALID, "status must be published or draft")
		}
		tr.Status = *upd.Status
		if tr.Status == lectern.CaptionDraft && upd.Default == nil {
			tr.Default = false
		}
	}
	if upd.Default != nil {
		tr.Default = *upd.Default
	}
	if tr.Default && tr.Status == lectern.CaptionDraft {
		return errDraftDefault()
	}
	return nil
}

// putCaptionTrack inserts or updates tr; a default track first takes the
// flag from the lesson's other tracks.
func putCaptionTrack(ctx context.Context, t tx, tr *lectern.CaptionTrack, insert bool) error {
	if tr.Default {
		if _, err := t.exec(ctx, `UPDATE caption_tracks SET is_default = ? WHERE lesson_id = ? AND lang <> ? AND is_default = ?`,
			false, tr.LessonID, tr.Lang, true); err != nil {
			return err
		}
	}
	q := `UPDATE caption_tracks SET label = :label, is_default = :is_default, status = :status,
		version = :version, object_key = :object_key, cue_count = :cue_count, updated_at = :updated_at
		WHERE lesson_id = :lesson_id AND lang = :lang`
	if insert {
		q = `INSERT INTO caption_tracks (` + captionTrackColumns + `)
			VALUES (:lesson_id, :lang, :label, :is_default, :status, :version, :object_key, :cue_count,
				:created_at, :updated_at)`
	}
	_, err := t.named(ctx, q, tr)
	return err
}

// cueBatch is how many cues one INSERT writes: 5 parameters each stays
// far below both databases' limits.
const cueBatch = 500

// replaceCaptionCues makes cues the track's rows in caption_cues.
func replaceCaptionCues(ctx context.Context, t tx, lessonID, lang string, cues []lectern.CaptionCue) error {
	if _, err := t.exec(ctx, `DELETE FROM caption_cues WHERE lesson_id = ? AND lang = ?`, lessonID, lang); err != nil {
		return err
	}
	for from := 0; from < len(cues); from += cueBatch {
		batch := cues[from:min(from+cueBatch, len(cues))]
		rows := make([]string, len(batch))
		args := make([]any, 0, len(batch)*6)
		for i, c := range batch {
			rows[i] = "(?, ?, ?, ?, ?, ?)"
			args = append(args, lessonID, lang, from+i, c.StartMS, c.EndMS, c.Text)
		}
		if _, err := t.exec(ctx, `INSERT INTO caption_cues (lesson_id, lang, seq, start_ms, end_ms, text)
			VALUES `+strings.Join(rows, ", "), args...); err != nil {
			return err
		}
	}
	return nil
}

func findCaptionTrack(ctx context.Context, t tx, lessonID, lang string) (*lectern.CaptionTrack, error) {
	var tr lectern.CaptionTrack
	err := t.get(ctx, &tr, `SELECT `+captionTrackColumns+` FROM caption_tracks
		WHERE lesson_id = ? AND lang = ?`, lessonID, lang)
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "this lesson has no captions in that language")
	}
	if err != nil {
		return nil, err
	}
	return &tr, nil
}

// FindCaptionTrack returns a lesson's track in lang; ENOTFOUND when there
// is none. The caller has checked that the viewer may see the lesson (and
// a draft).
func (db *DB) FindCaptionTrack(ctx context.Context, lessonID, lang string) (*lectern.CaptionTrack, error) {
	var tr *lectern.CaptionTrack
	err := db.read(ctx, func(t tx) error {
		var err error
		tr, err = findCaptionTrack(ctx, t, lessonID, lang)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find caption track: %w", err)
	}
	return tr, nil
}

// FindCaptionTracks returns a lesson's tracks by language tag; drafts only
// when withDrafts is set. The caller has checked that the viewer may see
// the lesson.
func (db *DB) FindCaptionTracks(ctx context.Context, lessonID string, withDrafts bool) ([]*lectern.CaptionTrack, error) {
	tracks := []*lectern.CaptionTrack{}
	q := `SELECT ` + captionTrackColumns + ` FROM caption_tracks WHERE lesson_id = ?`
	args := []any{lessonID}
	if !withDrafts {
		q += ` AND status = ?`
		args = append(args, lectern.CaptionPublished)
	}
	err := db.read(ctx, func(t tx) error { return t.sel(ctx, &tracks, q+` ORDER BY lang`, args...) })
	if err != nil {
		return nil, fmt.Errorf("find caption tracks: %w", err)
	}
	return tracks, nil
}

// UpdateCaptionTrack changes a track's label, default flag or status (see
// SaveCaptions for the default flag) and returns it; ENOTFOUND when there
// is no such track.
func (db *DB) UpdateCaptionTrack(ctx context.Context, lessonID, lang string, upd CaptionTrackUpdate) (*lectern.CaptionTrack, error) {
	var tr *lectern.CaptionTrack
	err := db.write(ctx, func(t tx) error {
		if err := db.lockLesson(ctx, t, lessonID); err != nil {
			return err
		}
		var err error
		if tr, err = findCaptionTrack(ctx, t, lessonID, lang); err != nil {
			return err
		}
		if err := applyCaptionUpdate(tr, upd); err != nil {
			return err
		}
		tr.UpdatedAt = db.now()
		return putCaptionTrack(ctx, t, tr, false)
	})
	if err != nil {
		return nil, fmt.Errorf("update caption track: %w", err)
	}
	return tr, nil
}

// DeleteCaptionTrack removes a track with all its versions and cues;
// ENOTFOUND when there is none. The stored objects (under
// lectern.CaptionPrefix) are the caller's to remove.
func (db *DB) DeleteCaptionTrack(ctx context.Context, lessonID, lang string) error {
	err := db.write(ctx, func(t tx) error {
		// Versions and cues go with the track (ON DELETE CASCADE).
		n, err := t.exec(ctx, `DELETE FROM caption_tracks WHERE lesson_id = ? AND lang = ?`, lessonID, lang)
		if err == nil && n == 0 {
			return lectern.Errorf(lectern.ENOTFOUND, "this lesson has no captions in that language")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete caption track: %w", err)
	}
	return nil
}

const captionVersionColumns = `v.lesson_id, v.lang, v.version, v.object_key, v.cue_count, v.source,
	v.restored_from, v.author_id, COALESCE(u.name, '') AS author_name, v.created_at`

// FindCaptionVersions returns every version of a track, newest first;
// ENOTFOUND when there is no such track.
func (db *DB) FindCaptionVersions(ctx context.Context, lessonID, lang string) ([]*lectern.CaptionVersion, error) {
	versions := []*lectern.CaptionVersion{}
	err := db.read(ctx, func(t tx) error {
		if _, err := findCaptionTrack(ctx, t, lessonID, lang); err != nil {
			return err
		}
		return t.sel(ctx, &versions, `SELECT `+captionVersionColumns+`
			FROM caption_versions v LEFT JOIN users u ON u.id = v.author_id
			WHERE v.lesson_id = ? AND v.lang = ? ORDER BY v.version DESC`, lessonID, lang)
	})
	if err != nil {
		return nil, fmt.Errorf("find caption versions: %w", err)
	}
	return versions, nil
}

// FindCaptionVersion returns one version of a track; ENOTFOUND when there
// is no such track or version.
func (db *DB) FindCaptionVersion(ctx context.Context, lessonID, lang string, version int) (*lectern.CaptionVersion, error) {
	var v lectern.CaptionVersion
	err := db.read(ctx, func(t tx) error {
		err := t.get(ctx, &v, `SELECT `+captionVersionColumns+`
			FROM caption_versions v LEFT JOIN users u ON u.id = v.author_id
			WHERE v.lesson_id = ? AND v.lang = ? AND v.version = ?`, lessonID, lang, version)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "these captions have no version %d", version)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find caption version: %w", err)
	}
	return &v, nil
}

// FindCaptionCues returns the cues of a track's current version as search
// sees them, in order; none when there is no such track.
func (db *DB) FindCaptionCues(ctx context.Context, lessonID, lang string) ([]lectern.CaptionCue, error) {
	cues := []lectern.CaptionCue{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &cues, `SELECT start_ms, end_ms, text FROM caption_cues
			WHERE lesson_id = ? AND lang = ? ORDER BY seq`, lessonID, lang)
	})
	if err != nil {
		return nil, fmt.Errorf("find caption cues: %w", err)
	}
	return cues, nil
}
