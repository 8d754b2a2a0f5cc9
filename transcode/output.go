package transcode

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Output describes what Encode wrote. Paths are relative to the output
// directory, with forward slashes, as they appear in the master playlist.
type Output struct {
	// Master is the master playlist, MasterPlaylist.
	Master string
	// Renditions lists the video rungs, largest first, then the audio
	// rendition.
	Renditions []Rendition
	// AudioOnly is set when the source had no picture: there is no video
	// rendition, and Images has nothing to make.
	AudioOnly bool
	// DurationMS is the length of the longest rendition.
	DurationMS int64
	// Scenes are the moments the picture changed as a slide does, by
	// time: suggested chapter starts. None for audio.
	Scenes []SceneChange
}

// Rendition kinds.
const (
	KindVideo = "video"
	KindAudio = "audio"
)

// Rendition is one encoded HLS rendition.
type Rendition struct {
	// Name is the rung's name ("720p") or "audio".
	Name string
	// Kind is KindVideo or KindAudio.
	Kind string
	// Playlist is the media playlist, e.g. "v1/index.m3u8".
	Playlist string
	// Width, Height and FrameRate describe a video rendition.
	Width, Height int
	FrameRate     float64
	// Channels describes the audio rendition.
	Channels int
	// Codecs is the RFC 6381 codec string, read back from the init
	// segment for video ("avc1.64001f"); "mp4a.40.2" (AAC-LC) for audio.
	Codecs string
	// Bandwidth is the peak bitrate of a segment and AverageBandwidth the
	// mean, in bits per second, measured from the written segments of this
	// rendition alone.
	Bandwidth, AverageBandwidth int64
	// Segments is the number of media segments.
	Segments int
	// DurationMS is the sum of the segment durations.
	DurationMS int64
}

const aacLC = "mp4a.40.2"

// collectOutput reads back the media playlists ffmpeg wrote and measures
// every rendition.
func collectOutput(outDir string, l Ladder) (*Output, error) {
	out := &Output{Master: MasterPlaylist, AudioOnly: len(l.Video) == 0}
	for i, r := range l.Video {
		rend := Rendition{Name: r.Name, Kind: KindVideo, Playlist: path.Join(videoDir(i), mediaPlaylist),
			Width: r.Width, Height: r.Height, FrameRate: l.FPS}
		if err := measure(outDir, &rend); err != nil {
			return nil, err
		}
		init, err := os.ReadFile(filepath.Join(outDir, videoDir(i), initSegment))
		if err != nil {
			return nil, fmt.Errorf("read init segment: %w", err)
		}
		if rend.Codecs, err = avcCodecs(init); err != nil {
			return nil, fmt.Errorf("%s: %w", rend.Playlist, err)
		}
		out.Renditions = append(out.Renditions, rend)
	}
	if l.Audio != nil {
		rend := Rendition{Name: "audio", Kind: KindAudio, Playlist: path.Join(audioDir, mediaPlaylist),
			Channels: l.Audio.Channels, Codecs: aacLC}
		if err := measure(outDir, &rend); err != nil {
			return nil, err
		}
		out.Renditions = append(out.Renditions, rend)
	}
	for _, r := range out.Renditions {
		out.DurationMS = max(out.DurationMS, r.DurationMS)
	}
	return out, nil
}

// measure fills the segment count, duration and bitrates of rend from its
// media playlist and the sizes of its segment files.
func measure(outDir string, rend *Rendition) error {
	data, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(rend.Playlist)))
	if err != nil {
		return fmt.Errorf("read media playlist: %w", err)
	}
	segs, err := parseMediaPlaylist(data)
	if err != nil {
		return fmt.Errorf("%s: %w", rend.Playlist, err)
	}
	dir := filepath.Join(outDir, filepath.Dir(filepath.FromSlash(rend.Playlist)))
	var totalBits, totalSec, peak, peakAll float64
	for _, s := range segs {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(s.uri)))
		if err != nil {
			return fmt.Errorf("%s: %w", rend.Playlist, err)
		}
		bits := float64(fi.Size()) * 8
		totalBits += bits
		totalSec += s.seconds
		rate := bits / s.seconds
		peakAll = math.Max(peakAll, rate)
		// A short last segment is mostly keyframe; counting it would
		// overstate the peak and push players to lower rungs.
		if s.seconds >= 1 {
			peak = math.Max(peak, rate)
		}
	}
	if peak == 0 {
		peak = peakAll
	}
	rend.Segments = len(segs)
	rend.DurationMS = int64(math.Round(totalSec * 1000))
	rend.Bandwidth = int64(math.Ceil(peak))
	rend.AverageBandwidth = int64(math.Ceil(totalBits / totalSec))
	return nil
}

