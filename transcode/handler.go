package transcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Bookkeeping of a running transcode.
const (
	// progressEvery is the least time between two writes of a job's percent.
	progressEvery = 2 * time.Second
	// Share of the job's percent given to encoding; images and upload
	// take the rest, and publishing makes it 100.
	encodeShare   = 90
	imagesDone    = 95
	uploadedShare = 99
	// uploadParallel is how many files are uploaded at once.
	uploadParallel = 4
	// bookkeepingTimeout bounds the database writes made after a failure,
	// which run even when the task's own context has ended.
	bookkeepingTimeout = 30 * time.Second
	// maxReasonLen caps, in characters, the technical detail put into a
	// teacher's reason.
	maxReasonLen = 300
)

// errStale means the attempt was replaced by a newer upload (or the lesson
// deleted) while it ran: there is nothing left for it to do.
var errStale = errors.New("transcode attempt is stale")

// errLeaseLost means another delivery of the same job took its lease (this
// worker was paused or cut off past the lease, and the job was given to
// another): this delivery stops and writes nothing more.
var errLeaseLost = errors.New("transcode lease taken over by another delivery")

// Handler runs transcode tasks (jobs.TypeTranscode): it fetches a lesson's source from
// storage into a temporary directory, probes, encodes and makes images
// with Pipeline, uploads the output under the attempt's own prefix and
// publishes it with one conditional update (see db.PublishLesson), then
// deletes the output it replaced. Bad input and a server that is not set
// up to transcode fail the job at once; a try that runs out of time is
// retried once; anything else leaves the job retrying until its last try
// (see failed).
type Handler struct {
	DB       *db.DB
	Storage  lectern.Storage
	Pipeline *Pipeline
	// Logger receives one line per transcode outcome; nil discards.
	Logger *slog.Logger
	// TempDir is where each task makes (and always removes) its working
	// directory; "" is os.TempDir().
	TempDir string
	// Host names this worker in the job's worker_host; "" is the hostname.
	Host string
	// HeartbeatEvery is how often a running job's heartbeat_at is stamped
	// (and a cancel by an admin noticed); 0 is DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// StallTimeout is how long ffmpeg may report no progress before it is
	// killed and the attempt retried; 0 is DefaultStallTimeout.
	StallTimeout time.Duration
	// Metrics counts outcomes and durations; nil records nothing.
	Metrics *Metrics
	// TimeLimit is how long a try of a recording of the given duration
	// may take before it is killed; nil is Timeout.
	TimeLimit func(durationMS int64) time.Duration
	// RetryDelay must be the worker's retry delay: the handler tells
	// people when the next try starts with it. Nil is RetryDelay.
	RetryDelay RetryDelayFunc
	// ASRLang, when set, gives every published lesson automatic captions
	// in that language: the publication records the job (so the
	// reconciler can enqueue it should this worker die now), then the
	// task goes on the captions queue through Captions.
	ASRLang  string
	Captions Enqueuer
	// ChunkSeconds, when positive, splits the encode of a recording
	// longer than one and a half chunks into chunks of about this many
	// seconds of video plus one audio piece, each its own task on Chunks
	// (see chunks.go); 0 encodes every recording in one run.
	ChunkSeconds int
	Chunks       Enqueuer
	// ChunkDeadline is how long a chunk's lease may go unrenewed before
	// another worker takes the chunk; 0 is three heartbeats.
	ChunkDeadline time.Duration
	// Sources keeps the recordings of the plans this worker works on;
	// nil downloads the recording for every chunk.
	Sources *SourceCache
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) host() string {
	if h.Host != "" {
		return h.Host
	}
	name, _ := os.Hostname()
	return name
}

