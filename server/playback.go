package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// masterPlaylist is the master playlist's name in a published output
// (transcode.MasterPlaylist; the server imports transcode for task
// constructors only).
const masterPlaylist = "master.m3u8"

// Media URLs are path-absolute ("/media/<token>/master.m3u8"), never
// absolute URLs built from PublicURL: they resolve against whatever origin
// the client reached the API on, which is right behind a proxy, with or
// without PublicURL configured, and the page and the API share that
// origin. A client outside a browser (ffprobe, scripts) joins them to the
// base URL it already uses.

// playbackJSON is the answer to GET /api/v1/lessons/{id}/playback.
type playbackJSON struct {
	HLSURL    string    `json:"hls_url"`
	ExpiresAt time.Time `json:"expires_at"`
	// PosterURL and ThumbnailsVTT are null when the output has none (an
	// audio-only lesson).
	PosterURL     *string       `json:"poster_url"`
	ThumbnailsVTT *string       `json:"thumbnails_vtt"`
	Captions      []captionJSON `json:"captions"`
}

// captionJSON is one published caption track of the lesson: its language
// tag, the label the caption menu shows, whether it is the default track,
// and the media URL of its WebVTT (under the same signed prefix as the
// playlists). Drafts are never listed, not even to teachers.
type captionJSON struct {
	Lang    string `json:"lang"`
	Label   string `json:"label"`
	Default bool   `json:"default"`
	URL     string `json:"url"`
}

// handlePlayback gives a member of the lesson's course signed, expiring
// URLs of the lesson's published output: 404 for non-members, 409 while
// nothing has been published. A lesson being transcoded again stays
// playable from its previous output until the new one is published.
func (s *Server) handlePlayback(c echo.Context) error {
	u := currentUser(c)
	l, _, err := s.db.FindLesson(c.Request().Context(), c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	if l.OutputPrefix == "" {
		return notPlayable(l)
	}
	g, err := s.grantMedia(l, u)
	if err != nil {
		return err
	}
	tracks, err := s.db.FindCaptionTracks(c.Request().Context(), l.ID, false)
	if err != nil {
		return err
	}
	caps := make([]captionJSON, len(tracks))
	for i, t := range tracks {
		caps[i] = captionJSON{Lang: t.Lang, Label: t.Label, Default: t.Default, URL: g.url(captionMediaURL(t.Lang))}
	}
	return c.JSON(http.StatusOK, playbackJSON{
		HLSURL:        g.url(masterPlaylist),
		ExpiresAt:     g.expires,
		PosterURL:     g.optURL(l.Poster),
		ThumbnailsVTT: g.optURL(l.Thumbnails),
		Captions:      caps,
	})
}

// notPlayable is the conflict error of a lesson without published output,
// saying what the lesson is waiting for.
func notPlayable(l *lectern.Lesson) error {
	switch l.Status {
	case lectern.LessonAwaitingUpload:
		return lectern.Errorf(lectern.ECONFLICT, "lesson is not ready to watch: no recording has been uploaded yet")
	case lectern.LessonFailed:
		msg := "lesson is not ready to watch: its recording could not be transcoded"
		if l.Error != "" {
			msg += ": " + l.Error
		}
		return lectern.Errorf(lectern.ECONFLICT, "%s", msg)
	}
	return lectern.Errorf(lectern.ECONFLICT, "lesson is not ready to watch: its recording is still being processed (%s)", l.Status)
}

// mediaGrant is a signed media token and the URLs it makes.
type mediaGrant struct {
	token   string
	expires time.Time
}

// grantMedia signs a media token for viewer over the lesson's published
// output, valid for the server's media token TTL.
func (s *Server) grantMedia(l *lectern.Lesson, viewer *lectern.User) (mediaGrant, error) {
	attempt, ok := publishedAttempt(l)
	if !ok {
		return mediaGrant{}, fmt.Errorf("lesson %s: output prefix %q is not an attempt's prefix", l.ID, l.OutputPrefix)
	}
	// Whole seconds: the token keeps Unix seconds, and expires_at must say
	// exactly when it stops working.
	expires := time.Unix(s.clock.Now().Add(s.mediaTTL).Unix(), 0).UTC()
	tok := signMediaToken(s.mediaKey, mediaToken{LessonID: l.ID, UserID: viewer.ID, Attempt: attempt, Expires: expires})
	return mediaGrant{token: tok, expires: expires}, nil
}

// url is the media URL of rel, a path relative to the output prefix.
func (g mediaGrant) url(rel string) string {
	segs := strings.Split(rel, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return mediaPathPrefix + g.token + "/" + strings.Join(segs, "/")
}

// optURL is url(rel), or nil when rel is empty.
func (g mediaGrant) optURL(rel string) *string {
	if rel == "" {
		return nil
	}
	u := g.url(rel)
	return &u
}

// publishedAttempt returns the transcode attempt whose output the lesson
// publishes: the n with lectern.OutputPrefix(l.ID, n) == l.OutputPrefix.
func publishedAttempt(l *lectern.Lesson) (int, bool) {
	return lectern.OutputAttempt(l.ID, l.OutputPrefix)
}
