package transcode

import (
	"math"
	"strconv"
	"strings"

	"github.com/lectern/lectern"
)

// probeOutput is the part of ffprobe's JSON report that Probe reads.
type probeOutput struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Streams  []probeStream  `json:"streams"`
	Chapters []probeChapter `json:"chapters"`
}

// probeChapter is a chapter of the file as ffprobe -show_chapters reports it.
type probeChapter struct {
	StartTime string            `json:"start_time"`
	Tags      map[string]string `json:"tags"`
}

type probeStream struct {
	Index             int    `json:"index"`
	CodecType         string `json:"codec_type"`
	CodecName         string `json:"codec_name"`
	Width             int    `json:"width"`
	Height            int    `json:"height"`
	SampleAspectRatio string `json:"sample_aspect_ratio"`
	AvgFrameRate      string `json:"avg_frame_rate"`
	RFrameRate        string `json:"r_frame_rate"`
	NbFrames          string `json:"nb_frames"`
	NbReadPackets     string `json:"nb_read_packets"`
	Duration          string `json:"duration"`
	Channels          int    `json:"channels"`
	SampleRate        string `json:"sample_rate"`
	Disposition       struct {
		Default     int `json:"default"`
		AttachedPic int `json:"attached_pic"`
	} `json:"disposition"`
	Tags         map[string]string `json:"tags"`
	SideDataList []struct {
		Rotation float64 `json:"rotation"`
	} `json:"side_data_list"`
}

// sourceFromProbe turns ffprobe's report into a Source, refusing formats
// off the allowlist and files whose tracks cannot be decoded.
func sourceFromProbe(out *probeOutput) (*Source, error) {
	format, ok := forcedDemuxer(out.Format.FormatName)
	if !ok {
		return nil, unsupportedFormat(out.Format.FormatName)
	}
	src := &Source{Format: format}
	var unknown bool
	video, audio := -1, -1
	for i, s := range out.Streams {
		if (s.CodecType == "video" || s.CodecType == "audio") && s.CodecName == "" {
			unknown = true
			continue
		}
		switch {
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0:
			video = preferDefault(out.Streams, video, i)
		case s.CodecType == "audio":
			audio = preferDefault(out.Streams, audio, i)
		}
	}
	if video < 0 && audio < 0 && unknown {
		return nil, badInput("Unsupported file type (its audio and video are in formats we cannot decode)")
	}
	var streamMS int64
	if video >= 0 {
		s := out.Streams[video]
		src.Video = videoStream(s)
		streamMS = seconds(s.Duration)
	}
	if audio >= 0 {
		s := out.Streams[audio]
		rate, _ := strconv.Atoi(s.SampleRate)
		src.Audio = &AudioStream{Index: s.Index, Codec: s.CodecName, Channels: s.Channels, SampleRate: rate}
		streamMS = max(streamMS, seconds(s.Duration))
	}
	// The container's duration covers every track; a stream's is the
	// fallback for containers that do not state one.
	durationMS := seconds(out.Format.Duration)
	if durationMS == 0 {
		durationMS = streamMS
	}
	src.DurationMS = durationMS
	src.Chapters = chaptersOf(out.Chapters)
	if video >= 0 {
		src.Video.RateFPS, src.Video.Frames = frameFigures(out.Streams[video], src.Video.FPS, durationMS)
	}
	return src, nil
}

// chaptersOf returns the file's chapters as it states them; the handler
// cleans them (lectern.ImportedChapters) against the encoded duration.
func chaptersOf(chs []probeChapter) []lectern.Chapter {
	var out []lectern.Chapter
	for _, c := range chs {
		f, err := strconv.ParseFloat(c.StartTime, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e9 {
			continue
		}
		out = append(out, lectern.Chapter{StartMS: int64(math.Round(f * 1000)), Title: c.Tags["title"]})
	}
	return out
}

// frameFigures returns the frame rate the limits apply to, and the number
// of frames, of the video stream s of a recording durationMS long whose
// stated average rate is avg (0 when unknown). The rate is the stated one
// unless the packets of the first rateWindow arrive clearly faster (a
// Matroska DefaultDuration can lie); where there is no stated rate, as in
// Matroska and WebM from 1000 fps on, it is the rate the packets arrive
// at, and only where none were counted ffprobe's r_frame_rate, its guess
// from the first timestamps (1000/1, the time base, for a sparse
// variable-rate WebM, so never preferred to a count). The frames are
// those the container states, or the duration at that rate.
func frameFigures(s probeStream, avg float64, durationMS int64) (rate float64, frames int64) {
	var counted float64
	window := min(rateWindow.Milliseconds(), durationMS)
	if n, err := strconv.ParseInt(s.NbReadPackets, 10, 64); err == nil && n > 0 && window > 0 {
		counted = float64(n) * 1000 / float64(window)
	}
	switch {
	case avg > 0 && counted <= avg*1.25:
		rate = avg
	case counted > 0:
		rate = counted
	default:
		rate = ratio(s.RFrameRate, "/")
	}
	frames = int64(math.Round(rate * float64(durationMS) / 1000))
	if n, err := strconv.ParseInt(s.NbFrames, 10, 64); err == nil && n > frames {
		frames = n
	}
	return rate, frames
}

// preferDefault picks between the chosen stream (or -1) and candidate i:
// the first stream flagged default wins, else the first stream.
func preferDefault(streams []probeStream, chosen, i int) int {
	if chosen < 0 {
		return i
	}
	if streams[chosen].Disposition.Default == 0 && streams[i].Disposition.Default == 1 {
		return i
	}
	return chosen
}

// videoStream computes the displayed size of a video stream.
func videoStream(s probeStream) *VideoStream {
	v := &VideoStream{Index: s.Index, Codec: s.CodecName, Width: s.Width, Height: s.Height}
	if sar := ratio(s.SampleAspectRatio, ":"); sar > 0 && sar != 1 {
		v.Width = int(math.Round(float64(s.Width) * sar))
	}
	v.FPS = ratio(s.AvgFrameRate, "/")
	v.Rotation = rotation(s)
	if v.Rotation == 90 || v.Rotation == 270 {
		v.Width, v.Height = v.Height, v.Width
	}
	return v
}

// rotation returns the clockwise display rotation of s: the display
// matrix's counter-clockwise angle negated, or the older "rotate" tag.
func rotation(s probeStream) int {
	deg := 0.0
	for _, sd := range s.SideDataList {
		if sd.Rotation != 0 {
			deg = -sd.Rotation
			break
		}
	}
	if deg == 0 {
		deg, _ = strconv.ParseFloat(s.Tags["rotate"], 64)
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

// ratio parses "a<sep>b" as a/b, returning 0 for anything invalid, such as
// ffprobe's "0/0" or "N/A".
func ratio(s, sep string) float64 {
	a, b, ok := strings.Cut(s, sep)
	if !ok {
		return 0
	}
	num, err1 := strconv.ParseFloat(a, 64)
	den, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || den <= 0 || num <= 0 || math.IsInf(num/den, 0) {
		return 0
	}
	return num / den
}

// seconds parses ffprobe's decimal seconds into milliseconds, 0 when absent.
func seconds(s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return int64(math.Round(f * 1000))
}
