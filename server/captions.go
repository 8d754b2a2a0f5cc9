package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/captions"
)

// captionRoute is the route of one caption track. Its PUT takes a caption
// file of up to maxCaptionBytes, more than the JSON body limit, so the
// global limit skips it (see captionUploadRoute).
const captionRoute = "/api/v1/lessons/:id/captions/:lang"

// maxCaptionBytes caps an uploaded caption file (or the editor's JSON): an
// hour of dense captions is about 100 KB.
const maxCaptionBytes = 2 << 20

// maxCaptionLabelLen caps a track's label, in characters.
const maxCaptionLabelLen = 80

func (s *Server) registerCaptionRoutes(g *echo.Group) {
	g.GET("/lessons/:id/captions", s.handleCaptionList, s.requireUser)
	g.GET("/lessons/:id/captions/:lang", s.handleCaptionGet, s.requireUser)
	g.PUT("/lessons/:id/captions/:lang", s.handleCaptionPut, s.requireUser)
	g.PATCH("/lessons/:id/captions/:lang", s.handleCaptionUpdate, s.requireUser)
	g.DELETE("/lessons/:id/captions/:lang", s.handleCaptionDelete, s.requireUser)
	g.GET("/lessons/:id/captions/:lang/versions", s.handleCaptionVersions, s.requireUser)
	g.POST("/lessons/:id/captions/:lang/versions/:version/restore", s.handleCaptionRestore, s.requireUser)
}

// captionUploadRoute reports whether c uploads a caption track, which
// maxCaptionBytes bounds instead of the JSON body limit.
func captionUploadRoute(c echo.Context) bool {
	return c.Request().Method == http.MethodPut && c.Path() == captionRoute
}

// captionTrackJSON is a caption track as the API shows it.
type captionTrackJSON struct {
	Lang      string                `json:"lang"`
	Label     string                `json:"label"`
	Default   bool                  `json:"default"`
	Status    lectern.CaptionStatus `json:"status"`
	Version   int                   `json:"version"`
	Cues      int                   `json:"cues"`
	UpdatedAt time.Time             `json:"updated_at"`
}

// captionSavedJSON answers a PUT: the track, and what normalising the
// upload changed, in sentences for the teacher (none: []).
type captionSavedJSON struct {
	captionTrackJSON
	Warnings []string `json:"warnings"`
}

func toCaptionTrackJSON(t *lectern.CaptionTrack) captionTrackJSON {
	return captionTrackJSON{Lang: t.Lang, Label: t.Label, Default: t.Default, Status: t.Status,
		Version: t.Version, Cues: t.Cues, UpdatedAt: t.UpdatedAt}
}

// parseCaptionLang reads a BCP 47 language tag ("en", "pt-br", "pt_BR")
// and returns its canonical form ("pt-BR") and the tag.
func parseCaptionLang(raw string) (string, language.Tag, error) {
	lang, tag, ok := captions.ParseLanguage(raw)
	if !ok {
		return "", language.Und, lectern.Errorf(lectern.EINVALID,
			"%q is not a language tag: use a BCP 47 tag such as en, fr or pt-BR", truncateRunes(raw, 40))
	}
	return lang, tag, nil
}

// languageLabel is a track's label when the teacher gives none (see
// captions.LanguageLabel).
func languageLabel(tag language.Tag) string { return captions.LanguageLabel(tag) }

// validateCaptionLabel trims a label and checks it: 1 to 80 characters,
// no control characters, no double quote (labels are written into HLS
// playlists, whose quoted strings cannot hold one).
func validateCaptionLabel(label string) (string, error) {
	label, err := validateText("label", label, 1, maxCaptionLabelLen)
	if err != nil {
		return "", err
	}
	if strings.ContainsFunc(label, unicode.IsControl) {
		return "", lectern.Errorf(lectern.EINVALID, "label must be one line of text")
	}
	if strings.ContainsRune(label, '"') {
		return "", lectern.Errorf(lectern.EINVALID, `label cannot contain a double quote (")`)
	}
	return label, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// findCaptionTrack finds the track of lesson l in the :lang of c that u
// may see: drafts only for the course's teachers and admins.
func (s *Server) findCaptionTrack(ctx context.Context, c echo.Context, l *lectern.Lesson, teaches bool) (*lectern.CaptionTrack, error) {
	lang, _, err := parseCaptionLang(c.Param("lang"))
	if err != nil {
		return nil, err
	}
	tr, err := s.db.FindCaptionTrack(ctx, l.ID, lang)
	if err != nil {
		return nil, err
	}
	if tr.Status == lectern.CaptionDraft && !teaches {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "this lesson has no captions in that language")
	}
	return tr, nil
}

// openCaptionObject opens a stored version of a track. A version whose
// object is missing is the server's fault (500), not a missing track.
func (s *Server) openCaptionObject(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.storage.Open(ctx, key, 0, -1)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil, fmt.Errorf("captions object %s is missing", key)
	}
	if err != nil {
		return nil, fmt.Errorf("open captions %s: %w", key, err)
	}
	return rc, nil
}

