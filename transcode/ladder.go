package transcode

import (
	"fmt"
	"math"
	"strconv"
)

// Segment and keyframe timing shared by every rendition.
const (
	// SegmentSeconds is the target HLS segment length.
	SegmentSeconds = 4
	// GOPSeconds is the keyframe interval: two per segment, at the same
	// instants in every rung, so players can switch rungs at any segment.
	GOPSeconds = 2
	// MaxOutputFPS caps the frame rate of every rung. Lessons are talks,
	// slides and screens: 60 fps would double the bitrate and encode time
	// for motion nobody needs, and resampling to a constant rate is what
	// makes a GOP of 2 s land on the same frames in every rung (screen
	// recordings are often variable-rate).
	MaxOutputFPS = 30
	// defaultCRF is the quality target: visually clean at every rung,
	// cheap on still slides; the per-rung maxrate caps motion.
	defaultCRF = 23
)

// Ladder is what to encode from one source.
type Ladder struct {
	// Video holds the picture rungs, largest first; empty for audio-only
	// sources.
	Video []Rung
	// Audio is the single AAC rendition every video rung plays with, also
	// offered alone for listening on bad networks; nil for silent videos.
	Audio *AudioRendition
	// FrameRate is the output rate as ffmpeg's fps filter takes it ("30",
	// "30000/1001", "25"); FPS is the same as a number.
	FrameRate string
	FPS       float64
	// GOP is the keyframe interval in frames (GOPSeconds of FPS).
	GOP int
	// CRF is x264's constant quality target.
	CRF int
}

// Rung is one video rendition.
type Rung struct {
	// Name is the short side in lines, e.g. "720p" (a portrait 720×1280
	// rung is "720p" too).
	Name string
	// Width and Height are even and never above the source's.
	Width, Height int
	// MaxrateKbps caps the bitrate over BufsizeKbps (twice the maxrate).
	MaxrateKbps, BufsizeKbps int
}

// AudioRendition is the AAC rendition.
type AudioRendition struct {
	BitrateKbps int
	Channels    int
	SampleRate  int
}

// ladderStep is one row of the standard ladder.
type ladderStep struct {
	short       int // short side in pixels
	maxrateKbps int
}

func standardSteps() []ladderStep {
	return []ladderStep{{1080, 5000}, {720, 2800}, {480, 1400}, {360, 800}}
}

// nativeRungFactor decides when a source between two standard steps also
// gets a rung at its own size: a 1440×900 screen recording keeps its small
// text sharp at 900p instead of dropping to 720p, while a 1366×768 one is
// close enough to 720p.
const nativeRungFactor = 1.15

// PlanLadder plans the renditions for src, never upscaling: the standard
// 1080p, 720p, 480p and 360p rungs that fit in the source (by its short
// side, so portrait works), plus one at the source's own size when it lies
// well above the largest fitting step; a source under 360p gets one rung at
// its own size. Frame rate is capped at MaxOutputFPS. Audio, when present,
// is one AAC rendition.
func PlanLadder(src *Source) Ladder {
	l := Ladder{CRF: defaultCRF}
	if src.Audio != nil {
		l.Audio = planAudio(src.Audio)
	}
	if src.Video == nil {
		return l
	}
	l.FrameRate, l.FPS = outputRate(src.Video.FPS)
	l.GOP = max(1, int(math.Round(GOPSeconds*l.FPS)))
	l.Video = planRungs(src.Video.Width, src.Video.Height)
	return l
}

func planRungs(w, h int) []Rung {
	short := min(w, h)
	var rungs []Rung
	for _, s := range standardSteps() {
		if s.short <= short {
			rungs = append(rungs, scaledRung(w, h, s.short, s.maxrateKbps))
		}
	}
	top := 0
	if len(rungs) > 0 {
		top = min(rungs[0].Width, rungs[0].Height)
	}
	if top == 0 || (top < 1080 && float64(short) >= nativeRungFactor*float64(top)) {
		native := scaledRung(w, h, floorEven(short), maxrateFor(floorEven(short)))
		rungs = append([]Rung{native}, rungs...)
	}
	return rungs
}

// scaledRung fits a rung whose short side is short into a w×h picture,
// keeping the aspect ratio with even sides no larger than the source's.
func scaledRung(w, h, short, maxrateKbps int) Rung {
	long := func(srcLong, srcShort int) int {
		x := 2 * int(math.Round(float64(short)*float64(srcLong)/float64(srcShort)/2))
		return max(2, min(x, floorEven(srcLong)))
	}
	r := Rung{Name: fmt.Sprintf("%dp", short), MaxrateKbps: maxrateKbps, BufsizeKbps: 2 * maxrateKbps}
	if w >= h {
		r.Width, r.Height = long(w, h), short
	} else {
		r.Width, r.Height = short, long(h, w)
	}
	return r
}

// maxrateFor interpolates the standard maxrates for a short side between
// steps, and scales by area below the smallest step.
func maxrateFor(short int) int {
	steps := standardSteps()
	for i := 0; i+1 < len(steps); i++ {
		hi, lo := steps[i], steps[i+1]
		if short <= hi.short && short >= lo.short {
			f := float64(short-lo.short) / float64(hi.short-lo.short)
			return int(math.Round(float64(lo.maxrateKbps) + f*float64(hi.maxrateKbps-lo.maxrateKbps)))
		}
	}
	if short > steps[0].short {
		return steps[0].maxrateKbps
	}
	last := steps[len(steps)-1]
	f := float64(short) / float64(last.short)
	return max(200, int(math.Round(float64(last.maxrateKbps)*f*f)))
}

func floorEven(n int) int { return n &^ 1 }

// planAudio keeps a mono source mono (a lecture microphone usually is) at
// half the stereo bitrate, and mixes anything else to stereo.
func planAudio(a *AudioStream) *AudioRendition {
	if a.Channels == 1 {
		return &AudioRendition{BitrateKbps: 64, Channels: 1, SampleRate: 48000}
	}
	return &AudioRendition{BitrateKbps: 128, Channels: 2, SampleRate: 48000}
}

// outputRate picks the constant output frame rate for a source rate: the
// source's own when at most MaxOutputFPS (snapped to a standard rate when
// within 1%), else the source divided by the smallest whole number that
// lands on a standard rate (60 → 30, 59.94 → 29.97, 50 → 25), else
// MaxOutputFPS. An unknown rate (0) gives MaxOutputFPS.
func outputRate(fps float64) (string, float64) {
	if fps <= 0 {
		return strconv.Itoa(MaxOutputFPS), MaxOutputFPS
	}
	for n := 1; n <= 8; n++ {
		f := fps / float64(n)
		if expr, std, ok := standardRate(f); ok {
			return expr, std
		}
		if n == 1 && f <= MaxOutputFPS {
			f = math.Round(f*1000) / 1000
			return strconv.FormatFloat(f, 'f', -1, 64), f
		}
	}
	return strconv.Itoa(MaxOutputFPS), MaxOutputFPS
}

// standardRate returns the standard frame rate closest to f when within 1%.
func standardRate(f float64) (string, float64, bool) {
	rates := []struct {
		expr string
		fps  float64
	}{{"24000/1001", 24000.0 / 1001}, {"24", 24}, {"25", 25}, {"30000/1001", 30000.0 / 1001}, {"30", 30}}
	best, bestDiff := -1, 0.01
	for i, r := range rates {
		if d := math.Abs(f-r.fps) / r.fps; d < bestDiff {
			best, bestDiff = i, d
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return rates[best].expr, rates[best].fps, true
}
