package transcode

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// playableWait bounds how long the delivery publishing a finished plan
// waits for the one publishing it playable (whose playlists must not land
// after the finished ones).
const playableWait = time.Minute

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// planChunked records the chunked plan of a probed attempt and enqueues
// one task per piece on the queue of the task running; the recording
// downloaded to input is kept for the pieces this worker takes. It
// reports false, doing nothing, when the recording is better encoded in
// one run.
func (h *Handler) planChunked(ctx context.Context, p TranscodePayload, lease *db.Lease, src *Source, input string,
	log *slog.Logger) (bool, error) {
	if h.ChunkSeconds <= 0 {
		return false, nil
	}
	spec, chunks, ok := planChunks(src, PlanLadder(src), h.ChunkSeconds)
	if !ok {
		return false, nil
	}
	lesson, err := h.DB.FindLessonByID(ctx, p.LessonID)
	if err != nil {
		return false, err
	}
	spec.SourceKey = lesson.SourceKey
	b, err := json.Marshal(spec)
	if err != nil {
		return false, fmt.Errorf("encode plan: %w", err)
	}
	if _, err := h.DB.CreatePlan(ctx, lease, string(b), chunks); err != nil {
		if lectern.ErrorCode(err) == lectern.ECONFLICT {
			return true, errLeaseLost
		}
		return true, err
	}
	if h.Sources != nil {
		h.Sources.adopt(spec.SourceKey, input)
	}
	queue := deliveryOf(ctx).Queue
	for _, c := range chunks {
		h.enqueueChunk(ctx, ChunkPayload{LessonID: p.LessonID, JobID: p.JobID, Attempt: p.Attempt, Index: c.Index,
			Audio: c.Kind == db.ChunkAudio}, 0, queue, log)
	}
	log.Info("transcode planned in chunks", "chunks", len(chunks), "segments", spec.TotalSegs, "output", lease.Prefix)
	return true, nil
}

// enqueueChunk enqueues a piece's task; a failure is only logged, since
// the reconciler enqueues the pieces of live plans that have no task.
func (h *Handler) enqueueChunk(ctx context.Context, p ChunkPayload, tries int, queue string, log *slog.Logger) {
	if h.Chunks == nil {
		log.Warn("no queue to enqueue chunks on; the reconciler will")
		return
	}
	if err := h.Chunks.EnqueueChunk(context.WithoutCancel(ctx), p, tries, queue); err != nil {
		log.Warn("enqueue transcode chunk; the reconciler will", "index", p.Index, "error", err)
	}
}

// chunkDeadline is how long a piece's lease may go unrenewed before
// another delivery may take it.
func (h *Handler) chunkDeadline() time.Duration {
	if h.ChunkDeadline > 0 {
		return h.ChunkDeadline
	}
	return 3 * h.heartbeatEvery()
}

// ProcessChunk runs delivery d of a chunk task: it claims the most urgent
// piece of the job's plan of the task's kind (the audio piece, or a video
// chunk), encodes and uploads it, records it done and
// then publishes what the plan allows: playable once the opening chunk
// and its audio are stored, ready once every piece is. With no piece to
// claim it publishes a plan whose pieces are all done (its finishing
// worker died). A failed piece is retried alone; one out of tries fails
// the lesson.
func (h *Handler) ProcessChunk(ctx context.Context, p ChunkPayload, d Delivery) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrSkipRetry, err)
	}
	log := h.logger().With("lesson", p.LessonID, "attempt", p.Attempt, "job", p.JobID)
	plan, c, err := h.DB.ClaimChunk(ctx, p.JobID, p.Kind(), h.host(), time.Now().Add(-h.chunkDeadline()))
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ENOTFOUND:
		return h.publishIfDone(ctx, p, log)
	case lectern.ECONFLICT:
		log.Info("transcode chunk skipped: the plan was canceled, replaced or finished", "reason", err)
		return nil
	default:
		return fmt.Errorf("claim transcode chunk: %w", err)
	}
	log = log.With("chunk", c.Index, "kind", c.Kind, "start_seg", c.StartSeg, "segs", c.Segs, "try", c.Tries,
		"output", plan.Prefix)
	var spec chunkSpec
	if err := jsonUnmarshal(plan.Spec, &spec); err != nil {
		return h.chunkFailed(ctx, d, c, lectern.Errorf(lectern.EINVALID, "unreadable plan: %v", err), log)
	}
	log.Info("transcode chunk started")
	start := time.Now()
	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := h.beat(work, func(ctx context.Context) (lectern.JobState, error) { return h.DB.RenewChunk(ctx, c) }, cancel, log)
	input, release, err := h.sources().get(work, h.Storage, spec.SourceKey)
	if err == nil {
		err = h.runChunk(work, p, plan, &spec, c, input, log)
		release()
	}
	stop()
	if cause := context.Cause(work); err != nil && (errors.Is(cause, errLeaseLost) || errors.Is(cause, errCanceled)) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	if err != nil {
		return h.chunkFailed(ctx, d, c, err, log)
	}
	log.Info("transcode chunk done", "seconds", time.Since(start).Seconds())
	return h.advance(ctx, p, log)
}

