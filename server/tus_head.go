package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/lectern/lectern"
)

// headCheckStore puts lectern.CheckRecordingHead in front of a tus data
// store: the write that starts an upload (its first PATCH, or the body of
// a creation-with-upload POST) is judged by its first bytes before any of
// them is stored. A file that is plainly not a recording is refused with
// the reason, in the API's JSON error shape, and its upload terminated:
// the client is stopped on its first request and nothing of the upload is
// kept. Hooks cannot do this: tusd calls them after the bytes are stored
// (tus/tusd#445), and S3 multipart uploads cannot be read back before they
// finish.
//
// tusd's extensions reach the store's own upload type through type
// assertions, so headCheckStore also serves the two Lectern uses
// (termination and deferred length) by unwrapping its uploads; the
// composer is given no other extension.
type headCheckStore struct {
	core    tusd.DataStore
	term    tusd.TerminaterDataStore
	lengths tusd.LengthDeferrerDataStore
	logger  *slog.Logger
}

// useHeadCheck replaces composer's store, whose core, terminater and
// length deferrer must be set, with the head-checking one.
func useHeadCheck(composer *tusd.StoreComposer, logger *slog.Logger) {
	s := &headCheckStore{core: composer.Core, term: composer.Terminater, lengths: composer.LengthDeferrer, logger: logger}
	composer.UseCore(s)
	composer.UseTerminater(s)
	composer.UseLengthDeferrer(s)
	// Disabled in the handler's config; cleared so that nothing can reach
	// the store's own type assertions with a wrapped upload.
	composer.UseConcater(nil)
	composer.UseContentServer(nil)
}

// NewUpload implements tusd.DataStore.
func (s *headCheckStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	up, err := s.core.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	return &headCheckUpload{Upload: up, store: s}, nil
}

// GetUpload implements tusd.DataStore.
func (s *headCheckStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	up, err := s.core.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &headCheckUpload{Upload: up, store: s}, nil
}

// AsTerminatableUpload implements tusd.TerminaterDataStore.
func (s *headCheckStore) AsTerminatableUpload(up tusd.Upload) tusd.TerminatableUpload {
	return s.term.AsTerminatableUpload(unwrapUpload(up))
}

// AsLengthDeclarableUpload implements tusd.LengthDeferrerDataStore.
func (s *headCheckStore) AsLengthDeclarableUpload(up tusd.Upload) tusd.LengthDeclarableUpload {
	return s.lengths.AsLengthDeclarableUpload(unwrapUpload(up))
}

func unwrapUpload(up tusd.Upload) tusd.Upload {
	if h, ok := up.(*headCheckUpload); ok {
		return h.Upload
	}
	return up
}

// headCheckUpload is an upload of headCheckStore.
type headCheckUpload struct {
	tusd.Upload
	store *headCheckStore
}

// WriteChunk judges a write at offset 0 by its head before passing it on;
// later writes pass straight through.
//
// The head is the first lectern.RecordingHeadSize bytes, or the whole
// upload when it is shorter. A write that ends sooner (a client sending
// tiny chunks, or a connection dropped: tusd hides which) is judged on
// what it brought, unless it brought nothing; a recording is told from
// text within its first few bytes, and if a dropped connection is refused
// all the same, resuming finds no upload and a tus client starts a new one.
func (u *headCheckUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	if offset != 0 {
		return u.Upload.WriteChunk(ctx, offset, src)
	}
	info, err := u.Upload.GetInfo(ctx)
	if err != nil {
		return 0, fmt.Errorf("upload info: %w", err)
	}
	want := int64(lectern.RecordingHeadSize)
	if !info.SizeIsDeferred {
		want = min(want, info.Size)
	}
	head := make([]byte, want)
	n, err := io.ReadFull(src, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return 0, err
	}
	head = head[:n]
	if n > 0 || (!info.SizeIsDeferred && info.Size == 0) {
		if bad := lectern.CheckRecordingHead(head); bad != nil {
			u.terminate(ctx, info.ID)
			return 0, tusError(bad)
		}
	}
	return u.Upload.WriteChunk(ctx, 0, io.MultiReader(bytes.NewReader(head), src))
}

// terminate removes a refused upload: its partial file or multipart
// upload and its info. A failure leaves it behind and is logged.
func (u *headCheckUpload) terminate(ctx context.Context, id string) {
	if err := u.store.term.AsTerminatableUpload(u.Upload).Terminate(ctx); err != nil {
		u.store.logger.WarnContext(ctx, "delete refused upload", slog.String("upload", id), slog.Any("error", err))
	}
}
