package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Media delivery: GET|HEAD /media/{token}/{path} serves the files of one
// published transcode (playlists, init segments, segments, poster,
// thumbnails) from storage.
//
// The token is the credential, not a session: hls.js, native HLS players
// and ffprobe fetch segments by the URLs in the playlists, and because the
// token is a path prefix every relative URL in a playlist carries it. It
// names the lesson and the transcode attempt, so a token keeps serving the
// output it was issued for until that output is deleted after a newer one
// is published, and a token can never reach another lesson's objects.
//
// Only GET and HEAD are routed: they are exempt from cross-origin
// protection as safe methods, carry no body (so the JSON body limit never
// applies), and need no CSRF defence.

const (
	// mediaPathPrefix starts every media URL.
	mediaPathPrefix = "/media/"
	// cacheImmutable is for segments, init segments and images: attempts
	// never share a storage prefix, so the bytes behind a URL never change.
	// "private" because the URL carries a personal token and the bytes are
	// course material: shared caches must not keep them.
	cacheImmutable = "private, max-age=31536000, immutable"
	// cacheShort is for playlists and WebVTT tracks: they are the entry
	// points a player (re)loads, and each load re-checks the token, that the
	// lesson still exists and who is asking. A cached master playlist would
	// keep a deleted lesson, an expired link or a removed student's access
	// looking alive, so browsers revalidate every load (a 304 when the
	// holder may still see it: the ETag keeps that cheap).
	cacheShort = "private, no-cache"
)

func (s *Server) registerMediaRoutes(e *echo.Echo) {
	e.Match([]string{http.MethodGet, http.MethodHead}, mediaPathPrefix+":token/*", s.handleMedia)
}

// handleMedia serves one file of a lesson's published output to the
// holder of a valid media token: 403 for a malformed, tampered or expired
// token or one borrowed from another user, 404 for a bad or missing path.
func (s *Server) handleMedia(c echo.Context) error {
	req := c.Request()
	// The decoded path, not Echo's parameters: Echo matches the raw path,
	// so "*" could still hold percent-escapes such as "..%2f".
	tokenStr, rel, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, mediaPathPrefix), "/")
	tok, err := verifyMediaToken(s.mediaKey, tokenStr, s.clock.Now())
	if err != nil {
		return lectern.Errorf(lectern.EFORBIDDEN, "this media link is invalid or has expired; reload the lesson")
	}
	if err := s.refuseBorrowedToken(c, tok); err != nil {
		return err
	}
	key := lectern.OutputPrefix(tok.LessonID, tok.Attempt) + rel
	if lectern.ValidateKey(rel) != nil || lectern.ValidateKey(key) != nil {
		return lectern.Errorf(lectern.ENOTFOUND, "media file not found")
	}
	ctx := req.Context()
	// Membership, not just the token: see checkMediaHolder (members.go).
	if err := s.checkMediaHolder(ctx, tok); err != nil {
		return err
	}
	// A segment of a lesson still being encoded may not be stored yet.
	if err := s.holdPendingSegment(c, lectern.OutputPrefix(tok.LessonID, tok.Attempt), rel); err != nil {
		return err
	}
	// Captions are written at request time, not read from storage.
	if handled, err := s.serveCaptionMedia(c, tok, key, rel); handled {
		return err
	}
	if s.presign != nil && req.Method == http.MethodGet && mediaCacheControl(key) == cacheImmutable {
		return s.redirectMedia(c, key, tok.UserID)
	}
	return s.serveObject(c, key, mediaCacheControl(key))
}

// serveObject answers with the stored object key (Range, conditional
// requests and HEAD included), with the given Cache-Control.
func (s *Server) serveObject(c echo.Context, key, cacheControl string) error {
	if fs, ok := s.storage.(fileStore); ok {
		return s.serveMediaFile(c, fs, key, cacheControl)
	}
	req := c.Request()
	ctx := req.Context()
	// Storage gets StorageTimeout to answer each call (see objectReader):
	// a slow or unreachable store is a quick 503 the player retries, not
	// a request hanging as long as the store does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	statCtx, statCancel := context.WithTimeout(ctx, s.storageTimeout)
	info, err := s.storage.Stat(statCtx, key)
	statCancel()
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.ENOTFOUND, "media file not found")
	}
	if err != nil {
		return storageUnavailable(c, fmt.Errorf("stat media file: %w", err))
	}
	setMediaHeaders(c, key, info, cacheControl)
	body := &objectReader{ctx: ctx, cancel: cancel, timeout: s.storageTimeout, store: s.storage, key: key, size: info.Size}
	defer body.Close()
	w := s.newStallResponse(c)
	defer w.done()
	// ServeContent answers Range, If-Range, If-None-Match, If-Modified-Since
	// and HEAD, reading only the bytes it sends.
	http.ServeContent(w, req, "", info.ModTime, body)
	if body.err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "media read failed", slog.String("key", key), slog.Any("error", body.err))
	}
	return nil
}