// ProcessTranscode runs delivery d of the transcode p. It returns nil when
// the attempt is done or stale, an error wrapping ErrSkipRetry when the
// job failed for good (or the payload is malformed), and any other error
// for the queue to retry with backoff, the job then retrying with the
// reason and the time of its next try.
func (h *Handler) ProcessTranscode(ctx context.Context, p TranscodePayload, d Delivery) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrSkipRetry, err)
	}
	ctx = withDelivery(ctx, d)
	log := h.logger().With("lesson", p.LessonID, "attempt", p.Attempt, "job", p.JobID)
	// A task ID the reconciler replaced (its lease expired) is refused;
	// outside a queue (tests, tools) there is none to check.
	lease, err := h.DB.TakeLease(ctx, p.LessonID, p.Attempt, p.JobID, d.TaskID, h.host())
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		log.Info("transcode skipped: attempt replaced, finished, lesson deleted or task replaced", "reason", err)
		return nil
	default:
		return fmt.Errorf("mark transcoding: %w", err)
	}
	log = log.With("output", lease.Prefix)
	log.Info("transcode started")
	start := time.Now()
	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeats := h.heartbeat(work, lease, cancel, log)
	err = h.transcode(work, p, lease, log)
	stopBeats()
	if cause := context.Cause(work); err != nil && (errors.Is(cause, errLeaseLost) || errors.Is(cause, errCanceled)) && !errors.Is(err, cause) {
		// The step cut short may report only a canceled context.
		err = fmt.Errorf("%w: %w", cause, err)
	}
	outcome := OutcomeSucceeded
	if err != nil {
		err, outcome = h.failed(ctx, d, p, lease, err, log)
		// Whatever this delivery uploaded is no one's now (unless its
		// lease is still held: then the reconciler's sweep removes it once
		// the lease is taken back).
		h.discardOutput(ctx, lease.Prefix, log)
	}
	h.Metrics.observe(outcome, time.Since(start))
	return err
}

// transcode runs one attempt from source to publication.
func (h *Handler) transcode(ctx context.Context, p TranscodePayload, lease *db.Lease, log *slog.Logger) error {
	lesson, err := h.DB.FindLessonByID(ctx, p.LessonID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && lesson.Attempt != p.Attempt) {
		return errStale
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(h.TempDir, "lectern-transcode-")
	if err != nil {
		// A work directory that is missing or not the worker's to write
		// is the server's set-up; a full disk may pass.
		return setupIfMissing(fmt.Errorf("make work directory: %w", err))
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("remove work directory", "dir", dir, "error", err)
		}
	}()
	input := filepath.Join(dir, "source")
	if err := h.download(ctx, lesson.SourceKey, input); err != nil {
		return err
	}
	src, err := h.Pipeline.Probe(ctx, input)
	if err != nil {
		return err
	}
	if chunked, err := h.planChunked(ctx, p, lease, src, input, log); chunked || err != nil {
		return err
	}
	limit := h.timeLimit(src.DurationMS)
	ctx, cancel := context.WithTimeoutCause(ctx, limit, &TimeoutError{Limit: limit})
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return setupIfMissing(fmt.Errorf("make output directory: %w", err))
	}
	pub, err := h.produce(ctx, p, lease, src, input, out, stop, log)
	if err == nil {
		err = h.publish(ctx, p, lease, out, pub, log)
	}
	// Whatever step the deadline cut short (ffmpeg, or an upload that
	// reports only a canceled context), the try ran out of time.
	var te *TimeoutError
	if err != nil && !errors.As(err, &te) && errors.As(context.Cause(ctx), &te) {
		err = fmt.Errorf("%w: %w", te, err)
	}
	return err
}

// download copies the object under key into the file path.
func (h *Handler) download(ctx context.Context, key, path string) error {
	return downloadObject(ctx, h.Storage, key, path)
}