// segment is one media segment of a playlist.
type segment struct {
	uri     string
	seconds float64
}

// parseMediaPlaylist returns the segments of an HLS media playlist,
// refusing anything but a finished playlist of relative segment names.
func parseMediaPlaylist(data []byte) ([]segment, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		return nil, errors.New("not an HLS playlist")
	}
	var segs []segment
	var pending float64
	var ended bool
	for _, line := range lines[1:] {
		switch {
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			d, err := strconv.ParseFloat(v, 64)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("bad segment duration %q", line)
			}
			pending = d
		case line == "#EXT-X-ENDLIST":
			ended = true
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if pending == 0 || strings.Contains(line, "..") || strings.Contains(line, ":") || path.IsAbs(line) {
				return nil, fmt.Errorf("unexpected playlist line %q", line)
			}
			segs = append(segs, segment{uri: line, seconds: pending})
			pending = 0
		}
	}
	if !ended || len(segs) == 0 {
		return nil, errors.New("playlist is unfinished or empty")
	}
	return segs, nil
}

// avcCodecs reads the RFC 6381 codec string of the H.264 track in an fMP4
// init segment from its avcC box: profile, constraint flags and level, as
// x264 actually chose them.
func avcCodecs(init []byte) (string, error) {
	i := bytes.Index(init, []byte("avcC"))
	if i < 0 || len(init) < i+8 {
		return "", errors.New("no avcC box in init segment")
	}
	c := init[i+4:]
	return fmt.Sprintf("avc1.%02x%02x%02x", c[1], c[2], c[3]), nil
}

// checkComplete refuses an encode that stopped well short of the source:
// a file whose index promises more than its data holds (a cut-off upload)
// ends early without ffmpeg failing.
func checkComplete(src *Source, out *Output) error {
	missing := src.DurationMS - out.DurationMS
	if missing <= max(2000, src.DurationMS/10) {
		return nil
	}
	return damaged(fmt.Sprintf("only %s of its %s could be read",
		clock(time.Duration(out.DurationMS)*time.Millisecond), clock(time.Duration(src.DurationMS)*time.Millisecond)))
}

// clock writes d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// masterPlaylist writes the master playlist for out: every video rung with
// the audio group, then the audio rendition alone as an audio-only variant.
// BANDWIDTH of a video variant adds the audio's peak to its own.
func masterPlaylist(out *Output) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	var audio *Rendition
	for i := range out.Renditions {
		if out.Renditions[i].Kind == KindAudio {
			audio = &out.Renditions[i]
		}
	}
	if audio != nil && !out.AudioOnly {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"%d\",URI=\"%s\"\n",
			audio.Channels, audio.Playlist)
	}
	for _, r := range out.Renditions {
		if r.Kind != KindVideo {
			continue
		}
		bw, avg, codecs, group := r.Bandwidth, r.AverageBandwidth, r.Codecs, ""
		if audio != nil {
			bw, avg, codecs, group = bw+audio.Bandwidth, avg+audio.AverageBandwidth, codecs+","+audio.Codecs, ",AUDIO=\"audio\""
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"%s\",FRAME-RATE=%.3f%s\n%s\n",
			bw, avg, r.Width, r.Height, codecs, r.FrameRate, group, r.Playlist)
	}
	if audio != nil {
		group := ",AUDIO=\"audio\""
		if out.AudioOnly {
			group = ""
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=\"%s\"%s\n%s\n",
			audio.Bandwidth, audio.AverageBandwidth, audio.Codecs, group, audio.Playlist)
	}
	return b.String()
}
