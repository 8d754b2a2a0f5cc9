package transcode

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/lectern/lectern"
)

// Slide changes. A slide lecture holds a still picture for a while, then
// changes it at once; the picture changing is where the teacher moved on,
// and a chapter may start. Encode looks for those moments on the decode it
// already runs: one more branch of its filter graph takes the frames at
// sceneRate, shrinks them to a thumbnail of grey, and measures which share
// of the thumbnail's pixels changed since the previous one (tblend, a
// threshold, signalstats); frames where enough changed are written to a
// file in the output directory, read back (and removed) once ffmpeg ends.
//
// The share of changed pixels, not ffmpeg's scene score (a mean difference
// over the whole picture), is what tells slides apart: two text slides on
// one template differ in a few per cent of their pixels, which moves the
// scene score by about 0.002, far below any threshold that ignores a
// camera's noise (a test of text slides that differed by a digit scored
// 0.0012–0.0024). Counted per pixel, the same change stands out of an
// encoded still picture's noise, which changes no pixel past the threshold.
const (
	// sceneRate is how many frames a second the branch looks at: moments
	// are known to 1/sceneRate s, and the branch costs nothing to speak of.
	sceneRate = 5
	// sceneWidth and sceneHeight are the thumbnail compared, whatever the
	// picture's shape: a share of pixels does not mind the stretch.
	sceneWidth, sceneHeight = 256, 144
	// scenePixelDelta is how far a pixel's grey level (0–255) must move to
	// count as changed: beyond an encoder's noise, below a letter's ink.
	scenePixelDelta = 24
	// sceneMinChange is the least share of the thumbnail's pixels that
	// must change for a frame to count as changed (0.05 %: 18 pixels of
	// 36,864), above a mouse pointer's move.
	sceneMinChange = 0.0005
	// scenesFile is where the branch writes its changed frames, in the
	// output directory; Encode removes it before anything is uploaded.
	scenesFile = ".scenes"
	// maxScenesBytes bounds what is read of it: a camera recording, which
	// changes all the time, writes about 1.2 MB an hour.
	maxScenesBytes = 32 << 20
)

// Rules that turn changed frames into slide changes (see slideChanges).
const (
	// slideBurstMS is the longest a change may take (a transition, a few
	// quick clicks): longer motion is video, not a slide change.
	slideBurstMS = 3000
	// slideStillMS is how long the new picture must then stay: a slide is
	// read, an animation is not.
	slideStillMS = 5000
	// slideGapMS joins changed frames this close into one change.
	slideGapMS = 2 * 1000 / sceneRate
	// slideFirstMS: a change this early is the lesson's start, no chapter.
	slideFirstMS = 1000
)

// SceneChange is a moment where the picture changed and then stayed: a
// suggested chapter start.
type SceneChange struct {
	// AtMS is when the change began.
	AtMS int64
	// Share is the most of the picture that changed from one look to the
	// next during the change (0–1).
	Share float64
}

// sceneBranch ends the video branch v with the slide-change measurement,
// writing changed frames to path, as an output that writes nothing else.
func sceneBranch(v *ffmpeg.Stream, path string) *ffmpeg.Stream {
	changed := strconv.FormatFloat(sceneMinChange*255, 'f', -1, 64)
	s := v.
		// Fewer frames first, so that everything after costs a fraction.
		Filter("fps", ffmpeg.Args{strconv.Itoa(sceneRate)}).
		// Area averaging keeps a thin line of text as a grey trace.
		Filter("scale", ffmpeg.Args{strconv.Itoa(sceneWidth), strconv.Itoa(sceneHeight)}, ffmpeg.KwArgs{"flags": "area"}).
		Filter("format", ffmpeg.Args{"gray"}).
		// Each frame becomes its difference from the one before…
		Filter("tblend", nil, ffmpeg.KwArgs{"all_mode": "difference"}).
		// …each pixel changed (255) or not (0)…
		Filter("lut", nil, ffmpeg.KwArgs{"y": fmt.Sprintf("if(gt(val,%d),255,0)", scenePixelDelta)}).
		// …so the mean grey level is 255 × the share of changed pixels.
		Filter("signalstats", nil).
		Filter("metadata", nil, ffmpeg.KwArgs{"mode": "select", "key": sceneKey, "value": changed, "function": "greater"}).
		Filter("metadata", nil, ffmpeg.KwArgs{"mode": "print", "key": sceneKey, "file": path})
	return s
}