// runChunk encodes piece c into a work directory, uploads it under the
// plan's prefix and records it done.
func (h *Handler) runChunk(ctx context.Context, p ChunkPayload, plan *db.Plan, spec *chunkSpec, c *db.Chunk, input string,
	log *slog.Logger) error {
	dir, err := os.MkdirTemp(h.TempDir, "lectern-chunk-")
	if err != nil {
		return setupIfMissing(fmt.Errorf("make work directory: %w", err))
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("remove work directory", "dir", dir, "error", err)
		}
	}()
	durMS := spec.Source.DurationMS
	if c.Kind == db.ChunkVideo {
		durMS = int64(float64(c.Segs) * spec.segSeconds() * 1000)
	}
	limit := h.timeLimit(durMS)
	ctx, cancel := context.WithTimeoutCause(ctx, limit, &TimeoutError{Limit: limit})
	defer cancel()
	wctx, kick, stopWatch := h.watchdog(ctx)
	var res *chunkResult
	if c.Kind == db.ChunkAudio {
		res, err = h.encodeAudioPublishing(wctx, p, plan, spec, c, input, dir, kick, log)
	} else {
		res, err = h.Pipeline.encodeChunk(wctx, spec, c, input, dir, func(float64) { kick() })
	}
	stopWatch()
	if err == nil {
		err = h.upload(ctx, dir, plan.Prefix)
	}
	var te *TimeoutError
	if err != nil && !errors.As(err, &te) && errors.As(context.Cause(ctx), &te) {
		err = fmt.Errorf("%w: %w", te, err)
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	err = h.DB.FinishChunk(ctx, c, string(b), func(done, total int) float64 {
		return float64(int(float64(done)/float64(total)*encodeShare*10)) / 10
	})
	if lectern.ErrorCode(err) == lectern.ECONFLICT {
		return errLeaseLost
	}
	return err
}

// chunkFailed records a failed piece and returns what the queue should
// see: nil when there is nothing to retry, the error for the queue to
// retry the task (which claims the piece again when it is due), or
// ErrSkipRetry when the piece, and with it the lesson, failed for good.
func (h *Handler) chunkFailed(ctx context.Context, d Delivery, c *db.Chunk, err error, log *slog.Logger) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	switch {
	case errors.Is(err, errLeaseLost), errors.Is(err, errStale):
		log.Info("transcode chunk stopped: its plan was replaced or its lease taken over", "error", err)
		return nil
	case errors.Is(err, errCanceled):
		log.Info("transcode chunk stopped: canceled by an admin")
		return nil
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The worker is shutting down: the piece is free at once.
		if _, rerr := h.DB.ReleaseChunk(bctx, c); rerr != nil {
			log.Warn("release transcode chunk", "error", rerr)
		}
		log.Info("transcode chunk interrupted: handed back", "error", err)
		return err
	}
	kind, reason := lectern.FailureExhausted, ""
	switch {
	case IsBadInput(err):
		kind, reason = lectern.FailureRefused, lectern.ErrorMessage(err)
	case IsSetup(err):
		kind, reason = lectern.FailureSetup, fmt.Sprintf("A problem on the server stopped processing (%s). An admin must fix the server, then retry.", summary(err))
	case c.Tries >= c.MaxTries:
		reason = fmt.Sprintf("Processing failed after %d tries of the part from %s: %s", c.Tries,
			clock(time.Duration(c.StartSeg)*SegmentSeconds*time.Second), summary(err))
	}
	if reason != "" {
		log.Warn("transcode chunk failed for good; the lesson fails", "reason", reason, "error", err)
		ferr := h.DB.FailChunk(bctx, c.JobID, c.Index, c.Token, kind, reason, logTail(err))
		if ferr != nil && lectern.ErrorCode(ferr) != lectern.ECONFLICT {
			log.Error("record transcode chunk failure", "error", ferr)
			return ferr
		}
		return fmt.Errorf("%w: %s: %w", ErrSkipRetry, kind, err)
	}
	retryAt := time.Now().Add(h.retryDelay()(d.Retried, err))
	log.Warn("transcode chunk failed; retrying", "retry_at", retryAt, "error", err)
	if rerr := h.DB.RetryChunk(bctx, c, retryReason(err), retryAt); rerr != nil {
		log.Warn("record transcode chunk retry", "error", rerr)
		if lectern.ErrorCode(rerr) == lectern.ECONFLICT {
			return nil
		}
	}
	return err
}

