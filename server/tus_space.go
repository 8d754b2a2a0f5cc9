package server

// Room for resumable uploads: a full disk or bucket, the free-space
// reserve of the uploads directory, and tusd's error bodies.
//
// spaceStore is the outermost wrapper of the tus data store (around
// headCheckStore). Every error a store method returns passes through
// tusStoreError, so that a full disk or bucket is answered 507 with the
// API's JSON error instead of tusd's 500 carrying the OS's message (which
// names the server's files). On disk, a write is also stopped before it
// takes the free space below the reserve, so that uploads never fill the
// disk that the database and the other uploads share.
//
// Whatever error tusd still answers on its own goes through
// tusErrorWriter, which replaces its text body with the API's JSON error:
// tusd's message without any path for a 4xx, "internal error" for a 5xx
// (whose text goes to the log).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/storage/disk"
)

// spaceStore maps store errors and keeps the reserve of a disk store.
type spaceStore struct {
	core    tusd.DataStore
	term    tusd.TerminaterDataStore
	lengths tusd.LengthDeferrerDataStore
	// dir is the uploads directory on disk; "" for S3.
	dir string
	// reserve is the free space on dir that uploads must leave.
	reserve int64
}

// useSpaceCheck wraps composer's store, which must have a core,
// terminater and length deferrer, in a spaceStore.
func useSpaceCheck(composer *tusd.StoreComposer, dir string, reserve int64) *spaceStore {
	s := &spaceStore{core: composer.Core, term: composer.Terminater, lengths: composer.LengthDeferrer, dir: dir, reserve: reserve}
	composer.UseCore(s)
	composer.UseTerminater(s)
	composer.UseLengthDeferrer(s)
	return s
}

// tusStoreError turns a store error into one tusd answers properly: a
// tusd.Error as it is, a full disk or bucket as the API's 507, anything
// else unchanged (tusd answers it 500, and tusErrorWriter hides its text).
func tusStoreError(err error) error {
	var te tusd.Error
	if err == nil || errors.As(err, &te) {
		return err
	}
	if pe := publicError(err); lectern.ErrorCode(pe) == lectern.ENOSPACE {
		return tusError(pe)
	}
	var s3Err interface{ ErrorCode() string }
	if errors.As(err, &s3Err) && s3Err.ErrorCode() == "NoSuchUpload" {
		// The multipart upload is gone from the bucket (expired, or lost
		// by a store that ran out of space): the client must start again,
		// which a tus client does on 404.
		return tusError(lectern.Errorf(lectern.ENOTFOUND, "This upload is no longer on the server; please start it again."))
	}
	return err
}

// NewUpload implements tusd.DataStore.
func (s *spaceStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	up, err := s.core.NewUpload(ctx, info)
	if err != nil {
		return nil, tusStoreError(err)
	}
	return &spaceUpload{Upload: up, store: s}, nil
}

// GetUpload implements tusd.DataStore.
func (s *spaceStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	up, err := s.core.GetUpload(ctx, id)
	if err != nil {
		return nil, tusStoreError(err)
	}
	return &spaceUpload{Upload: up, store: s}, nil
}

// AsTerminatableUpload implements tusd.TerminaterDataStore.
func (s *spaceStore) AsTerminatableUpload(up tusd.Upload) tusd.TerminatableUpload {
	return spaceTerminatable{s.term.AsTerminatableUpload(unwrapSpace(up))}
}

// AsLengthDeclarableUpload implements tusd.LengthDeferrerDataStore.
func (s *spaceStore) AsLengthDeclarableUpload(up tusd.Upload) tusd.LengthDeclarableUpload {
	return spaceDeclarable{s.lengths.AsLengthDeclarableUpload(unwrapSpace(up))}
}

func unwrapSpace(up tusd.Upload) tusd.Upload {
	if u, ok := up.(*spaceUpload); ok {
		return u.Upload
	}
	return up
}