// readCaptionObject reads and parses a stored version of a track.
func (s *Server) readCaptionObject(ctx context.Context, key string) ([]captions.Cue, error) {
	rc, err := s.openCaptionObject(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read captions %s: %w", key, err)
	}
	res, err := captions.Parse(data, captions.Options{})
	if err != nil {
		// Lectern wrote the object; failing to read it back is not the
		// user's doing.
		return nil, fmt.Errorf("parse stored captions %s: %s", key, lectern.ErrorMessage(err))
	}
	return res.Cues, nil
}

type captionListResponse struct {
	Captions []captionTrackJSON `json:"captions"`
}

// teacherCaptionListResponse is the list as the course's teachers get it:
// with the lesson's automatic captions (null when it has none).
type teacherCaptionListResponse struct {
	captionListResponse
	ASR *asrJSON `json:"asr"`
}

// handleCaptionList lists a lesson's caption tracks to the members of its
// course; drafts only to its teachers and admins.
func (s *Server) handleCaptionList(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, role, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	teaches := mayTeach(u, role)
	tracks, err := s.db.FindCaptionTracks(ctx, l.ID, teaches)
	if err != nil {
		return err
	}
	resp := captionListResponse{Captions: make([]captionTrackJSON, 0, len(tracks))}
	for _, t := range tracks {
		resp.Captions = append(resp.Captions, toCaptionTrackJSON(t))
	}
	if !teaches {
		return c.JSON(http.StatusOK, resp)
	}
	asr, err := s.findASR(ctx, l.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, teacherCaptionListResponse{captionListResponse: resp, ASR: asr})
}

// captionCueJSON is one cue for the caption editor and the transcript:
// text is what a reader sees (plain text, to be shown as text, never as
// HTML), vtt the same as WebVTT cue text with its <i>, <b> and <u>.
type captionCueJSON struct {
	ID       string `json:"id,omitempty"`
	StartMS  int64  `json:"start_ms"`
	EndMS    int64  `json:"end_ms"`
	Text     string `json:"text"`
	VTT      string `json:"vtt"`
	Settings string `json:"settings,omitempty"`
}

type captionCuesResponse struct {
	Track captionTrackJSON `json:"track"`
	Cues  []captionCueJSON `json:"cues"`
}

// handleCaptionGet gives a track to a member of the lesson's course (a
// draft only to its teachers): as WebVTT, as a plain-text transcript
// (?format=txt, a download) or as JSON cues (?format=json).
func (s *Server) handleCaptionGet(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, role, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	tr, err := s.findCaptionTrack(ctx, c, l, mayTeach(u, role))
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "vtt" && format != "txt" && format != "json" {
		return lectern.Errorf(lectern.EINVALID, "format must be vtt, txt or json")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-cache")
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	if format == "" || format == "vtt" {
		rc, err := s.openCaptionObject(ctx, tr.ObjectKey)
		if err != nil {
			return err
		}
		defer rc.Close()
		h.Set(echo.HeaderContentDisposition, captionDisposition("inline", l.Title, tr.Lang, "vtt"))
		return c.Stream(http.StatusOK, "text/vtt; charset=utf-8", rc)
	}
	cues, err := s.readCaptionObject(ctx, tr.ObjectKey)
	if err != nil {
		return err
	}
	if format == "json" {
		resp := captionCuesResponse{Track: toCaptionTrackJSON(tr), Cues: make([]captionCueJSON, len(cues))}
		for i, q := range cues {
			resp.Cues[i] = captionCueJSON{ID: q.ID, StartMS: q.StartMS, EndMS: q.EndMS, Text: q.Plain(), VTT: q.Text, Settings: q.Settings}
		}
		return c.JSON(http.StatusOK, resp)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s — %s\n\n", l.Title, tr.Label)
	if err := captions.WriteTranscript(&b, cues); err != nil {
		return err
	}
	h.Set(echo.HeaderContentDisposition, captionDisposition("attachment", l.Title, tr.Lang, "txt"))
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", b.Bytes())
}

// captionDisposition is a Content-Disposition naming the file after the
// lesson and language, "Signals-and-systems-pt-BR.txt": letters and digits
// of the title only, so that the name is safe on every system.
func captionDisposition(kind, title, lang, ext string) string {
	var b strings.Builder
	dash, n := false, 0
	for _, r := range title {
		if n >= 60 {
			break
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			dash = true
			continue
		}
		if dash && n > 0 {
			b.WriteByte('-')
			n++
		}
		b.WriteRune(r)
		n++
		dash = false
	}
	name := b.String()
	if name == "" {
		name = "captions"
	}
	return mime.FormatMediaType(kind, map[string]string{"filename": name + "-" + lang + "." + ext})
}