// advance publishes what the plan of p allows now: the playable output
// once the opening chunk and its audio are stored, the finished one once
// every piece is.
func (h *Handler) advance(ctx context.Context, p ChunkPayload, log *slog.Logger) error {
	plan, chunks, err := h.DB.FindPlan(ctx, p.JobID)
	if err != nil {
		return err
	}
	var spec chunkSpec
	if err := jsonUnmarshal(plan.Spec, &spec); err != nil {
		return err
	}
	out, playlists, changed, images, complete, err := stitch(&spec, chunks)
	if err != nil {
		return h.failPlan(ctx, p, err, log)
	}
	if complete {
		return h.publishPlan(ctx, p, plan, &spec, out, playlists, changed, images, log)
	}
	if plan.PlayableAt != nil || !openingDone(chunks) {
		return nil
	}
	// One delivery writes the playable playlists: the one publishing the
	// finished plan must know whether to wait for it.
	if claimed, err := h.DB.ClaimPlayable(ctx, p.JobID); err != nil || !claimed {
		return err
	}
	if err := h.uploadPlaylists(ctx, plan.Prefix, out, playlists); err != nil {
		return err
	}
	prev, err := h.DB.PublishPlayable(ctx, p.JobID, renditionsOf(out), out.DurationMS)
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		return nil // published meanwhile, or the plan is dead
	default:
		return fmt.Errorf("publish playable output: %w", err)
	}
	h.dropReplaced(ctx, prev, plan.Prefix, log)
	log.Info("transcode playable: opening chunk and its audio stored", "output", plan.Prefix)
	return nil
}

// openingDone reports whether the opening chunk is done and the audio
// stored as far as it goes (the audio piece stores its segments as it
// runs).
func openingDone(chunks []db.Chunk) bool {
	opening := -1
	for _, c := range chunks {
		if c.Kind == db.ChunkVideo && c.StartSeg == 0 {
			if c.State != db.ChunkDone {
				return false
			}
			opening = c.Segs
		}
	}
	for _, c := range chunks {
		if c.Kind == db.ChunkAudio && c.State != db.ChunkDone && c.StoredSegs < opening {
			return false
		}
	}
	return opening >= 0
}

// failPlan fails a plan whose pieces do not stitch.
func (h *Handler) failPlan(ctx context.Context, p ChunkPayload, err error, log *slog.Logger) error {
	log.Error("transcode chunks do not stitch", "error", err)
	reason := "A problem on the server stopped processing (" + summary(err) + "). An admin must fix the server, then retry."
	ferr := h.DB.FailPlan(ctx, p.JobID, lectern.FailureSetup, reason)
	if ferr != nil && lectern.ErrorCode(ferr) != lectern.ECONFLICT {
		return ferr
	}
	return fmt.Errorf("%w: %w", ErrSkipRetry, err)
}

// uploadPlaylists stores the media playlists and the master playlist.
func (h *Handler) uploadPlaylists(ctx context.Context, prefix string, out *Output, playlists map[string]string) error {
	files := map[string]string{MasterPlaylist: masterPlaylist(out)}
	for name, body := range playlists {
		files[name] = body
	}
	for name, body := range files {
		if _, err := h.Storage.Put(ctx, prefix+name, strings.NewReader(body)); err != nil {
			return &StorageError{Op: "upload playlist", Err: err}
		}
	}
	return nil
}

