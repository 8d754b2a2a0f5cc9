package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Captions in HLS. A lesson's published caption tracks change without a
// new transcode, so the server writes everything about them when it is
// asked, from the database, under the same media token as the rest of the
// output:
//
//   - master.m3u8, read from storage as the transcoder wrote it, gets a
//     subtitles group: one #EXT-X-MEDIA:TYPE=SUBTITLES line per published
//     track and SUBTITLES="subs" on every variant;
//   - captions/<lang>.m3u8 is a media playlist of one WebVTT segment that
//     covers the whole lesson;
//   - captions/<lang>.vtt is the track's current version with an
//     X-TIMESTAMP-MAP header.
//
// All three are served with cacheShort (revalidated on every load), so
// that a link handed out before a change sees it on the player's next
// playlist load. Drafts are never in
// them, for anyone: a teacher previews a draft in the caption editor.

const (
	// captionsMediaDir holds the generated caption playlists and files.
	// The transcoder never writes there, so nothing stored is hidden.
	captionsMediaDir = "captions/"
	// subtitlesGroup is the GROUP-ID of the subtitles group.
	subtitlesGroup = "subs"
	// captionTimestampMap ties cue time 0 to media timestamp 0. Our fMP4
	// renditions start at media time 0 (ffmpeg shifts the source to zero;
	// only the video's first frame is a few hundredths later, by its
	// B-frame delay), so cue times are lesson times as written. Without the
	// header RFC 8216 (3.5) lets a client assume the same, but saying it
	// keeps every client on one reading. hls.js maps MPEGTS through the
	// same initial PTS it subtracts from the media, so the two stay
	// aligned; Safari maps it onto the fMP4 timeline directly.
	captionTimestampMap = "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"
)

// captionMediaURL is the media path of a track's WebVTT, relative to the
// output (what playback's captions[].url points at).
func captionMediaURL(lang string) string { return captionsMediaDir + lang + ".vtt" }

// serveCaptionMedia answers the media requests that captions change: the
// master playlist (media_master.go) and everything under captions/. It
// reports whether it answered; when it did not, the request is served
// from storage as usual.
func (s *Server) serveCaptionMedia(c echo.Context, tok mediaToken, key, rel string) (bool, error) {
	switch {
	case rel == masterPlaylist:
		return true, s.serveMaster(c, tok, key)
	case strings.HasPrefix(rel, captionsMediaDir):
		return true, s.serveCaptionFile(c, tok.LessonID, strings.TrimPrefix(rel, captionsMediaDir))
	}
	return false, nil
}

// maxMasterPlaylistBytes bounds the master playlist read into memory; the
// transcoder's are well under a kilobyte.
const maxMasterPlaylistBytes = 64 << 10

// serveCaptionFile serves captions/<lang>.m3u8 or captions/<lang>.vtt of a
// published track; anything else under captions/ is not found.
func (s *Server) serveCaptionFile(c echo.Context, lessonID, name string) error {
	notFound := lectern.Errorf(lectern.ENOTFOUND, "media file not found")
	ext := path.Ext(name)
	if ext != ".m3u8" && ext != ".vtt" {
		return notFound
	}
	raw := strings.TrimSuffix(name, ext)
	lang, _, err := parseCaptionLang(raw)
	// One URL per track: the canonical tag only ("pt-BR", not "pt-br").
	if err != nil || lang != raw {
		return notFound
	}
	ctx := c.Request().Context()
	tr, err := s.db.FindCaptionTrack(ctx, lessonID, lang)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && tr.Status != lectern.CaptionPublished) {
		return notFound
	}
	if err != nil {
		return err
	}
	if ext == ".m3u8" {
		l, err := s.db.FindLessonByID(ctx, lessonID)
		if err != nil {
			return fmt.Errorf("find lesson of captions: %w", err)
		}
		return serveGenerated(c, name, subtitlePlaylist(lang, l.DurationMS))
	}
	vtt, err := s.readMediaObject(ctx, tr.ObjectKey, maxCaptionBytes)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return fmt.Errorf("captions object %s is missing", tr.ObjectKey)
	}
	if err != nil {
		return err
	}
	return serveGenerated(c, name, withTimestampMap(vtt))
}

