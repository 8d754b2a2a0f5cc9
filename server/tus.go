package server

// Resumable uploads: the tus 1.0 protocol (core, creation, termination)
// under /api/v1/uploads, served by tusd. A teacher creates an upload whose
// Upload-Metadata names the lesson; the bytes then arrive in PATCH
// requests that may be interrupted and resumed from the offset HEAD
// reports. When the last byte lands, the finished file is streamed into
// object storage as the lesson's source and its transcode is queued, before
// the final PATCH is answered; the partial upload is then deleted.
//
// Partial uploads live on disk (embedded mode) or as S3 multipart uploads
// (when S3 is configured), never in memory. The size limit is tusd's
// MaxSize: an upload announcing more bytes is refused at creation, before
// any byte flows; so is an empty one. The first bytes of the first PATCH
// are judged before they are stored (see headCheckStore): a file that is
// plainly not a recording is refused on that request, with the reason, and
// its upload removed.
//
// The routes are served beside Echo rather than through it: Echo's JSON
// body limit must not apply to PATCH bodies, and tusd answers in its own
// protocol. Authentication is the same session cookie or bearer token.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	"github.com/tus/tusd/v2/pkg/s3store"
	expslog "golang.org/x/exp/slog"

	"github.com/lectern/lectern"
)

// tusPath is where the tus endpoint lives; uploads are tusPath/{id}.
const tusPath = "/api/v1/uploads"

// Metadata keys of an upload. lesson_id comes from the client; user_id is
// set by the server at creation and checked on every later request.
const (
	tusMetaLesson = "lesson_id"
	tusMetaUser   = "user_id"
	tusMetaName   = "filename"
)

// UploadOptions says where partial resumable uploads are kept. With
// neither set, the tus endpoint answers 404.
type UploadOptions struct {
	// Dir keeps partial uploads as files (embedded mode), e.g.
	// <data dir>/uploads.
	Dir string
	// MinFreeBytes is the free space that uploads to Dir must leave on
	// its disk, for the database and the rest: an upload that announces
	// more than fits above it is refused at creation, and a write that
	// reaches it is stopped there, both with 507. Streaming uploads keep
	// it too (in the embedded setup, Dir and the stored objects share the
	// data dir's disk). Zero means no reserve: uploads may then fill the
	// disk, which is still answered 507.
	MinFreeBytes int64
	// S3, when its Endpoint is set, keeps partial uploads as multipart
	// uploads in an S3 bucket (path-style requests, as MinIO wants)
	// instead. Several API processes may then share uploads, though a
	// resumed PATCH should reach the process that holds the upload's lock.
	S3 UploadS3
}

// UploadS3 locates the bucket for partial uploads.
type UploadS3 struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseSSL    bool
	// Prefix is put before every object of a partial upload; default
	// "uploads/".
	Prefix string
}

// tusUploads is the tus endpoint and the store behind it.
type tusUploads struct {
	handler *tusd.UnroutedHandler
	store   tusd.DataStore
	http    http.Handler
	// space checks room for new uploads (tus_space.go).
	space *spaceStore
	// locker and terminater serve the expiry of abandoned uploads
	// (tus_expiry.go).
	locker     tusd.Locker
	terminater tusd.TerminaterDataStore
	// dir is the uploads directory on disk, "" for S3; s3 the S3 one.
	dir string
	s3  *tusS3
}

// tusUserKey is the request context key under which serveTus leaves the
// authenticated user for tusd's hooks.
type tusUserKey struct{}

