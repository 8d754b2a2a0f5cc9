// Package transcode turns an uploaded recording into what students watch:
// it probes the file under strict allowlists and refuses what is not a plain
// audio/video file with a reason a teacher can read, plans a ladder that
// never upscales, encodes every rung in one ffmpeg process into HLS (fMP4,
// ~4 s segments, 2 s GOP) with a master playlist written here, and makes a
// poster and scrubbing thumbnails.
//
// Everything works on local files in a job's temporary directory; fetching
// the source and publishing the output belong to the task handler.
package transcode

import (
	"log/slog"
	"os/exec"
	"time"
)

// Limits bounds what Probe accepts. A zero field takes its default from
// DefaultLimits.
type Limits struct {
	// MaxDuration is the longest recording accepted.
	MaxDuration time.Duration
	// MaxWidth and MaxHeight bound the displayed picture, in either
	// orientation (a portrait 4320×7680 video passes a 7680×4320 limit).
	MaxWidth, MaxHeight int
	// MaxFPS is the highest frame rate accepted.
	MaxFPS float64
	// MaxFrames is the most frames a recording may have: it bounds the
	// decoding a recording costs, whatever its length and rate.
	MaxFrames int64
	// MaxStreams is the most tracks (video, audio, subtitles, data) a
	// file may have.
	MaxStreams int
	// ProbeSize is how many bytes ffprobe and ffmpeg may read to identify the
	// format and streams.
	ProbeSize int64
}

// DefaultLimits returns the limits used for zero fields of Limits: 6 h,
// 7680×4320 (8K), 120 fps, 1,296,000 frames (6 h at 60 fps), 64 tracks,
// 64 MiB of probing.
func DefaultLimits() Limits {
	return Limits{
		MaxDuration: 6 * time.Hour,
		MaxWidth:    7680,
		MaxHeight:   4320,
		MaxFPS:      120,
		MaxFrames:   6 * 3600 * 60,
		MaxStreams:  64,
		ProbeSize:   64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MaxWidth <= 0 {
		l.MaxWidth = d.MaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = d.MaxHeight
	}
	if l.MaxFPS <= 0 {
		l.MaxFPS = d.MaxFPS
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.ProbeSize <= 0 {
		l.ProbeSize = d.ProbeSize
	}
	return l
}

// Pipeline runs ffprobe and ffmpeg. The zero value uses "ffmpeg" and
// "ffprobe" from PATH, DefaultLimits and no logging. A Pipeline is safe for
// concurrent use.
type Pipeline struct {
	// FFmpeg and FFprobe are the executables; empty means look up "ffmpeg"
	// and "ffprobe" on PATH.
	FFmpeg, FFprobe string
	// Limits bounds what Probe accepts.
	Limits Limits
	// Resources bounds each ffmpeg and ffprobe process.
	Resources Resources
	// Sandbox, when set, runs every ffmpeg and ffprobe without network
	// and with a reduced view of the file system (see DetectSandbox).
	Sandbox *Sandbox
	// SkipScenes turns off the search for slide changes in Encode (to
	// measure what it costs).
	SkipScenes bool
	// Logger receives debug lines for each command run (its arguments,
	// then its time and peak memory); nil discards.
	Logger *slog.Logger
}

func (p *Pipeline) ffmpeg() string {
	if p.FFmpeg != "" {
		return p.FFmpeg
	}
	return "ffmpeg"
}

func (p *Pipeline) ffprobe() string {
	if p.FFprobe != "" {
		return p.FFprobe
	}
	return "ffprobe"
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Timeout is how long a whole transcode of a recording of durationMS may
// take before it is killed: 10 minutes plus three times the duration, which
// leaves room for a slow, shared worker while still ending a stuck ffmpeg.
// Setting the deadline is the caller's job.
func Timeout(durationMS int64) time.Duration {
	if durationMS < 0 {
		durationMS = 0
	}
	return 10*time.Minute + 3*time.Duration(durationMS)*time.Millisecond
}

// Check reports whether ffmpeg and ffprobe can be found, for start-up
// checks that should fail with one clear line.
func (p *Pipeline) Check() error {
	for _, bin := range []string{p.ffmpeg(), p.ffprobe()} {
		if _, err := exec.LookPath(bin); err != nil {
			return err
		}
	}
	return nil
}
