package transcode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lectern/lectern"
)

// IsBadInput reports whether err means the uploaded file itself is
// unusable: retrying cannot help and the error's message (see
// lectern.ErrorMessage) tells the teacher why. Every other error from this
// package is worth retrying.
func IsBadInput(err error) bool {
	var e *lectern.Error
	return errors.As(err, &e) && e.Code == lectern.EINVALID
}

func badInput(format string, args ...any) error {
	return lectern.Errorf(lectern.EINVALID, format, args...)
}

func damaged(reason string) error {
	return badInput("The file is damaged or incomplete: %s", reason)
}

// SetupError is a failure of the worker's own set-up, not of the file and
// not one that passes: ffmpeg or ffprobe missing or not executable, an
// encoder missing from the ffmpeg build, a work directory the worker may
// not write, a relative path handed to ffmpeg. No retry can fix it, so the
// job fails at once; an admin must fix the server, then retry.
type SetupError struct {
	// Err is what went wrong, often a *RunError.
	Err error
}

// Error implements the error interface.
func (e *SetupError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SetupError) Unwrap() error { return e.Err }

// IsSetup reports whether err is, or wraps, a *SetupError.
func IsSetup(err error) bool {
	var e *SetupError
	return errors.As(err, &e)
}

func setupErrorf(format string, args ...any) error {
	return &SetupError{Err: fmt.Errorf(format, args...)}
}

// setupIfMissing marks err as a SetupError when it says that a program,
// file or directory the worker relies on is missing or forbidden to it:
// retrying on the same machine cannot change that. Any other error (a
// full disk, too many processes) is returned as it is, to be retried.
func setupIfMissing(err error) error {
	if err == nil || IsSetup(err) {
		return err
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, exec.ErrDot) ||
		errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.ENOTDIR) {
		return &SetupError{Err: err}
	}
	return err
}

// missingEncoder reports whether ffmpeg's stderr says that an encoder
// Lectern asks for is not in its build.
func missingEncoder(stderr string) bool {
	return strings.Contains(stderr, "Unknown encoder") ||
		strings.Contains(stderr, "Encoder not found") ||
		strings.Contains(stderr, "not found for output stream")
}

// TimeoutError means a transcode ran past the wall-clock limit for its
// recording (see Timeout). It is retried at most once.
type TimeoutError struct {
	// Limit is the time the recording was allowed.
	Limit time.Duration
}

// Error implements the error interface.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("transcoding took longer than the %s allowed for this recording", e.Limit)
}

// StorageError is a failure of the media store (MinIO, S3, or the disk
// store) while a transcode read its source or wrote its output. It
// usually passes, so the job is retried. Its text carries the store's own
// error, with addresses and keys, for the log; the reason people read is
// plain words (see summary).
type StorageError struct {
	// Op is what the transcode was doing: "open source", "upload output", …
	Op string
	// Err is the store's error.
	Err error
}

// Error implements the error interface.
func (e *StorageError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StorageError) Unwrap() error { return e.Err }

// reason says what went wrong in words a teacher can read, without the
// store's address or error text.
func (e *StorageError) reason() string {
	if lectern.ErrorCode(e.Err) == lectern.ENOSPACE {
		return "the media store is full"
	}
	return "the media store could not be reached"
}

// storeReader marks the read errors of a stored object as StorageErrors,
// so that a download cut short is told from a full local disk.
type storeReader struct{ r io.Reader }

func (s storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &StorageError{Op: "read source", Err: err}
	}
	return n, err
}

// RunError is an ffmpeg or ffprobe run that failed for a reason other than
// the input (crashed, killed, disk full). It is transient: the job may be
// retried.
type RunError struct {
	// Op names the step, e.g. "encode" or "probe".
	Op string
	// Err is what exec reported, usually an *exec.ExitError.
	Err error
	// Stderr holds the last lines ffmpeg wrote, for the job's log.
	Stderr string
}

// Error implements the error interface.
func (e *RunError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Op, e.Err, e.Stderr)
}

// Unwrap returns the underlying exec error.
func (e *RunError) Unwrap() error { return e.Err }

// tailLines is how many lines of stderr a RunError keeps.
const tailLines = 20