// newTusUploads builds the tus endpoint, or returns nil when opts
// configures no store.
func (s *Server) newTusUploads(opts UploadOptions) (*tusUploads, error) {
	composer := tusd.NewStoreComposer()
	var bucket *tusS3
	switch {
	case opts.S3.Endpoint != "":
		client := newTusS3Client(opts.S3)
		st := s3store.New(opts.S3.Bucket, client)
		st.ObjectPrefix = opts.S3.Prefix
		if st.ObjectPrefix == "" {
			st.ObjectPrefix = "uploads/"
		}
		bucket = &tusS3{client: client, bucket: opts.S3.Bucket, prefix: st.ObjectPrefix}
		st.UseIn(composer)
		memorylocker.New().UseIn(composer)
	case opts.Dir != "":
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("server: create upload directory: %w", err)
		}
		st := filestore.New(opts.Dir)
		st.UseIn(composer)
		// In memory, not tusd's filelocker: a lock file needs a block of
		// disk for its PID, so on a full disk no upload could be locked,
		// and so none deleted to free space. The uploads directory is the
		// embedded setup's, which one process serves.
		memorylocker.New().UseIn(composer)
	default:
		return nil, nil
	}
	useHeadCheck(composer, s.logger)
	dir := opts.Dir
	if bucket != nil {
		dir = ""
	}
	space := useSpaceCheck(composer, dir, opts.MinFreeBytes)
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:        composer,
		BasePath:             tusPath + "/",
		MaxSize:              s.uploadLimit(),
		DisableDownload:      true,
		DisableConcatenation: true,
		Cors:                 &tusd.CorsConfig{Disable: true},
		// tusd logs every request at info level; Lectern logs what matters itself.
		Logger:                    expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback:   s.tusCreate,
		PreFinishResponseCallback: func(ev tusd.HookEvent) (tusd.HTTPResponse, error) { return s.tusFinish(ev, composer) },
	})
	if err != nil {
		return nil, fmt.Errorf("server: tus handler: %w", err)
	}
	t := &tusUploads{handler: h, store: composer.Core, space: space, locker: composer.Locker,
		terminater: composer.Terminater, dir: dir, s3: bucket}
	t.http = h.Middleware(http.HandlerFunc(t.route))
	return t, nil
}

func newTusS3Client(c UploadS3) *awss3.Client {
	scheme := "http"
	if c.UseSSL {
		scheme = "https"
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	creds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, Source: "lectern"}
	return awss3.New(awss3.Options{
		Region:       region,
		BaseEndpoint: aws.String(scheme + "://" + c.Endpoint),
		UsePathStyle: true,
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
	})
}

// route dispatches a request that tusd's middleware has checked; the path
// has been reduced to the upload ID (empty for the endpoint itself).
func (t *tusUploads) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "" && r.Method == http.MethodPost:
		t.handler.PostFile(w, r)
	case r.URL.Path != "" && r.Method == http.MethodHead:
		t.handler.HeadFile(w, r)
	case r.URL.Path != "" && r.Method == http.MethodPatch:
		t.handler.PatchFile(w, r)
	case r.URL.Path != "" && r.Method == http.MethodDelete:
		t.handler.DelFile(w, r)
	default:
		writeErrorJSON(w, http.StatusMethodNotAllowed, lectern.EINVALID, "method not allowed")
	}
}

// isTusRequest reports whether r is for the tus endpoint.
func isTusRequest(r *http.Request) bool {
	return r.URL.Path == tusPath || strings.HasPrefix(r.URL.Path, tusPath+"/")
}

// withUploads serves the tus endpoint beside next (the Echo app).
func (s *Server) withUploads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isTusRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.serveTus(w, r)
	})
}

// serveTus authenticates a tus request, checks that an existing upload is
// the caller's own, and hands the request to tusd with the path reduced to
// the upload ID.
func (s *Server) serveTus(w http.ResponseWriter, r *http.Request) {
	if s.uploads == nil {
		writeErrorJSON(w, http.StatusNotFound, lectern.ENOTFOUND, "resumable uploads are not enabled on this server")
		return
	}
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, tusPath), "/")
	if r.Method != http.MethodOptions {
		u, err := s.authenticate(s.echo.NewContext(r, w))
		if err == nil && id != "" {
			err = s.checkUploadOwner(r.Context(), id, u)
		}
		if err != nil {
			writeLecternError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), tusUserKey{}, u))
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = id
	r2.URL.RawPath = ""
	ew := &tusErrorWriter{ResponseWriter: w, req: r, logger: s.logger}
	s.uploads.http.ServeHTTP(relativeLocation{ew}, r2)
	ew.finish()
}