// left returns how many more bytes uploads may write to the disk: its
// free space less the reserve; false when there is no such limit (S3).
func (s *spaceStore) left() (int64, bool) {
	if s.dir == "" {
		return 0, false
	}
	free, err := disk.FreeSpace(s.dir)
	if err != nil {
		return 0, false // the write itself will tell
	}
	return max(free-s.reserve, 0), true
}

// errDiskRoom refuses an upload that does not fit above the reserve.
var errDiskRoom = lectern.Errorf(lectern.ENOSPACE, "The server does not have enough disk space for this upload right now. Please try again later, and tell your administrator.")

// checkRoom refuses an upload of size bytes that cannot fit above the
// reserve.
func (s *spaceStore) checkRoom(size int64) error {
	if left, ok := s.left(); ok && size > left {
		return errDiskRoom
	}
	return nil
}

// diskRoom is what uploads may still write to the disk of the resumable
// uploads, and false when they are not on disk.
func (s *Server) diskRoom() (int64, bool) {
	if s.uploads == nil {
		return 0, false
	}
	return s.uploads.space.left()
}

// spaceUpload is an upload of spaceStore.
type spaceUpload struct {
	tusd.Upload
	store *spaceStore
}

// WriteChunk writes at most what the reserve allows: a chunk that would
// take more is cut there, what fitted is kept (the client may resume once
// there is room) and the request is answered 507.
func (u *spaceUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	left, limited := u.store.left()
	if !limited {
		n, err := u.Upload.WriteChunk(ctx, offset, src)
		return n, tusStoreError(err)
	}
	lr := &reserveReader{r: src, left: left}
	n, err := u.Upload.WriteChunk(ctx, offset, lr)
	if lr.hit {
		err = lectern.Errorf(lectern.ENOSPACE, storageFullMessage)
	}
	return n, tusStoreError(err)
}

// GetInfo implements tusd.Upload.
func (u *spaceUpload) GetInfo(ctx context.Context) (tusd.FileInfo, error) {
	info, err := u.Upload.GetInfo(ctx)
	return info, tusStoreError(err)
}

// FinishUpload implements tusd.Upload.
func (u *spaceUpload) FinishUpload(ctx context.Context) error {
	return tusStoreError(u.Upload.FinishUpload(ctx))
}

// reserveReader reads up to left bytes, then fails, noting that it did.
type reserveReader struct {
	r    io.Reader
	left int64
	hit  bool
}

var errReserve = errors.New("upload reached the disk's free-space reserve")

func (r *reserveReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		// One byte more tells a body that ends exactly at the limit from
		// one that goes on.
		var one [1]byte
		if n, _ := r.r.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		r.hit = true
		return 0, errReserve
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	return n, err
}

// spaceTerminatable maps the errors of Terminate.
type spaceTerminatable struct{ tusd.TerminatableUpload }

func (t spaceTerminatable) Terminate(ctx context.Context) error {
	return tusStoreError(t.TerminatableUpload.Terminate(ctx))
}

// spaceDeclarable maps the errors of DeclareLength.
type spaceDeclarable struct{ tusd.LengthDeclarableUpload }

func (d spaceDeclarable) DeclareLength(ctx context.Context, length int64) error {
	return tusStoreError(d.LengthDeclarableUpload.DeclareLength(ctx, length))
}

// tusErrorWriter replaces the text body of an error that tusd answers on
// its own (its "ERR_CODE: message" text, where the message of an
// unexpected error is the Go error's, paths and all) with the API's JSON
// error. Responses that are not errors, and errors Lectern wrote as JSON,
// pass through. finish must be called once the handler returns.
type tusErrorWriter struct {
	http.ResponseWriter
	req    *http.Request
	logger *slog.Logger
	status int // an error being rewritten, else 0
	body   bytes.Buffer
}

// maxTusErrorBody bounds what is kept of a body being rewritten.
const maxTusErrorBody = 4 << 10

func (w *tusErrorWriter) WriteHeader(status int) {
	h := w.Header()
	if status < 400 || strings.HasPrefix(h.Get("Content-Type"), "application/json") || w.status != 0 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.status = status
}