// readMediaObject reads a whole stored object of at most limit bytes.
func (s *Server) readMediaObject(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, err := s.storage.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", key, limit)
	}
	return data, nil
}

// serveGenerated answers with body, written for this request, as the file
// name: short-cached, with a strong ETag of its bytes so that a player's
// revalidation costs nothing while nothing changed.
func serveGenerated(c echo.Context, name string, body []byte) error {
	serveBytes(c, name, body, contentETag(body))
	return nil
}

// serveBytes answers with body as the file name, short-cached, with etag.
func serveBytes(c echo.Context, name string, body []byte, etag string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, lectern.ContentTypeFor(name))
	h.Set("ETag", etag)
	h.Set(echo.HeaderCacheControl, cacheShort)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(body))
}

// withSubtitles adds the subtitles group of tracks to a master playlist:
// the #EXT-X-MEDIA lines before the first variant, and SUBTITLES on every
// variant. Every variant gets it, the audio-only one too: an audio-only
// lesson still has captions to read, and RFC 8216 allows the attribute on
// any variant.
func withSubtitles(master []byte, tracks []*lectern.CaptionTrack) []byte {
	var media strings.Builder
	names := map[string]bool{}
	for _, t := range tracks {
		name := playlistQuoted(t.Label)
		// NAME must be unique within the group (RFC 8216 4.3.4.1.1).
		if names[name] {
			name += " (" + t.Lang + ")"
		}
		names[name] = true
		def := "NO"
		if t.Default {
			def = "YES"
		}
		fmt.Fprintf(&media, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=%q,NAME=\"%s\",LANGUAGE=\"%s\",DEFAULT=%s,AUTOSELECT=YES,URI=\"%s\"\n",
			subtitlesGroup, name, t.Lang, def, captionsMediaDir+t.Lang+".m3u8")
	}
	var b strings.Builder
	inserted := false
	for _, line := range strings.SplitAfter(string(master), "\n") {
		bare := strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(bare, "#EXT-X-STREAM-INF:") {
			b.WriteString(line)
			continue
		}
		if !inserted {
			b.WriteString(media.String())
			inserted = true
		}
		b.WriteString(bare + `,SUBTITLES="` + subtitlesGroup + "\"\n")
	}
	return []byte(b.String())
}

// playlistQuoted makes s safe inside a playlist's quoted string, which
// cannot hold a double quote or a line break. Labels are checked when
// they are set; this is the last line of defence.
func playlistQuoted(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\n' || r == '\r' {
			return '\''
		}
		return r
	}, s)
}

// subtitlePlaylist is the media playlist of a track: one WebVTT segment
// as long as the lesson. EXT-X-TARGETDURATION must be at least every
// segment's duration rounded to the nearest second (RFC 8216 4.3.3.1), so
// it is the duration rounded up.
func subtitlePlaylist(lang string, durationMS int64) []byte {
	durationMS = max(durationMS, 1)
	target := (durationMS + 999) / 1000
	return fmt.Appendf(nil, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n"+
		"#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:%d.%03d,\n%s.vtt\n#EXT-X-ENDLIST\n",
		target, durationMS/1000, durationMS%1000, lang)
}

// withTimestampMap puts captionTimestampMap into a stored WebVTT file's
// header, right after its "WEBVTT" line (the captions package writes that
// line alone, then a blank line before every cue).
func withTimestampMap(vtt []byte) []byte {
	first, rest, _ := bytes.Cut(vtt, []byte("\n"))
	out := make([]byte, 0, len(vtt)+len(captionTimestampMap)+1)
	out = append(out, first...)
	out = append(out, '\n')
	out = append(out, captionTimestampMap...)
	out = append(out, '\n')
	return append(out, rest...)
}