// relativeLocation reduces the Location of a created upload to its path.
// tusd would make it absolute from the Host header, which is wrong behind
// a proxy that terminates TLS or when the page was reached under another
// name; clients resolve a path against the endpoint they posted to.
type relativeLocation struct {
	http.ResponseWriter
}

func (w relativeLocation) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil && u.Path != "" {
			w.Header().Set("Location", u.EscapedPath())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController (which tusd uses for read
// deadlines) reach the connection.
func (w relativeLocation) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkUploadOwner answers 404 for an upload that does not exist or that
// another user created, so that upload IDs cannot be probed.
func (s *Server) checkUploadOwner(ctx context.Context, id string, u *lectern.User) error {
	notFound := lectern.Errorf(lectern.ENOTFOUND, "upload not found")
	var info tusd.FileInfo
	up, err := s.uploads.store.GetUpload(ctx, id)
	if err == nil {
		info, err = up.GetInfo(ctx)
	}
	if errors.Is(err, tusd.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("find upload: %w", err)
	}
	if info.MetaData[tusMetaUser] != u.ID {
		return notFound
	}
	return nil
}

// writeLecternError writes err in the API's JSON error shape (no body for
// HEAD, which tus clients use to resume).
func writeLecternError(w http.ResponseWriter, r *http.Request, err error) {
	err = publicError(err)
	code := lectern.ErrorCode(err)
	if r.Method == http.MethodHead {
		w.WriteHeader(statusOf(code))
		return
	}
	writeErrorJSON(w, statusOf(code), code, lectern.ErrorMessage(err))
}

// tusError turns err into a tusd error that answers in the API's JSON
// error shape.
func tusError(err error) tusd.Error {
	err = publicError(err)
	code := lectern.ErrorCode(err)
	body, _ := json.Marshal(errorBody{errorDetail{code, lectern.ErrorMessage(err)}})
	e := tusd.NewError(strings.ToUpper("ERR_"+code), lectern.ErrorMessage(err), statusOf(code))
	e.HTTPResponse.Body = string(body) + "\n"
	e.HTTPResponse.Header = tusd.HTTPHeader{"Content-Type": "application/json"}
	return e
}

// tusLesson returns the lesson an upload is for, checking that the caller
// may upload its recording.
func (s *Server) tusLesson(ctx context.Context, meta tusd.MetaData) (*lectern.Lesson, *lectern.User, error) {
	u, _ := ctx.Value(tusUserKey{}).(*lectern.User)
	if u == nil {
		return nil, nil, lectern.Errorf(lectern.EUNAUTHORIZED, "authentication required")
	}
	id := meta[tusMetaLesson]
	if id == "" {
		return nil, nil, lectern.Errorf(lectern.EINVALID, "Upload-Metadata must name the lesson_id")
	}
	l, err := s.findTaughtLesson(ctx, id, u, "upload its recordings")
	if err != nil {
		return nil, nil, err
	}
	// The tus routes are not under the lesson's path, which is how other
	// writes to an archived course are refused (archive.go).
	archived, err := s.db.ArchivedCourseOf(ctx, string(lectern.TrashLesson), l.ID, u)
	if err != nil {
		return nil, nil, fmt.Errorf("check archived course: %w", err)
	}
	if archived {
		return nil, nil, errCourseArchived()
	}
	return l, u, nil
}

// tusCreate admits a new upload for a lesson the caller teaches, unless it
// announces an empty file, more than the disk has room for, or more than
// is left of the storage quota (quota.go), and records who made it. Only the metadata
// Lectern uses is kept.
func (s *Server) tusCreate(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	l, u, err := s.tusLesson(ev.Context, ev.Upload.MetaData)
	if err == nil && isEmptyUpload(ev.Upload) {
		err = lectern.CheckRecordingHead(nil)
	}
	if err == nil && !ev.Upload.SizeIsDeferred {
		err = s.uploads.space.checkRoom(ev.Upload.Size)
	}
	if err == nil {
		size := ev.Upload.Size
		if ev.Upload.SizeIsDeferred {
			size = -1
		}
		_, _, err = s.checkQuota(ev.Context, l, u, size)
	}
	if err != nil {
		s.logInternal(ev.Context, "create upload", err)
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(err)
	}
	meta := tusd.MetaData{tusMetaLesson: l.ID, tusMetaUser: u.ID}
	if name := displayFileName(ev.Upload.MetaData[tusMetaName]); name != "" {
		meta[tusMetaName] = name
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: meta}, nil
}

// tusFinish commits a completed upload: its bytes stream into storage as
// the lesson's new source, the transcode is queued, and the partial
// upload is deleted. It runs before the last PATCH is answered, so a
// client that sees success can rely on the lesson being queued.
func (s *Server) tusFinish(ev tusd.HookEvent, store *tusd.StoreComposer) (tusd.HTTPResponse, error) {
	ctx := context.WithoutCancel(ev.Context)
	l, _, err := s.tusLesson(ctx, ev.Upload.MetaData)
	switch {
	case err != nil:
	case isEmptyUpload(ev.Upload):
		// Only an upload whose length was deferred and then declared 0
		// gets here, and headCheckStore has removed it already.
		err = lectern.CheckRecordingHead(nil)
	default:
		err = s.commitTusUpload(ctx, store, ev.Upload.ID, l)
	}
	if err != nil {
		s.logInternal(ctx, "finish upload", err)
		return tusd.HTTPResponse{}, tusError(err)
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{"Lectern-Lesson-Status": string(lectern.LessonQueued)}}, nil
}

// isEmptyUpload reports whether info announces a file of no bytes.
func isEmptyUpload(info tusd.FileInfo) bool {
	return !info.SizeIsDeferred && info.Size == 0
}

func (s *Server) commitTusUpload(ctx context.Context, store *tusd.StoreComposer, id string, l *lectern.Lesson) error {
	up, err := store.Core.GetUpload(ctx, id)
	if err != nil {
		return fmt.Errorf("open finished upload: %w", err)
	}
	rc, err := up.GetReader(ctx)
	if err != nil {
		return fmt.Errorf("read finished upload: %w", err)
	}
	key := lectern.SourceKey(l.ID, newUploadID())
	_, err = s.storage.Put(ctx, key, rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("store finished upload: %w", err)
	}
	if _, _, err := s.commitSource(ctx, l.ID, key); err != nil {
		return err
	}
	if err := store.Terminater.AsTerminatableUpload(up).Terminate(ctx); err != nil {
		s.logger.WarnContext(ctx, "delete finished partial upload", slog.String("upload", id), slog.Any("error", err))
	}
	return nil
}

// logInternal logs err when it is not one the user caused.
func (s *Server) logInternal(ctx context.Context, what string, err error) {
	if lectern.ErrorCode(err) == lectern.EINTERNAL {
		s.logger.ErrorContext(ctx, what, slog.Any("error", err))
	}
}

// maxFileNameRunes caps the length of a file name kept for display.
const maxFileNameRunes = 200

// displayFileName cleans the name a browser sent for an uploaded file,
// which is only ever shown (storage keys are made by the server): its last
// path element (after a slash or a backslash), without control or
// bidirectional formatting characters (a right-to-left override makes
// "lesson‮4pm.exe" read as something else), at most maxFileNameRunes
// characters with its extension kept. It returns "" for a name with
// nothing left.
func displayFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	if runes := []rune(name); len(runes) > maxFileNameRunes {
		ext := []rune(filepath.Ext(name))
		if len(ext) > 10 {
			ext = nil
		}
		name = string(runes[:maxFileNameRunes-len(ext)]) + string(ext)
	}
	return name
}