// sceneKey is the frame metadata signalstats writes the mean grey level to.
const sceneKey = "lavfi.signalstats.YAVG"

// sceneOutput is the null output that pulls the scene branch through the
// graph; the null muxer opens no file.
func sceneOutput(s *ffmpeg.Stream, outDir string) *ffmpeg.Stream {
	return ffmpeg.Output([]*ffmpeg.Stream{s}, filepath.Join(outDir, scenesFile+".null"), ffmpeg.KwArgs{"f": "null"})
}

// readScenes reads and removes the branch's file in outDir, returning the
// slide changes of a recording durationMS long. A missing file (no video)
// means none.
func readScenes(outDir string, durationMS int64) ([]SceneChange, error) {
	frames, err := readChangedFrames(outDir)
	if err != nil {
		return nil, err
	}
	return slideChanges(frames, durationMS), nil
}

// readChangedFrames reads and removes the branch's file in outDir,
// returning the changed frames it lists (none when it is missing).
func readChangedFrames(outDir string) ([]changedFrame, error) {
	path := filepath.Join(outDir, scenesFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read scene changes: %w", err)
	}
	frames, err := parseScenes(io.LimitReader(f, maxScenesBytes))
	f.Close()
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("remove scene changes: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read scene changes: %w", err)
	}
	return frames, nil
}

// changedFrame is a frame the branch found changed: its time and the
// share of its pixels that changed.
type changedFrame struct {
	atMS  int64
	share float64
}

// changedFrameJSON is a changedFrame as a chunk's result stores it.
type changedFrameJSON struct {
	AtMS  int64   `json:"at_ms"`
	Share float64 `json:"share"`
}

// parseScenes reads the metadata filter's printout:
//
//	frame:12   pts:12      pts_time:2.4
//	lavfi.signalstats.YAVG=3.1
func parseScenes(r io.Reader) ([]changedFrame, error) {
	var (
		out []changedFrame
		at  = int64(-1)
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if _, t, ok := strings.Cut(line, "pts_time:"); ok {
			at = -1
			if sec, err := strconv.ParseFloat(strings.Fields(t + " ")[0], 64); err == nil && sec >= 0 && sec < 1e7 {
				at = int64(math.Round(sec * 1000))
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, sceneKey+"="); ok && at >= 0 {
			if mean, err := strconv.ParseFloat(v, 64); err == nil {
				out = append(out, changedFrame{atMS: at, share: mean / 255})
			}
			at = -1
		}
	}
	return out, sc.Err()
}

// slideChanges finds the slide changes among a recording's changed
// frames (by time): runs of changed frames at most slideGapMS apart are one
// change, which counts when it took at most slideBurstMS and the picture
// then stayed unchanged for slideStillMS (or until the end). Changes in
// the first slideFirstMS are the lesson's start. When there are more than
// lectern.MaxChapters, the largest are kept. The result is by time.
func slideChanges(frames []changedFrame, durationMS int64) []SceneChange {
	var out []SceneChange
	for i := 0; i < len(frames); {
		start, end, share := frames[i].atMS, frames[i].atMS, frames[i].share
		j := i + 1
		for ; j < len(frames) && frames[j].atMS-end <= slideGapMS; j++ {
			end, share = frames[j].atMS, max(share, frames[j].share)
		}
		still := durationMS
		if j < len(frames) {
			still = frames[j].atMS
		}
		if end-start <= slideBurstMS && still-end >= slideStillMS && start >= slideFirstMS {
			out = append(out, SceneChange{AtMS: start, Share: share})
		}
		i = j
	}
	if len(out) > lectern.MaxChapters {
		slices.SortStableFunc(out, func(a, b SceneChange) int { return cmp.Compare(b.Share, a.Share) })
		out = out[:lectern.MaxChapters]
		slices.SortFunc(out, func(a, b SceneChange) int { return cmp.Compare(a.AtMS, b.AtMS) })
	}
	return out
}

// sceneStarts lists when each change began.
func sceneStarts(cs []SceneChange) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.AtMS
	}
	return out
}
