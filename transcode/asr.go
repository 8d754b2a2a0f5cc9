package transcode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/captions"
	"github.com/lectern/lectern/db"
)

// maxRecognizedBytes caps the recognizer's output: an hour of dense
// captions is about 100 KB.
const maxRecognizedBytes = 8 << 20

// Files of a recognition's working directory.
const (
	asrSourceFile = "source"
	asrAudioFile  = "audio.wav"
	// asrOutputFile is {output}: WebVTT or SubRip, whatever its name says.
	asrOutputFile = "captions.vtt"
)

// errNoSpeech means the recognizer wrote captions without a single cue.
var errNoSpeech = errors.New("the recognizer heard no speech in this recording")

// RecognizeHandler runs automatic captions tasks (jobs.TypeRecognize): it fetches the lesson's
// recording, decodes its sound to a 16 kHz mono WAV with Pipeline (under
// the same allowlists, limits and sandbox as a transcode), runs
// Recognizer on it (confined the same way: minimal environment, limits,
// bubblewrap when the pipeline has it), reads the WebVTT or SubRip it
// writes with the captions package, and saves it as a draft caption track
// for the course's teachers to review (db.SaveRecognizedCaptions). A
// track made by a person is never replaced: the job is skipped instead.
// A failed try is retried until the job's lectern.MaxASRTries, then the
// job fails with a reason a teacher can read; the lesson itself is never
// touched.
type RecognizeHandler struct {
	DB         *db.DB
	Storage    lectern.Storage
	Pipeline   *Pipeline
	Recognizer *Recognizer
	// Logger receives one line per outcome; nil discards.
	Logger *slog.Logger
	// TempDir is where each task makes (and always removes) its working
	// directory; "" is os.TempDir().
	TempDir string
	// TimeLimit is how long a try on a recording of the given duration
	// may take; nil is RecognizeTimeout.
	TimeLimit func(durationMS int64) time.Duration
}

