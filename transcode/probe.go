package transcode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// Source is what Probe learned about an accepted recording.
type Source struct {
	// Format is the demuxer ffprobe detected, from the allowlist; ffmpeg is
	// forced to use it ("mov", "matroska", "mpegts", "mp3", …).
	Format string
	// DurationMS is the recording's length in milliseconds.
	DurationMS int64
	// Video is the picture track; nil for audio-only recordings (cover art
	// in an MP3 or M4A is not a picture track).
	Video *VideoStream
	// Audio is the sound track; nil for silent videos.
	Audio *AudioStream
	// Chapters are the chapters the file states, by their start, with
	// their titles as written (untrusted: see lectern.ImportedChapters).
	Chapters []lectern.Chapter
}

// VideoStream describes the video track Lectern will encode.
type VideoStream struct {
	// Index is the stream's index in the file.
	Index int
	// Codec is ffprobe's codec name, e.g. "h264".
	Codec string
	// Width and Height are the displayed size in pixels: non-square pixels
	// are stretched and a 90° or 270° rotation is applied, so a phone's
	// portrait recording is taller than wide.
	Width, Height int
	// FPS is the average frame rate; 0 when the file does not say.
	FPS float64
	// RateFPS is the frame rate the limits apply to: FPS, or where the
	// file does not say or understates it, the rate its first seconds'
	// frames arrive at.
	RateFPS float64
	// Frames is the number of frames: as the file states it, or the
	// duration at RateFPS.
	Frames int64
	// Rotation is the clockwise rotation, in degrees (0, 90, 180 or 270),
	// that ffmpeg applies when decoding.
	Rotation int
}

// AudioStream describes the audio track Lectern will encode.
type AudioStream struct {
	// Index is the stream's index in the file.
	Index int
	// Codec is ffprobe's codec name, e.g. "aac".
	Codec string
	// Channels and SampleRate (Hz) are the source's.
	Channels, SampleRate int
}

// probeTimeout bounds one ffprobe run whatever the caller's deadline: a
// file that takes longer to identify is not worth waiting for.
const probeTimeout = 2 * time.Minute

// maxProbeJSON bounds ffprobe's output, so that a file with thousands of
// streams cannot exhaust memory.
const maxProbeJSON = 4 << 20

// rateWindow is the stretch at the start of a recording whose packets
// ffprobe counts, to learn the rate frames really arrive at.
const rateWindow = 10 * time.Second

// analyzeDurationUS is how much of the media ffprobe and ffmpeg look at
// to find every stream (30 s, in microseconds): screen recorders may start
// the audio late.
const analyzeDurationUS = "30000000"

// formatWhitelist is handed to ffprobe and ffmpeg: any other demuxer, and
// with it every playlist-like format that opens further files or URLs
// (hls, concat, sdp, dash), is refused before it reads its header.
const formatWhitelist = "mov,matroska,avi,mpegts,flv,ogg,mp3,wav,flac,aac"

// forcedDemuxer returns the demuxer name to force with -f for a
// format_name ffprobe reported, and whether it is on the allowlist.
func forcedDemuxer(formatName string) (string, bool) {
	switch formatName {
	case "mov,mp4,m4a,3gp,3g2,mj2":
		return "mov", true
	case "matroska,webm":
		return "matroska", true
	case "avi", "mpegts", "flv", "ogg", "mp3", "wav", "flac", "aac":
		return formatName, true
	}
	return "", false
}

// Probe identifies the recording at path and refuses, with a
// lectern.EINVALID error a teacher can read, anything that is not a plain
// audio or video file within p.Limits. Playlists, other text files and
// files that are plainly not recordings (images, documents, archives) are
// refused from their first bytes, before any ffprobe runs; ffprobe itself
// may only read local files and only through the allowlisted demuxers.
func (p *Pipeline) Probe(ctx context.Context, path string) (*Source, error) {
	abs, err := regularFile(path)
	if err != nil {
		return nil, err
	}
	head, err := sniffFile(abs)
	if err != nil {
		return nil, err
	}
	out, err := p.probeJSON(ctx, abs, head)
	if err != nil {
		return nil, err
	}
	src, err := sourceFromProbe(out)
	if err != nil {
		return nil, err
	}
	if err := checkLimits(src, p.Limits.withDefaults()); err != nil {
		return nil, err
	}
	return src, nil
}

// regularFile returns path made absolute, after checking it names a
// regular file and not a link, device or pipe: what ffmpeg opens must be
// the file the job downloaded.
func regularFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("input path: %w", err)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return "", fmt.Errorf("input: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("input %s is not a regular file", abs)
	}
	return abs, nil
}

// sniffFile judges the file from its first bytes with
// lectern.CheckRecordingHead, the same check uploads pass through, and
// returns those bytes. Empty files, images, documents, archives and text
// are refused before ffprobe runs: ffprobe would follow the paths and URLs
// in a playlist, a concat list or an SDP description.
func sniffFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	defer f.Close()
	head := make([]byte, lectern.RecordingHeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	return head[:n], lectern.CheckRecordingHead(head[:n])
}