// setMediaHeaders sets the headers of a media file's answer.
func setMediaHeaders(c echo.Context, key string, info lectern.ObjectInfo, cacheControl string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, lectern.ContentTypeFor(key))
	h.Set("ETag", mediaETag(info))
	h.Set(echo.HeaderCacheControl, cacheControl)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
}

// fileStore is a Storage whose objects are local files (storage/disk).
type fileStore interface {
	OpenFile(ctx context.Context, key string) (*os.File, lectern.ObjectInfo, error)
}

// serveMediaFile answers a media request from a local file. One open and
// one fstat replace Stat and Open, and http.ServeContent, handed the
// *os.File, hands it on to net/http's ReadFrom on the connection, which
// sends the bytes with sendfile: they never pass through user space.
// Range and conditional requests are answered as for any store.
func (s *Server) serveMediaFile(c echo.Context, fs fileStore, key, cacheControl string) error {
	req := c.Request()
	f, info, err := fs.OpenFile(req.Context(), key)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.ENOTFOUND, "media file not found")
	}
	if err != nil {
		return storageUnavailable(c, fmt.Errorf("open media file: %w", err))
	}
	defer f.Close()
	setMediaHeaders(c, key, info, cacheControl)
	w := s.newStallResponse(c)
	defer w.done()
	http.ServeContent(w, req, "", info.ModTime, f)
	return nil
}

// A client that stops reading a segment (a player paused mid-download, a
// dead laptop whose TCP connection lingers) would hold its goroutine,
// file and connection for as long as it likes: the http.Server has no
// WriteTimeout, which would cut off slow downloads too. stallResponse
// sends a media body in pieces of mediaPiece bytes instead, each of
// which must be taken within Limits.MediaStallTimeout (a write deadline
// set per piece), or the connection is closed. A slow client that keeps
// reading is never cut off. Each piece is one io.LimitedReader over the
// source, which the connection's ReadFrom still sends with sendfile when
// the source is a file. A disk whose reads hang inside the kernel cannot
// be interrupted this way; a piece that took longer than the timeout
// ends the answer once it returns.

// mediaPiece is how much of a media body is sent under one write
// deadline: small enough that a slow client is not mistaken for a stalled
// one, large enough that a segment costs a handful of system calls.
const mediaPiece = 128 << 10

// errMediaStalled ends a media body whose piece took too long.
var errMediaStalled = errors.New("media body stalled")

// stallResponse is Echo's response with an io.ReaderFrom that sends in
// pieces under write deadlines (see above). It also gives the copy the
// ReaderFrom of the writer below it, which echo.Response lacks: without
// it io.Copy would copy a file through a buffer instead of letting the
// connection send it.
type stallResponse struct {
	*echo.Response
	rc    *http.ResponseController
	stall time.Duration
	armed bool // a write deadline was set, to be cleared
}

func (s *Server) newStallResponse(c echo.Context) *stallResponse {
	return &stallResponse{Response: c.Response(), rc: http.NewResponseController(c.Response()),
		stall: s.limits.MediaStallTimeout}
}

// ReadFrom implements io.ReaderFrom.
func (w *stallResponse) ReadFrom(src io.Reader) (int64, error) {
	if !w.Committed {
		w.WriteHeader(http.StatusOK)
	}
	// io.CopyN hands in a LimitedReader over the file; pieces of the file
	// itself, not of that reader, are what sendfile recognizes.
	left := int64(-1) // unknown: until EOF
	if lr, ok := src.(*io.LimitedReader); ok {
		src, left = lr.R, lr.N
		defer func() { lr.N = left }()
	}
	var sent int64
	for left != 0 {
		size := int64(mediaPiece)
		if left > 0 && left < size {
			size = left
		}
		start := time.Now()
		if err := w.rc.SetWriteDeadline(start.Add(w.stall)); err == nil {
			w.armed = true
		}
		n, err := w.send(&io.LimitedReader{R: src, N: size})
		sent += n
		if left > 0 {
			left -= n
		}
		if err != nil || n < size {
			return sent, err
		}
		if time.Since(start) > w.stall {
			return sent, errMediaStalled
		}
	}
	return sent, nil
}

