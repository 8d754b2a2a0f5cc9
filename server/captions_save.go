package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/captions"
	"github.com/lectern/lectern/db"
)

// captionEditorJSON is the caption editor's way to save a track: its cues
// with their text as typed (text) or as WebVTT cue text keeping <i>, <b>
// and <u> (vtt).
type captionEditorJSON struct {
	Cues []struct {
		ID       string  `json:"id"`
		StartMS  *int64  `json:"start_ms"`
		EndMS    *int64  `json:"end_ms"`
		Text     *string `json:"text"`
		VTT      *string `json:"vtt"`
		Settings string  `json:"settings"`
	} `json:"cues"`
}

// captionSaveOptions are the query parameters of a PUT: the track's label,
// default flag and status, each unchanged (or, on a new track, the
// language's name, not default, published) when absent.
func captionSaveOptions(c echo.Context, s *db.CaptionSave) error {
	q := c.QueryParams()
	if q.Has("label") {
		label, err := validateCaptionLabel(q.Get("label"))
		if err != nil {
			return err
		}
		s.Label = &label
	}
	if q.Has("default") {
		v, err := strconv.ParseBool(q.Get("default"))
		if err != nil {
			return lectern.Errorf(lectern.EINVALID, "default must be true or false")
		}
		s.Default = &v
	}
	if q.Has("status") {
		st := lectern.CaptionStatus(q.Get("status"))
		if !st.Valid() {
			return lectern.Errorf(lectern.EINVALID, "status must be published or draft")
		}
		s.Status = &st
	}
	if s.Status != nil && *s.Status == lectern.CaptionDraft && s.Default != nil && *s.Default {
		return lectern.Errorf(lectern.EINVALID, "a draft cannot be the default track: publish it first")
	}
	return nil
}

// readCaptionBody reads a PUT's body, up to maxCaptionBytes.
func readCaptionBody(c echo.Context) ([]byte, error) {
	tooLarge := lectern.Errorf(lectern.ETOOLARGE,
		"the caption file is larger than %d MiB, the most this server accepts", maxCaptionBytes>>20)
	r := c.Request()
	if r.ContentLength > maxCaptionBytes {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCaptionBytes+1))
	if err != nil {
		return nil, lectern.Errorf(lectern.EINVALID, "the upload was interrupted: send the file again")
	}
	if len(data) > maxCaptionBytes {
		return nil, tooLarge
	}
	return data, nil
}

// isEditorJSON tells the editor's JSON from a caption file by content,
// whatever the Content-Type says: no caption file starts with "{".
func isEditorJSON(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\uFEFF")), " \t\r\n"), []byte("{"))
}

// parseEditorCues reads the editor's JSON and normalises its cues as a
// file's would be. Times are checked strictly: the editor knows them, so
// a cue that ends before it starts is a mistake to show, not to drop.
func parseEditorCues(data []byte, durationMS int64) (*captions.Result, error) {
	var req captionEditorJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&req); err != nil {
		return nil, jsonDecodeError(err)
	}
	if len(req.Cues) == 0 {
		return nil, lectern.Errorf(lectern.EINVALID, "no cues to save: to remove these captions, delete them")
	}
	cues := make([]captions.Cue, 0, len(req.Cues))
	for i, in := range req.Cues {
		n := i + 1
		switch {
		case in.StartMS == nil || in.EndMS == nil:
			return nil, lectern.Errorf(lectern.EINVALID, "cue %d: start_ms and end_ms are required", n)
		case *in.StartMS < 0:
			return nil, lectern.Errorf(lectern.EINVALID, "cue %d: start_ms must not be negative", n)
		case *in.EndMS <= *in.StartMS:
			return nil, lectern.Errorf(lectern.EINVALID, "cue %d ends (%s) before it starts (%s)",
				n, captions.Timestamp(*in.EndMS), captions.Timestamp(*in.StartMS))
		case in.Text != nil && in.VTT != nil:
			return nil, lectern.Errorf(lectern.EINVALID, "cue %d: send text or vtt, not both", n)
		}
		cue := captions.Cue{ID: in.ID, StartMS: *in.StartMS, EndMS: *in.EndMS, Settings: in.Settings}
		switch {
		case in.VTT != nil:
			cue.Text = captions.CueText(*in.VTT)
		case in.Text != nil:
			cue.Text = captions.PlainCueText(*in.Text)
		}
		cues = append(cues, cue)
	}
	return captions.Normalize(cues, captions.Options{DurationMS: durationMS})
}