// publishPlan makes the finished plan the lesson's output: playlists with
// every segment as written, the images, then the publication (fenced on
// the plan's lease, so only one delivery publishes).
func (h *Handler) publishPlan(ctx context.Context, p ChunkPayload, plan *db.Plan, spec *chunkSpec, out *Output,
	playlists map[string]string, changed []changedFrame, images *chunkImages, log *slog.Logger) error {
	// A delivery publishing the plan playable writes estimated playlists:
	// unless this one takes that over, wait until it has published (or
	// died), so that the final playlists land last.
	claimed, err := h.DB.ClaimPlayable(ctx, p.JobID)
	if err != nil {
		return err
	}
	for wait := time.Now().Add(playableWait); !claimed && time.Now().Before(wait); {
		l, err := h.DB.FindLessonByID(ctx, p.LessonID)
		if err != nil || l.OutputPrefix == plan.Prefix {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	dir, err := os.MkdirTemp(h.TempDir, "lectern-images-")
	if err != nil {
		return setupIfMissing(fmt.Errorf("make work directory: %w", err))
	}
	defer os.RemoveAll(dir)
	// The chunks wrote the images from their own decode, and stored them.
	if err := images.fetch(ctx, func(ctx context.Context, name string) ([]byte, error) {
		return h.readObject(ctx, plan.Prefix+chunkImagesDir+"/"+name)
	}); err != nil {
		if again, _, ferr := h.DB.FindPlan(ctx, p.JobID); ferr == nil && again.FinishedAt != nil {
			return nil // published meanwhile by another delivery, which removed the images
		}
		return &StorageError{Op: "read chunk images", Err: err}
	}
	im, err := writeChunkImages(&spec.Source, images, dir)
	if err == nil {
		err = h.upload(ctx, dir, plan.Prefix)
	}
	if err == nil {
		err = h.uploadPlaylists(ctx, plan.Prefix, out, playlists)
	}
	if err != nil {
		return err
	}
	prev, err := h.DB.PublishLesson(ctx, p.LessonID, p.Attempt, db.Publication{
		JobID: p.JobID, LeaseToken: plan.LeaseToken, OutputPrefix: plan.Prefix,
		Renditions: renditionsOf(out), Poster: im.Poster, Thumbnails: im.Thumbnails, DurationMS: out.DurationMS,
		Chapters: spec.Source.Chapters, SuggestedChapters: sceneStarts(slideChanges(sortFrames(changed), out.DurationMS)), ASRLang: h.ASRLang,
	})
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		return nil // published by another delivery, or replaced
	default:
		return fmt.Errorf("publish: %w", err)
	}
	if err := h.DB.FinishPlan(context.WithoutCancel(ctx), p.JobID); err != nil {
		log.Warn("mark transcode plan finished", "error", err)
	}
	h.deletePrefix(ctx, plan.Prefix+chunkImagesDir+"/", log)
	h.dropReplaced(ctx, prev, plan.Prefix, log)
	log.Info("transcode published", "prefix", plan.Prefix, "renditions", len(out.Renditions), "duration_ms", out.DurationMS,
		"chunks", plan.Chunks)
	if h.ASRLang != "" {
		h.enqueueCaptions(ctx, TranscodePayload{LessonID: p.LessonID, JobID: p.JobID, Attempt: p.Attempt}, log)
	}
	return nil
}

// publishIfDone publishes the plan of p when all its pieces are done but
// no live delivery is publishing it (the reconciler's publish task).
func (h *Handler) publishIfDone(ctx context.Context, p ChunkPayload, log *slog.Logger) error {
	_, chunks, err := h.DB.FindPlan(ctx, p.JobID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if c.State != db.ChunkDone {
			return nil // others are at work
		}
	}
	return h.advance(ctx, p, log)
}

// dropReplaced deletes the output a publication replaced.
func (h *Handler) dropReplaced(ctx context.Context, prev, prefix string, log *slog.Logger) {
	if prev == "" || prev == prefix {
		return
	}
	h.deletePrefix(ctx, prev, log)
	if err := h.DB.ForgetOutput(context.WithoutCancel(ctx), prev); err != nil {
		log.Warn("forget replaced output", "prefix", prev, "error", err)
	}
}

// readObject reads the whole object under key.
func (h *Handler) readObject(ctx context.Context, key string) ([]byte, error) {
	r, err := h.Storage.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// sortFrames orders the changed frames the chunks found by time.
func sortFrames(fs []changedFrame) []changedFrame {
	slices.SortFunc(fs, func(a, b changedFrame) int { return cmp.Compare(a.atMS, b.atMS) })
	return fs
}