// send copies piece to the writer below, by its ReadFrom when it has one.
func (w *stallResponse) send(piece *io.LimitedReader) (int64, error) {
	rf, ok := w.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{w.Response}, piece)
	}
	n, err := rf.ReadFrom(piece)
	w.Size += n
	return n, err
}

// done clears the write deadline, if one was set, for the connection's
// next request.
func (w *stallResponse) done() {
	if w.armed {
		_ = w.rc.SetWriteDeadline(time.Time{})
	}
}

// writerOnly hides every method of a writer but Write, so that io.Copy
// does not come back to a ReadFrom.
type writerOnly struct{ io.Writer }

// refuseBorrowedToken refuses a token used by a logged-in user other than
// the one it was issued to: a classmate's link does not work for a user
// who has their own credentials. Requests without credentials (players
// fetching segments, ffprobe), or with stale ones, rely on the token alone.
func (s *Server) refuseBorrowedToken(c echo.Context, tok mediaToken) error {
	u, err := s.authenticate(c)
	switch {
	case lectern.ErrorCode(err) == lectern.EUNAUTHORIZED:
		return nil
	case err != nil:
		return err
	case u.ID != tok.UserID:
		return lectern.Errorf(lectern.EFORBIDDEN, "this media link was issued to another user")
	}
	return nil
}

// mediaETag is a strong validator for the object: storage never rewrites an
// object in place, so key, size and modification time identify its bytes.
func mediaETag(info lectern.ObjectInfo) string {
	return contentETag([]byte(info.Key + "\x00" + strconv.FormatInt(info.Size, 10) +
		"\x00" + strconv.FormatInt(info.ModTime.UnixNano(), 10)))
}

// mediaCacheControl returns the Cache-Control of a media file by its kind.
func mediaCacheControl(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".m3u8", ".vtt":
		return cacheShort
	}
	return cacheImmutable
}

// storageUnavailable is the 503 of a media request whose storage failed
// or did not answer in time; the player tries again after Retry-After.
func storageUnavailable(c echo.Context, err error) error {
	setRetryAfter(c, storageRetryAfter)
	return fmt.Errorf("%w (%w)", lectern.Errorf(lectern.EUNAVAILABLE,
		"the video storage is not answering right now; playback resumes as soon as it is back"), err)
}

// storageRetryAfter is the Retry-After, in seconds, of storageUnavailable.
const storageRetryAfter = 5

// DefaultStorageTimeout is how long a media request waits for storage
// when Options.StorageTimeout is zero.
const DefaultStorageTimeout = 8 * time.Second

// objectReader is an io.ReadSeeker over a stored object of known size. It
// opens the object lazily at the current offset on the first Read after a
// Seek, so that http.ServeContent's seeks cost nothing and a range request
// reads only from the range's start.
//
// Each call to storage (the open, every read) must make progress within
// timeout; one that does not cancels ctx, which ends the storage request
// and its connection, and the response is cut off (its headers are sent
// by then), for the player to retry.
type objectReader struct {
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	store   lectern.Storage
	key     string
	size    int64
	off     int64         // where the next Read starts
	body    io.ReadCloser // open at off, or nil
	err     error         // the last storage error, for the log
}

// Seek implements io.Seeker.
func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return r.off, errors.New("object reader: invalid whence")
	}
	if abs < 0 {
		return r.off, errors.New("object reader: negative position")
	}
	if abs != r.off {
		r.Close()
		r.off = abs
	}
	return abs, nil
}

// Read implements io.Reader.
func (r *objectReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	stall := time.AfterFunc(r.timeout, r.cancel)
	defer stall.Stop()
	if r.body == nil {
		body, err := r.store.Open(r.ctx, r.key, r.off, r.size-r.off)
		if err != nil {
			r.err = err
			return 0, err
		}
		r.body = body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && r.off < r.size {
		err = io.ErrUnexpectedEOF // the object shrank after Stat
	}
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// Close releases the open object, if any.
func (r *objectReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