// probeJSON runs ffprobe and decodes its report, mapping a refusal that
// blames the input to a bad-input error. head is the file's first bytes.
func (p *Pipeline) probeJSON(ctx context.Context, abs string, head []byte) (*probeOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var stdout bytes.Buffer
	res, err := p.run(ctx, command{
		op:     "probe",
		bin:    p.ffprobe(),
		args:   p.probeArgs(abs),
		memory: p.Resources.withDefaults().ProbeMemory,
		stdout: func(r io.Reader) error {
			_, err := io.Copy(&stdout, io.LimitReader(r, maxProbeJSON))
			return err
		},
	})
	l := p.Limits.withDefaults()
	if err != nil {
		if bad := classifyInputFailure(res.stderr.String(), head, l); bad != nil && ctx.Err() == nil {
			return nil, bad
		}
		var re *RunError
		if errors.As(err, &re) && strings.Contains(res.stderr.String(), "Cannot allocate memory") {
			// Under its memory limit (Resources.ProbeMemory), which no
			// retry changes.
			return nil, damaged("reading it takes more memory than Lectern allows")
		}
		return nil, err
	}
	if bad := invalidPictureSize(res.stderr.String(), l); bad != nil {
		return nil, bad
	}
	var out probeOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		if stdout.Len() >= maxProbeJSON {
			return nil, damaged("it describes too many tracks")
		}
		return nil, fmt.Errorf("probe: decode ffprobe output: %w", err)
	}
	return &out, nil
}

// probeArgs are ffprobe's arguments for the file at abs.
func (p *Pipeline) probeArgs(abs string) []string {
	l := p.Limits.withDefaults()
	return []string{
		"-hide_banner", "-v", "error",
		// Only local files: no http, no tcp, nothing a file could point at.
		"-protocol_whitelist", "file",
		// Only the allowlisted demuxers; a playlist is refused, not followed.
		"-format_whitelist", formatWhitelist,
		// Bounded identification: a crafted file cannot make ffprobe read on.
		"-probesize", strconv.FormatInt(l.ProbeSize, 10),
		"-analyzeduration", analyzeDurationUS,
		// A file of hundreds of tracks is refused before each one's
		// decoder is opened (500 took 800 MB and 5 s to identify).
		"-max_streams", strconv.Itoa(l.MaxStreams),
		// Count the packets of the first seconds (no decoding): the rate
		// frames arrive at, where the header does not say or lies.
		"-count_packets", "-read_intervals", "%+" + strconv.Itoa(int(rateWindow/time.Second)),
		// Chapters too, which the lesson takes when its teacher set none.
		"-show_format", "-show_streams", "-show_chapters", "-of", "json",
		"-i", "file:" + abs,
	}
}

// checkLimits refuses a probed source that has nothing to play or exceeds l.
func checkLimits(src *Source, l Limits) error {
	if src.Video == nil && src.Audio == nil {
		return badInput("This file has no video or audio track")
	}
	if src.DurationMS <= 0 {
		return damaged("its length cannot be read")
	}
	if d := time.Duration(src.DurationMS) * time.Millisecond; d > l.MaxDuration {
		return badInput("The recording is %s long; the limit is %s", humanDuration(d, true), humanDuration(l.MaxDuration, false))
	}
	v := src.Video
	if v == nil {
		return nil
	}
	if v.Width <= 0 || v.Height <= 0 {
		return damaged("the picture size cannot be read")
	}
	if v.Width < minSide || v.Height < minSide {
		return badInput("The video is %d×%d, smaller than the %d×%d we accept", v.Width, v.Height, minSide, minSide)
	}
	if err := checkSize(v.Width, v.Height, l); err != nil {
		return err
	}
	rate := max(v.FPS, v.RateFPS)
	if rate > l.MaxFPS {
		return badInput("The video runs at %s frames per second; the limit is %s", formatRate(rate), formatRate(l.MaxFPS))
	}
	frames := v.Frames
	if frames == 0 {
		frames = int64(math.Round(rate * float64(src.DurationMS) / 1000))
	}
	if frames > l.MaxFrames {
		return badInput("The recording has %d frames; the limit is %d", frames, l.MaxFrames)
	}
	return nil
}

// checkSize refuses a picture of w×h larger than l, in either orientation.
func checkSize(w, h int, l Limits) error {
	maxLong, maxShort := max(l.MaxWidth, l.MaxHeight), min(l.MaxWidth, l.MaxHeight)
	if max(w, h) > maxLong || min(w, h) > maxShort {
		return badInput("The video is %d×%d, larger than the %d×%d we accept", w, h, l.MaxWidth, l.MaxHeight)
	}
	return nil
}

// formatRate writes a frame rate with at most two decimals: "30", "29.97".
func formatRate(fps float64) string {
	return strconv.FormatFloat(math.Round(fps*100)/100, 'f', -1, 64)
}

// minSide is the smallest picture side accepted: below it there is
// nothing to watch, and encoders misbehave.
const minSide = 16

// humanDuration writes d as "9 h", "6 h 30 min", "45 min" or "50 s". With
// up it rounds up to the minute, so that a recording just over a limit
// never reads as equal to it.
func humanDuration(d time.Duration, up bool) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	if up {
		d = (d + time.Minute - 1).Truncate(time.Minute)
	} else {
		d = d.Truncate(time.Minute)
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