// downloadObject copies the recording under key in st into the file path.
func downloadObject(ctx context.Context, st lectern.Storage, key, path string) error {
	if key == "" {
		return lectern.Errorf(lectern.EINVALID, "No recording has been uploaded for this lesson")
	}
	r, err := st.Open(ctx, key, 0, -1)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.EINVALID, "The uploaded recording is missing; please upload it again")
	}
	if err != nil {
		return &StorageError{Op: "open source", Err: err}
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	if _, err := io.Copy(f, storeReader{r}); err != nil {
		f.Close()
		return fmt.Errorf("download source: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	return nil
}

// produce encodes the ladder and makes the images into out, reporting
// progress on the job; stop ends the work early when a newer upload has
// canceled the job.
func (h *Handler) produce(ctx context.Context, p TranscodePayload, lease *db.Lease, src *Source, input, out string,
	stop context.CancelCauseFunc, log *slog.Logger) (db.Publication, error) {
	prog := &progressReporter{db: h.DB, lease: lease, stop: stop, log: log}
	// A hung ffmpeg (no progress for StallTimeout) is killed; the stall
	// error is transient, so the queue tries the attempt again.
	wctx, kick, stopWatch := h.watchdog(ctx)
	output, err := h.Pipeline.Encode(wctx, src, input, out, PlanLadder(src), func(pct float64) {
		kick()
		prog.report(ctx, math.Round(pct*encodeShare/100*10)/10, false)
	})
	stopWatch()
	if err != nil {
		return db.Publication{}, err
	}
	im, err := h.Pipeline.Images(ctx, src, input, out)
	if err != nil {
		return db.Publication{}, err
	}
	prog.report(ctx, imagesDone, true)
	return db.Publication{
		JobID:        p.JobID,
		LeaseToken:   lease.Token,
		OutputPrefix: lease.Prefix,
		Renditions:   renditionsOf(output),
		Poster:       im.Poster,
		Thumbnails:   im.Thumbnails,
		DurationMS:   output.DurationMS,
		Chapters:     src.Chapters,
		// The slide changes a teacher may take as chapters.
		SuggestedChapters: sceneStarts(output.Scenes),
		ASRLang:           h.ASRLang,
	}, nil
}

// renditionsOf lists what Encode wrote as the lesson shows it.
func renditionsOf(out *Output) lectern.Renditions {
	rs := lectern.Renditions{}
	for _, r := range out.Renditions {
		kind := lectern.RenditionVideo
		if r.Kind == KindAudio {
			kind = lectern.RenditionAudio
		}
		rs = append(rs, lectern.Rendition{Name: r.Name, Kind: kind, Width: r.Width, Height: r.Height,
			FrameRate: r.FrameRate, Codecs: r.Codecs, Bandwidth: r.Bandwidth, AverageBandwidth: r.AverageBandwidth})
	}
	return rs
}

// publish uploads out under the delivery's own prefix and flips the
// lesson to it, fenced on the delivery's lease, then deletes the output it
// replaced. Nothing is deleted before: the prefix is this delivery's
// alone, so no other delivery's output, published or not, is touched. A
// delivery that lost its lease or whose attempt went stale leaves its
// upload to ProcessTranscode to discard.
func (h *Handler) publish(ctx context.Context, p TranscodePayload, lease *db.Lease, out string, pub db.Publication, log *slog.Logger) error {
	if err := h.upload(ctx, out, pub.OutputPrefix); err != nil {
		return err
	}
	if _, err := h.DB.RenewLease(ctx, lease, ptr(float64(uploadedShare))); lectern.ErrorCode(err) == lectern.ECONFLICT {
		return errLeaseLost
	}
	prev, err := h.DB.PublishLesson(ctx, p.LessonID, p.Attempt, pub)
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		return errStale
	default:
		return fmt.Errorf("publish: %w", err)
	}
	if prev != "" && prev != pub.OutputPrefix {
		// The lesson no longer points at it, and its delivery finished
		// long ago: nothing can publish it again.
		h.deletePrefix(ctx, prev, log)
		if err := h.DB.ForgetOutput(context.WithoutCancel(ctx), prev); err != nil {
			log.Warn("forget replaced output", "prefix", prev, "error", err)
		}
	}
	log.Info("transcode published", "prefix", pub.OutputPrefix, "renditions", len(pub.Renditions), "duration_ms", pub.DurationMS)
	if pub.ASRLang != "" {
		h.enqueueCaptions(ctx, p, log)
	}
	return nil
}

// enqueueCaptions enqueues the automatic captions of a published attempt.
// A failure is only logged: the job is in the database, and the
// reconciler enqueues it on its next pass.
func (h *Handler) enqueueCaptions(ctx context.Context, p TranscodePayload, log *slog.Logger) {
	if h.Captions == nil {
		return
	}
	err := h.Captions.EnqueueRecognize(context.WithoutCancel(ctx), RecognizePayload{LessonID: p.LessonID, Attempt: p.Attempt})
	if err != nil {
		log.Warn("enqueue automatic captions; the reconciler will", "error", err)
	}
}

// discardOutput deletes this delivery's output prefix when the database
// says it is dead (its lease gone, no lesson publishing it), even when
// ctx has ended; the reconciler's sweep deletes what is left.
func (h *Handler) discardOutput(ctx context.Context, prefix string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	dead, err := h.DB.OutputDead(ctx, prefix)
	if err != nil || !dead {
		if err != nil {
			log.Warn("check unpublished output", "prefix", prefix, "error", err)
		}
		return
	}
	if err := h.Storage.DeletePrefix(ctx, prefix); err != nil {
		log.Warn("delete unpublished output", "prefix", prefix, "error", err)
		return
	}
	if err := h.DB.ForgetOutput(ctx, prefix); err != nil {
		log.Warn("forget unpublished output", "prefix", prefix, "error", err)
	}
}

// deletePrefix removes an output nothing points at, even when ctx has
// ended. A failure leaves unreachable files behind, which is logged but
// does not fail the task.
func (h *Handler) deletePrefix(ctx context.Context, prefix string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := h.Storage.DeletePrefix(ctx, prefix); err != nil {
		log.Warn("delete unused output", "prefix", prefix, "error", err)
	}
}

// upload stores every file under dir at prefix + its slash-separated path,
// a few at a time; the first failure stops the rest.
func (h *Handler) upload(ctx context.Context, dir, prefix string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("list output: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(uploadParallel, len(files)) {
		wg.Go(func() {
			for path := range work {
				if err := h.uploadFile(ctx, dir, path, prefix); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, path := range files {
		select {
		case work <- path:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("upload output: %w", err)
	}
	return nil
}

func (h *Handler) uploadFile(ctx context.Context, dir, path, prefix string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err = h.Storage.Put(ctx, prefix+filepath.ToSlash(rel), f); err != nil {
		return &StorageError{Op: "upload output", Err: err}
	}
	return nil
}

// failed records err on the job and returns what the queue should see,
// with the outcome for the metrics. A failure is one of:
//
//   - refused (bad input): the job fails at once, nothing to retry;
//   - setup (a *SetupError): the job fails at once, an admin must fix the
//     server and retry;
//   - timeout (the wall-clock limit): tried once more if it was the first
//     try, else the job fails;
//   - anything else passes, perhaps: the job becomes retrying until its
//     last try, then fails as exhausted.
//
// The job's own count of tries decides which try is the last, together
// with the queue's, since the queue also spends a retry on a task whose
// worker died.
func (h *Handler) failed(ctx context.Context, d Delivery, p TranscodePayload, lease *db.Lease, err error, log *slog.Logger) (error, string) {
	if errors.Is(err, errLeaseLost) {
		log.Warn("transcode stopped: another delivery took over its lease; this one wrote nothing more")
		return nil, OutcomeSuperseded
	}
	if errors.Is(err, errStale) {
		log.Info("transcode abandoned: a newer upload replaced it or the lesson was deleted")
		return nil, OutcomeStale
	}
	if errors.Is(err, errCanceled) {
		log.Info("transcode stopped: canceled by an admin")
		return nil, OutcomeCanceled
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The queue canceled the task: an admin's cancel, or the worker
		// shutting down, in which case the queue hands the task to
		// another worker and this try counts for nothing.
		if h.canceledMeanwhile(bctx, p.JobID) {
			log.Info("transcode stopped: canceled by an admin")
			return nil, OutcomeCanceled
		}
		// Released, the job is taken at once by the next delivery, and
		// the reconciler does not wait for a dead lease.
		if _, rerr := h.DB.ReleaseLease(bctx, lease); rerr != nil {
			log.Warn("release transcode lease", "error", rerr)
		}
		log.Info("transcode interrupted: handed back to the queue", "error", err)
		return err, OutcomeInterrupted
	}
	job, jerr := h.DB.FindJobByID(bctx, p.JobID)
	if jerr != nil {
		log.Warn("transcode failed; its job could not be read, so the queue retries it", "error", err, "job_error", jerr)
		return err, OutcomeRetried
	}
	f := tryFailure{err: err, tail: logTail(err), tries: job.Retries + 1, maxTries: job.MaxTries}
	retried := d.Retried
	if d.InQueue && retried >= d.MaxRetry {
		f.maxTries = f.tries // the queue will not run the task again
	}
	if !d.InQueue {
		retried = job.Retries
	}
	switch {
	case IsBadInput(err):
		reason := lectern.ErrorMessage(err)
		log.Info("transcode refused the input", "reason", reason)
		return h.failFor(bctx, p, lease, f, lectern.FailureRefused, reason, OutcomeRejected, log)
	case IsSetup(err):
		reason := fmt.Sprintf("A problem on the server stopped processing (%s). An admin must fix the server, then retry.", summary(err))
		log.Error("transcode failed: the server needs fixing, not retried", "error", err)
		return h.failFor(bctx, p, lease, f, lectern.FailureSetup, reason, OutcomeSetup, log)
	case isTimeout(ctx, err):
		reason := "Processing took too long: " + timeoutSummary(err) + "."
		if job.Retries > 0 || f.tries >= f.maxTries {
			log.Warn("transcode failed: it took too long, and may not be retried again", "tries", f.tries, "error", err)
			return h.failFor(bctx, p, lease, f, lectern.FailureTimeout, reason, OutcomeTimeout, log)
		}
		return h.retry(bctx, p, lease, f, retried, reason+" It is tried once more.", log)
	case f.tries >= f.maxTries:
		reason := fmt.Sprintf("Processing failed after %d tries: %s", f.tries, summary(err))
		log.Warn("transcode failed: no tries left", "tries", f.tries, "error", err)
		return h.failFor(bctx, p, lease, f, lectern.FailureExhausted, reason, OutcomeFailed, log)
	}
	return h.retry(bctx, p, lease, f, retried, retryReason(err), log)
}

// tryFailure is one failed try of a job.
type tryFailure struct {
	err error
	// tail is ffmpeg's log, for admins.
	tail string
	// tries counts this try; maxTries is the most the job may have.
	tries, maxTries int
}

// failFor fails the job for good with a failure of kind and returns what
// the queue should see: ErrSkipRetry, so that the queue does not run the
// task again whatever its own count says.
func (h *Handler) failFor(ctx context.Context, p TranscodePayload, lease *db.Lease, f tryFailure, kind lectern.JobFailure,
	reason, outcome string, log *slog.Logger) (error, string) {
	if stale := h.fail(ctx, p, lease, kind, reason, f.tail, log); stale {
		return nil, OutcomeStale
	}
	return fmt.Errorf("%w: %s: %w", ErrSkipRetry, kind, f.err), outcome
}

// retry records that the job waits for its next try, due when the worker
// will start it: RetryDelay with the arguments the queue passes it (the
// retries the queue counted, the error).
func (h *Handler) retry(ctx context.Context, p TranscodePayload, lease *db.Lease, f tryFailure, retried int,
	reason string, log *slog.Logger) (error, string) {
	retryAt := time.Now().Add(h.retryDelay()(retried, f.err))
	log.Warn("transcode failed; retrying", "try", f.tries, "max_tries", f.maxTries, "retry_at", retryAt, "error", f.err)
	err := h.DB.RetryTranscode(ctx, p.LessonID, p.Attempt, p.JobID, lease.Token, reason, f.tail, retryAt)
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		// Canceled by an admin, replaced, or taken over meanwhile:
		// nothing to retry.
		log.Info("transcode not retried: canceled, replaced or taken over meanwhile", "reason", err)
		return nil, OutcomeStale
	default:
		log.Warn("record transcode retry", "error", err)
	}
	return f.err, OutcomeRetried
}

func (h *Handler) timeLimit(durationMS int64) time.Duration {
	if h.TimeLimit != nil {
		return h.TimeLimit(durationMS)
	}
	return Timeout(durationMS)
}

func (h *Handler) retryDelay() RetryDelayFunc {
	if h.RetryDelay != nil {
		return h.RetryDelay
	}
	return RetryDelay
}

// isTimeout reports whether the try ran out of time: its recording's
// wall-clock limit, or the task's own deadline.
func isTimeout(ctx context.Context, err error) bool {
	var te *TimeoutError
	return errors.As(err, &te) || errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// timeoutSummary says how long was allowed, when known.
func timeoutSummary(err error) string {
	var te *TimeoutError
	if errors.As(err, &te) {
		return fmt.Sprintf("it ran for more than the %s allowed for a recording of this length", te.Limit)
	}
	return "it ran for longer than a transcode may"
}

// fail fails the attempt for good; it reports whether the attempt turned
// out to be stale.
func (h *Handler) fail(ctx context.Context, p TranscodePayload, lease *db.Lease, kind lectern.JobFailure, reason, tail string, log *slog.Logger) (stale bool) {
	err := h.DB.FailTranscode(ctx, p.LessonID, p.Attempt, p.JobID, lease.Token, kind, reason, tail)
	switch lectern.ErrorCode(err) {
	case "":
		return false
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		return true
	}
	log.Error("record transcode failure", "error", err)
	return false
}

// logTail is the ffmpeg log carried by err, if any.
func logTail(err error) string {
	var re *RunError
	if errors.As(err, &re) {
		return re.Stderr
	}
	return ""
}

// retryReason is the reason a job retrying after err shows.
func retryReason(err error) string {
	var se *StorageError
	if errors.As(err, &se) {
		r := se.reason()
		return strings.ToUpper(r[:1]) + r[1:] + "; Lectern will try again."
	}
	return summary(err)
}

// summary is err's first line, shortened, for a reason shown to people; a
// storage failure is said in plain words, its detail left to the log.
func summary(err error) string {
	var se *StorageError
	if errors.As(err, &se) {
		return se.reason()
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if r := []rune(s); len(r) > maxReasonLen {
		s = string(r[:maxReasonLen]) + "…"
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// progressReporter writes a job's percent at most every progressEvery,
// fenced on the delivery's lease, and stops the work when it finds the job
// canceled (by a newer upload or an admin) or its lease taken over.
type progressReporter struct {
	db    *db.DB
	lease *db.Lease
	stop  context.CancelCauseFunc
	log   *slog.Logger

	last time.Time
}

// report records pct; force writes it whatever the time since the last write.
func (r *progressReporter) report(ctx context.Context, pct float64, force bool) {
	now := time.Now()
	if !force && now.Sub(r.last) < progressEvery {
		return
	}
	r.last = now
	state, err := r.db.RenewLease(ctx, r.lease, &pct)
	switch {
	case state == lectern.JobCanceled:
		r.stop(errStale)
	case lectern.ErrorCode(err) == lectern.ECONFLICT:
		r.stop(errLeaseLost)
	case err != nil:
		r.log.Debug("record transcode progress", "error", err)
	}
}