// handleCaptionPut adds or replaces a lesson's captions in a language
// (course teachers and admins): the body is a WebVTT or SubRip file, or
// the editor's JSON. The track gets a new version; the previous ones are
// kept. It answers 201 with the new track, 200 with a replaced one, and
// the warnings of normalising.
func (s *Server) handleCaptionPut(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "change captions")
	if err != nil {
		return err
	}
	lang, tag, err := parseCaptionLang(c.Param("lang"))
	if err != nil {
		return err
	}
	save := db.CaptionSave{LessonID: l.ID, Lang: lang, AuthorID: u.ID, Source: lectern.CaptionFromUpload,
		DefaultLabel: languageLabel(tag)}
	if err := captionSaveOptions(c, &save); err != nil {
		return err
	}
	data, err := readCaptionBody(c)
	if err != nil {
		return err
	}
	var res *captions.Result
	if isEditorJSON(data) {
		save.Source = lectern.CaptionFromEditor
		res, err = parseEditorCues(data, l.DurationMS)
	} else {
		res, err = captions.Parse(data, captions.Options{DurationMS: l.DurationMS})
	}
	if err != nil {
		return err
	}
	var vtt bytes.Buffer
	if err := captions.WriteVTT(&vtt, res.Cues); err != nil {
		return err
	}
	save.ObjectKey = lectern.CaptionKey(l.ID, lang, newCaptionObjectID())
	if _, err := s.storage.Put(ctx, save.ObjectKey, &vtt); err != nil {
		return fmt.Errorf("store captions: %w", err)
	}
	save.Cues = searchCues(res.Cues)
	tr, created, err := s.db.SaveCaptions(ctx, save)
	if err != nil {
		s.deleteCaptionObject(save.ObjectKey)
		return err
	}
	s.captionsChanged(ctx, l.ID)
	resp := captionSavedJSON{captionTrackJSON: toCaptionTrackJSON(tr), Warnings: res.Warnings}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, resp)
}

// searchCues are cues as the search index keeps them (captions.SearchCues).
func searchCues(cues []captions.Cue) []lectern.CaptionCue { return captions.SearchCues(cues) }

// newCaptionObjectID tells one saved version's object from another.
func newCaptionObjectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// deleteCaptionObject removes an object that no version refers to (its
// save failed). It runs even when the request was canceled; a failure
// leaves an unreachable object under the lesson's prefix, removed with the
// lesson, and is logged.
func (s *Server) deleteCaptionObject(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.storage.Delete(ctx, key); err != nil {
		s.logger.WarnContext(ctx, "delete unused captions", slog.String("key", key), slog.Any("error", err))
	}
}

// captionUpdateRequest holds the track fields a teacher may change; an
// empty label goes back to the language's name.
type captionUpdateRequest struct {
	Label   *string                `json:"label"`
	Default *bool                  `json:"default"`
	Status  *lectern.CaptionStatus `json:"status"`
}

// handleCaptionUpdate changes a track's label, default flag or status
// (course teachers and admins).
func (s *Server) handleCaptionUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "change captions")
	if err != nil {
		return err
	}
	lang, tag, err := parseCaptionLang(c.Param("lang"))
	if err != nil {
		return err
	}
	var req captionUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	upd := db.CaptionTrackUpdate{Default: req.Default, Status: req.Status}
	if req.Label != nil {
		label := languageLabel(tag)
		if strings.TrimSpace(*req.Label) != "" {
			if label, err = validateCaptionLabel(*req.Label); err != nil {
				return err
			}
		}
		upd.Label = &label
	}
	if upd.Label == nil && upd.Default == nil && upd.Status == nil {
		return lectern.Errorf(lectern.EINVALID, "nothing to change: send a label, default or status")
	}
	tr, err := s.db.UpdateCaptionTrack(ctx, l.ID, lang, upd)
	if err != nil {
		return err
	}
	s.captionsChanged(ctx, l.ID)
	return c.JSON(http.StatusOK, toCaptionTrackJSON(tr))
}