func (w *tusErrorWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		return w.ResponseWriter.Write(p)
	}
	if room := maxTusErrorBody - w.body.Len(); room > 0 {
		w.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the connection.
func (w *tusErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes the rewritten error, if there is one.
func (w *tusErrorWriter) finish() {
	if w.status == 0 {
		return
	}
	code, msg := tusErrorDetail(w.status, w.body.String())
	if w.status >= 500 && uploadWentSilent(w.body.String()) {
		// A client that stopped sending is the client's network, not a
		// server failure: 408, like a silent streaming upload.
		w.status, code = http.StatusRequestTimeout, lectern.EINVALID
		msg = "the upload stopped: nothing arrived for a while; what arrived is kept, and the upload resumes from there"
	}
	if w.status >= 500 && storageConnectionLost(w.body.String()) {
		// The object store dropped the connection (MinIO resets it when
		// its drive fills mid-part): not a server bug. The part is not
		// kept; the client asks for the offset and sends it again.
		w.status, code = http.StatusServiceUnavailable, lectern.EUNAVAILABLE
		msg = "the video storage did not take this part; what arrived before it is kept, and the upload resumes from there"
		w.Header().Set("Retry-After", strconv.Itoa(storageRetryAfter))
	}
	if w.status >= 500 {
		w.logger.ErrorContext(w.req.Context(), "resumable upload failed",
			slog.String("method", w.req.Method), slog.Int("status", w.status), slog.String("error", strings.TrimSpace(w.body.String())))
	}
	h := w.Header()
	h.Del("Content-Length")
	if w.req.Method == http.MethodHead {
		w.ResponseWriter.WriteHeader(w.status)
		return
	}
	h.Set("Content-Type", "application/json")
	w.ResponseWriter.WriteHeader(w.status)
	_ = json.NewEncoder(w.ResponseWriter).Encode(errorBody{errorDetail{code, msg}})
}

// uploadWentSilent reports whether tusd's error body says the request
// body stopped arriving: tusd's own read timeout, or the upload idle
// deadline of bodydeadline.go, which tusd reports as its own error.
func uploadWentSilent(text string) bool {
	return strings.HasPrefix(strings.TrimSpace(text), tusd.ErrReadTimeout.ErrorCode) ||
		strings.Contains(text, errUploadIdle.Error())
}

// storageConnectionLost reports whether tusd's error body says the
// connection to the object store failed while a part was sent.
func storageConnectionLost(text string) bool {
	return strings.Contains(text, "request send failed") || strings.Contains(text, "connection reset by peer")
}

// pathLike matches what looks like a file path or URL path in a message.
var pathLike = regexp.MustCompile(`(?:[A-Za-z]:)?[/\\][^\s"':,]*`)

// tusErrorDetail returns the API code and a safe message for an error
// tusd answered with status and text body ("ERR_CODE: message").
func tusErrorDetail(status int, text string) (code, message string) {
	if status >= 500 {
		return lectern.EINTERNAL, "internal error"
	}
	switch status {
	case http.StatusUnauthorized:
		code = lectern.EUNAUTHORIZED
	case http.StatusForbidden:
		code = lectern.EFORBIDDEN
	case http.StatusNotFound, http.StatusGone:
		code = lectern.ENOTFOUND
	case http.StatusConflict, http.StatusLocked:
		code = lectern.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		code = lectern.ETOOLARGE
	case http.StatusTooManyRequests:
		code = lectern.ERATELIMIT
	default:
		code = lectern.EINVALID
	}
	text = strings.TrimSpace(text)
	if _, m, ok := strings.Cut(text, ": "); ok && strings.HasPrefix(text, "ERR_") {
		text = m
	}
	text = strings.TrimSpace(pathLike.ReplaceAllString(text, "…"))
	if text == "" {
		text = strings.ToLower(http.StatusText(status))
	}
	return code, text
}