func (h *RecognizeHandler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ProcessRecognize runs delivery d of the automatic captions p. It
// returns nil when the captions are saved, skipped or stale, an error
// wrapping ErrSkipRetry when the job failed for good, and any other error
// for the queue to retry.
func (h *RecognizeHandler) ProcessRecognize(ctx context.Context, p RecognizePayload, d Delivery) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrSkipRetry, err)
	}
	log := h.logger().With("lesson", p.LessonID, "attempt", p.Attempt)
	job, err := h.DB.MarkRecognizing(ctx, p.LessonID, p.Attempt)
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ECONFLICT, lectern.ENOTFOUND:
		log.Info("automatic captions skipped: replaced, finished or lesson deleted", "reason", err)
		return nil
	default:
		return fmt.Errorf("mark recognizing: %w", err)
	}
	human, err := h.DB.HasHumanCaptions(ctx, job.LessonID, job.Lang)
	if err != nil {
		return h.failed(ctx, d, job, err, log)
	}
	if human {
		log.Info("automatic captions skipped: a person's track exists", "lang", job.Lang)
		return h.settle(h.DB.SkipRecognition(ctx, job.LessonID, job.Attempt), log)
	}
	log.Info("automatic captions started", "try", job.Tries, "lang", job.Lang)
	start := time.Now()
	tr, skipped, err := h.recognize(ctx, job)
	switch {
	case err != nil:
		return h.failed(ctx, d, job, err, log)
	case skipped:
		log.Info("automatic captions not saved: a person's track appeared meanwhile", "lang", job.Lang)
	default:
		log.Info("automatic captions saved as a draft", "lang", tr.Lang, "version", tr.Version, "cues", tr.Cues,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// settle is what the queue sees after a bookkeeping write: nothing to
// retry when the job was replaced or finished meanwhile.
func (h *RecognizeHandler) settle(err error, log *slog.Logger) error {
	switch lectern.ErrorCode(err) {
	case "", lectern.ECONFLICT, lectern.ENOTFOUND:
		return nil
	}
	log.Warn("record automatic captions", "error", err)
	return err
}

// recognize runs one try in a working directory of its own.
func (h *RecognizeHandler) recognize(ctx context.Context, job *lectern.ASRJob) (*lectern.CaptionTrack, bool, error) {
	lesson, err := h.DB.FindLessonByID(ctx, job.LessonID)
	if err != nil {
		return nil, false, err
	}
	if lesson.Attempt != job.Attempt {
		return nil, false, badInput("A newer recording of this lesson was uploaded; its automatic captions follow once it is processed.")
	}
	dir, err := os.MkdirTemp(h.TempDir, "lectern-captions-")
	if err != nil {
		return nil, false, setupIfMissing(fmt.Errorf("make work directory: %w", err))
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, asrSourceFile)
	if err := downloadObject(ctx, h.Storage, lesson.SourceKey, input); err != nil {
		return nil, false, err
	}
	src, err := h.Pipeline.Probe(ctx, input)
	if err != nil {
		return nil, false, err
	}
	if src.Audio == nil {
		return nil, false, badInput("This recording has no sound to make captions from.")
	}
	limit := h.timeLimit(src.DurationMS)
	ctx, cancel := context.WithTimeoutCause(ctx, limit, &TimeoutError{Limit: limit})
	defer cancel()
	audio := filepath.Join(dir, asrAudioFile)
	if err := h.Pipeline.speechAudio(ctx, src, input, audio); err != nil {
		return nil, false, err
	}
	cues, err := h.runRecognizer(ctx, dir, audio, job.Lang, lesson.DurationMS)
	if err != nil {
		if errors.As(context.Cause(ctx), new(*TimeoutError)) {
			return nil, false, fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		return nil, false, err
	}
	return h.save(ctx, job, cues)
}

// runRecognizer runs the recognizer on audio and reads what it wrote.
func (h *RecognizeHandler) runRecognizer(ctx context.Context, dir, audio, lang string, durationMS int64) ([]captions.Cue, error) {
	output := filepath.Join(dir, asrOutputFile)
	rec := *h.Recognizer
	rec.Lang = lang
	bin, args, readable, err := rec.expand(audio, output)
	if err != nil {
		return nil, err
	}
	if _, err := h.Pipeline.run(ctx, command{op: "recognize", bin: bin, args: args, dir: dir,
		inputs: readable, memory: rec.Memory}); err != nil {
		return nil, err
	}
	f, err := os.Open(output)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("the recognizer wrote no captions file at {output}")
	}
	if err != nil {
		return nil, fmt.Errorf("read the recognizer's output: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecognizedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the recognizer's output: %w", err)
	}
	if len(data) > maxRecognizedBytes {
		return nil, fmt.Errorf("the recognizer's output is larger than %d MiB", maxRecognizedBytes>>20)
	}
	res, err := captions.Parse(data, captions.Options{DurationMS: durationMS})
	if err != nil {
		if isHeaderOnly(data) {
			return nil, errNoSpeech
		}
		return nil, fmt.Errorf("the recognizer's output is not WebVTT or SubRip: %s", lectern.ErrorMessage(err))
	}
	return res.Cues, nil
}

// isHeaderOnly reports whether data is a WebVTT file with no cue at all:
// what a recognizer writes for a recording without speech.
func isHeaderOnly(data []byte) bool {
	s := strings.TrimSpace(strings.TrimPrefix(string(data), "\uFEFF"))
	return strings.HasPrefix(s, "WEBVTT") && !strings.Contains(s, "-->")
}

// save stores the cues as the draft's new version.
func (h *RecognizeHandler) save(ctx context.Context, job *lectern.ASRJob, cues []captions.Cue) (*lectern.CaptionTrack, bool, error) {
	var vtt bytes.Buffer
	if err := captions.WriteVTT(&vtt, cues); err != nil {
		return nil, false, err
	}
	key := lectern.CaptionKey(job.LessonID, job.Lang, "asr-"+strconv.Itoa(job.Attempt)+"-"+randomHex())
	if _, err := h.Storage.Put(ctx, key, &vtt); err != nil {
		return nil, false, &StorageError{Op: "store captions", Err: err}
	}
	label := h.label(job.Lang)
	tr, skipped, err := h.DB.SaveRecognizedCaptions(ctx, job.Attempt, db.CaptionSave{LessonID: job.LessonID,
		Lang: job.Lang, ObjectKey: key, Cues: captions.SearchCues(cues), Label: &label, DefaultLabel: label})
	if err != nil || skipped {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
		defer cancel()
		if derr := h.Storage.Delete(dctx, key); derr != nil {
			h.logger().Warn("delete unused captions", "key", key, "error", derr)
		}
	}
	return tr, skipped, err
}

// label is the draft track's label in lang.
func (h *RecognizeHandler) label(lang string) string {
	if h.Recognizer.Label != "" && lang == h.Recognizer.Lang {
		return h.Recognizer.Label
	}
	return lang + " (automatic)"
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func (h *RecognizeHandler) timeLimit(durationMS int64) time.Duration {
	if h.TimeLimit != nil {
		return h.TimeLimit(durationMS)
	}
	return RecognizeTimeout(durationMS)
}

// failed records a failed try and returns what the queue should see: the
// job waits for its next try, or, when it has none left (or cannot
// succeed: no sound, no speech), fails for good with ErrSkipRetry.
func (h *RecognizeHandler) failed(ctx context.Context, d Delivery, job *lectern.ASRJob, err error, log *slog.Logger) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The worker is shutting down: the queue hands the task back.
		log.Info("automatic captions interrupted: handed back to the queue", "error", err)
		return err
	}
	reason := asrReason(err)
	final := IsBadInput(err) || errors.Is(err, errNoSpeech) || job.Tries >= job.MaxTries || (d.InQueue && d.Retried >= d.MaxRetry)
	if !final {
		log.Warn("automatic captions failed; retrying", "try", job.Tries, "max_tries", job.MaxTries, "error", err)
		if rerr := h.DB.RetryRecognition(bctx, job.LessonID, job.Attempt, reason+" Trying again."); rerr != nil {
			return h.settle(rerr, log)
		}
		return err
	}
	if !IsBadInput(err) && !errors.Is(err, errNoSpeech) {
		reason = fmt.Sprintf("Automatic captions failed after %d tries: %s", job.Tries, reason)
	}
	log.Warn("automatic captions failed", "tries", job.Tries, "error", err)
	if ferr := h.DB.FailRecognition(bctx, job.LessonID, job.Attempt, reason); ferr != nil {
		return h.settle(ferr, log)
	}
	return fmt.Errorf("%w: automatic captions: %w", ErrSkipRetry, err)
}

// asrReason says why a try failed, in a sentence a teacher can read.
func asrReason(err error) string {
	var (
		re *RunError
		te *TimeoutError
	)
	switch {
	case IsBadInput(err):
		return lectern.ErrorMessage(err)
	case errors.Is(err, errNoSpeech):
		return "The recognizer heard no speech in this recording."
	case errors.As(err, &te):
		return fmt.Sprintf("The speech recognizer ran for more than the %s allowed for a recording of this length.", te.Limit)
	case errors.As(err, &re) && re.Op == "recognize":
		if errors.Is(re.Err, os.ErrNotExist) || errors.Is(re.Err, os.ErrPermission) {
			return "The speech recognizer could not be started (" + re.Err.Error() + "); an admin must check LECTERN_ASR_COMMAND."
		}
		return "The speech recognizer failed (" + re.Err.Error() + ")" + lastLine(re.Stderr) + "."
	case errors.As(err, &re):
		return "The recording's sound could not be decoded (" + re.Err.Error() + ")" + lastLine(re.Stderr) + "."
	}
	return capitalize(summary(err)) + "."
}

// lastLine is the last non-empty line of a log, after ": ", shortened.
func lastLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	s := strings.TrimSpace(lines[len(lines)-1])
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return ": " + strings.TrimRight(s, ".")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.TrimRight(s[1:], ".")
}

// speechAudio decodes the recording's sound track into dst as what
// speech recognizers read: 16 kHz, mono, 16-bit PCM WAV.
func (p *Pipeline) speechAudio(ctx context.Context, src *Source, abs, dst string) error {
	args, err := p.speechAudioArgs(src, abs, dst)
	if err != nil {
		return err
	}
	_, err = p.run(ctx, command{op: "extract sound", bin: p.ffmpeg(), args: args, dir: filepath.Dir(dst)})
	return err
}

func (p *Pipeline) speechAudioArgs(src *Source, abs, dst string) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("extract sound: build ffmpeg arguments: %v", r)
		}
	}()
	a := p.input(src, abs).Get(strconv.Itoa(src.Audio.Index))
	out := a.Output(dst, ffmpeg.KwArgs{
		"ac": "1", "ar": "16000", "c:a": "pcm_s16le", "f": "wav",
		"map_metadata": "-1",
	})
	return out.GlobalArgs(imageGlobalArgs()...).GetArgs(), nil
}