// handleCaptionDelete removes a track with every version of it (course
// teachers and admins). Replacing a track keeps its versions; deleting it
// is final.
func (s *Server) handleCaptionDelete(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "change captions")
	if err != nil {
		return err
	}
	lang, _, err := parseCaptionLang(c.Param("lang"))
	if err != nil {
		return err
	}
	if err := s.db.DeleteCaptionTrack(ctx, l.ID, lang); err != nil {
		return err
	}
	s.captionsChanged(ctx, l.ID)
	// The objects go after the rows: a failure here leaves objects that
	// nothing refers to (removed with the lesson), never a track whose
	// file is missing.
	if err := s.storage.DeletePrefix(ctx, lectern.CaptionPrefix(l.ID, lang)); err != nil {
		s.logger.WarnContext(ctx, "delete caption objects", slog.String("lesson_id", l.ID),
			slog.String("lang", lang), slog.Any("error", err))
	}
	return c.NoContent(http.StatusNoContent)
}

// captionVersionJSON is one saved version of a track.
type captionVersionJSON struct {
	Version      int                   `json:"version"`
	Cues         int                   `json:"cues"`
	Source       lectern.CaptionSource `json:"source"`
	RestoredFrom *int                  `json:"restored_from"`
	Author       *captionAuthorJSON    `json:"author"`
	CreatedAt    time.Time             `json:"created_at"`
	Current      bool                  `json:"current"`
}

type captionAuthorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type captionVersionsResponse struct {
	Versions []captionVersionJSON `json:"versions"`
}

// handleCaptionVersions lists a track's versions, newest first (course
// teachers and admins).
func (s *Server) handleCaptionVersions(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "see caption versions")
	if err != nil {
		return err
	}
	tr, err := s.findCaptionTrack(ctx, c, l, true)
	if err != nil {
		return err
	}
	versions, err := s.db.FindCaptionVersions(ctx, l.ID, tr.Lang)
	if err != nil {
		return err
	}
	resp := captionVersionsResponse{Versions: make([]captionVersionJSON, 0, len(versions))}
	for _, v := range versions {
		vj := captionVersionJSON{Version: v.Version, Cues: v.Cues, Source: v.Source, RestoredFrom: v.RestoredFrom,
			CreatedAt: v.CreatedAt, Current: v.Version == tr.Version}
		if v.AuthorID != nil {
			vj.Author = &captionAuthorJSON{ID: *v.AuthorID, Name: v.AuthorName}
		}
		resp.Versions = append(resp.Versions, vj)
	}
	return c.JSON(http.StatusOK, resp)
}

// handleCaptionRestore makes an earlier version of a track the current
// one, as a new version (course teachers and admins): nothing saved since
// is lost. Restoring the current version changes nothing.
func (s *Server) handleCaptionRestore(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "change captions")
	if err != nil {
		return err
	}
	tr, err := s.findCaptionTrack(ctx, c, l, true)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return lectern.Errorf(lectern.ENOTFOUND, "these captions have no version %q", truncateRunes(c.Param("version"), 20))
	}
	v, err := s.db.FindCaptionVersion(ctx, l.ID, tr.Lang, n)
	if err != nil {
		return err
	}
	if v.Version == tr.Version {
		return c.JSON(http.StatusOK, toCaptionTrackJSON(tr))
	}
	cues, err := s.readCaptionObject(ctx, v.ObjectKey)
	if err != nil {
		return err
	}
	tr, _, err = s.db.SaveCaptions(ctx, db.CaptionSave{LessonID: l.ID, Lang: tr.Lang, ObjectKey: v.ObjectKey,
		Cues: searchCues(cues), Source: lectern.CaptionFromRestore, RestoredFrom: v.Version, AuthorID: u.ID,
		DefaultLabel: tr.Label})
	if err != nil {
		return err
	}
	s.captionsChanged(ctx, l.ID)
	return c.JSON(http.StatusOK, toCaptionTrackJSON(tr))
}