// tailBuffer keeps the last bytes written to it, so that a chatty ffmpeg
// cannot grow memory while its last lines stay available for errors.
type tailBuffer struct {
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write implements io.Writer; it never fails.
func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.buf = t.buf[:0]
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns everything kept.
func (t *tailBuffer) String() string { return string(t.buf) }

// Lines returns the last n lines.
func (t *tailBuffer) Lines(n int) string {
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// classifyInputFailure maps what ffprobe or ffmpeg printed about an input
// it could not open to a bad-input error, or returns nil when the output
// does not blame the input. head holds the file's first bytes when known. Only fatal lines count: ffmpeg names the input
// URL ("file:/…: Invalid data found when processing input") when it gives
// up on it, while mere decoding hiccups along the way do not fail a job.
func classifyInputFailure(stderr string, head []byte, l Limits) error {
	if name, ok := notWhitelisted(stderr); ok {
		return unsupportedFormat(name)
	}
	if strings.Contains(stderr, "Number of streams exceeds max_streams") {
		return badInput("The file has more than %d tracks; the limit is %d", l.MaxStreams, l.MaxStreams)
	}
	if bad := invalidPictureSize(stderr, l); bad != nil {
		return bad
	}
	// ffprobe falls back on the file name's extension: random bytes named
	// .mp4 reach the MP4 demuxer too, but do not start like an MP4.
	if strings.Contains(stderr, "moov atom not found") && (head == nil || looksLikeMP4(head)) {
		return damaged("the recording was not finished properly (its index is missing)")
	}
	for line := range strings.SplitSeq(stderr, "\n") {
		if !strings.HasPrefix(line, "file:") {
			continue
		}
		switch {
		case strings.HasSuffix(line, "Invalid data found when processing input"):
			return damaged("no audio or video in a format we know could be read from it")
		case strings.HasSuffix(line, "End of file"):
			return damaged("it ends too early")
		}
	}
	return nil
}

// invalidPictureSize refuses a stream whose header claims a picture
// ffmpeg itself will not allocate ("Picture size 100000x100000 is
// invalid"): ffprobe then reports the container's own, harmless size and
// succeeds, but no frame of the stream can be decoded. A claim beyond l
// gets the reason any picture too large gets.
func invalidPictureSize(stderr string, l Limits) error {
	const prefix, suffix = "Picture size ", " is invalid"
	for line := range strings.SplitSeq(stderr, "\n") {
		i := strings.Index(line, prefix)
		if i < 0 || !strings.HasSuffix(line, suffix) {
			continue
		}
		w, h, _ := strings.Cut(strings.TrimSuffix(line[i+len(prefix):], suffix), "x")
		wi, err1 := strconv.Atoi(w)
		hi, err2 := strconv.Atoi(h)
		if err1 == nil && err2 == nil && wi > 0 && hi > 0 {
			if err := checkSize(wi, hi, l); err != nil {
				return err
			}
		}
		return damaged("the picture size cannot be read")
	}
	return nil
}

// looksLikeMP4 reports whether head starts with an ISO media box.
func looksLikeMP4(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid":
		return true
	}
	return false
}

// notWhitelisted finds the demuxer ffprobe detected but refused because of
// -format_whitelist; its log line reads "[name @ 0x…] Format not on whitelist".
func notWhitelisted(stderr string) (string, bool) {
	for line := range strings.SplitSeq(stderr, "\n") {
		if !strings.Contains(line, "Format not on whitelist") {
			continue
		}
		start := strings.IndexByte(line, '[')
		end := strings.Index(line, " @ ")
		if start < 0 || end <= start {
			return "", true
		}
		return line[start+1 : end], true
	}
	return "", false
}

// unsupportedFormat names a detected but refused demuxer in words a teacher
// knows, in the message the upload's head check gives too. Playlist-like
// formats get their own message: they are the ones that would make ffmpeg
// open other files or URLs.
func unsupportedFormat(demuxer string) error {
	switch demuxer {
	case "hls", "applehttp", "concat", "sdp", "dash", "ffmetadata", "rtsp", "rtp", "mpl2", "mpd":
		return lectern.PlaylistError()
	case "":
		return lectern.UnsupportedFileError("")
	}
	friendly := map[string]string{
		"asf":          "Windows Media",
		"rm":           "RealMedia",
		"mxf":          "MXF",
		"swf":          "Flash",
		"gif":          "GIF image",
		"png_pipe":     "PNG image",
		"jpeg_pipe":    "JPEG image",
		"webp_pipe":    "WebP image",
		"svg_pipe":     "SVG image",
		"image2":       "image",
		"srt":          "subtitles",
		"webvtt":       "subtitles",
		"ass":          "subtitles",
		"tty":          "text",
		"aiff":         "AIFF audio",
		"amr":          "AMR audio",
		"caf":          "Core Audio",
		"wv":           "WavPack audio",
		"dv":           "DV video",
		"h264":         "raw H.264 stream",
		"hevc":         "raw HEVC stream",
		"mpegvideo":    "raw MPEG video",
		"yuv4mpegpipe": "raw YUV video",
	}
	name := demuxer
	if f, ok := friendly[demuxer]; ok {
		name = f
	}
	return lectern.UnsupportedFileError(name)
}
