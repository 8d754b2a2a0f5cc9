package transcode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Chunked encoding: a lesson's video is cut in time into chunks of whole
// segments, each encoded (every rung, one decode) by its own ffmpeg run on
// any worker, and the audio of the whole lesson by one more run. The runs
// share every encoding setting, and each chunk starts on a keyframe
// (chunks start on GOP multiples, and x264 runs a fixed GOP without scene
// cuts), so the segments of all chunks make one continuous HLS ladder
// under the first chunk's init segments: the recipe measured in the
// project notes (input seek with copied timestamps, the fps filter, an
// exact frame count per chunk, segment numbers that run on, and absolute
// fragment decode times for every chunk but the first).

// DefaultChunkSeconds is the length of a chunk: long enough that a
// chunk's start-up (process, seek, rate control warm-up) is a small share
// of its work, short enough that a lesson is playable within one chunk's
// encode and a killed worker loses little.
const DefaultChunkSeconds = 32

// chunkSpec is what every piece of a plan needs, stored with the plan.
type chunkSpec struct {
	Source Source `json:"source"`
	Ladder Ladder `json:"ladder"`
	// SegFrames is the frames of a segment; TotalFrames the frames of
	// the whole lesson, as planned from the probe.
	SegFrames   int    `json:"seg_frames"`
	TotalFrames int64  `json:"total_frames"`
	TotalSegs   int    `json:"total_segs"`
	SourceKey   string `json:"source_key"`
}

// segSeconds is the length of a full segment.
func (s chunkSpec) segSeconds() float64 { return float64(s.SegFrames) / s.Ladder.FPS }

// chunkResult is what a piece made, stored with it once done (the audio
// piece also keeps what it has stored so far there while it runs).
type chunkResult struct {
	// Rungs are the video rungs' segments, largest rung first.
	Rungs []rungResult `json:"rungs,omitempty"`
	// Changed are the frames the slide-change branch found changed: the
	// slide changes are found on all chunks' frames at once.
	Changed []changedFrameJSON `json:"changed,omitempty"`
	// AudioSegs are the audio rendition's segments: those stored so far
	// while the audio piece runs, every one once it is done.
	AudioSegs []segmentOut `json:"audio_segs,omitempty"`
	// Audio is the audio rendition of a piece done before its segments
	// were kept (AudioSegs): it uploaded its own playlist.
	Audio *Rendition `json:"audio,omitempty"`
	// Thumbs are the scrubbing thumbnails whose times fall in the chunk,
	// Posters its poster candidates (see chunk_images.go).
	Thumbs  []chunkThumb      `json:"thumbs,omitempty"`
	Posters []posterCandidate `json:"posters,omitempty"`
}

// rungResult is one rung of a video chunk.
type rungResult struct {
	Codecs string       `json:"codecs"`
	Segs   []segmentOut `json:"segs"`
}

// segmentOut is one written segment.
type segmentOut struct {
	URI     string  `json:"uri"`
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes"`
}

// openingSegs is the most segments of the opening chunk (8 s): the lesson
// is playable once it and the audio's first as many segments are stored.
const openingSegs = 2

// CPU priorities (nice values) of the pieces' ffmpeg runs: where pieces
// share a machine (several worker processes, or a worker's audio lane
// beside its transcode slot), the opening chunk, which makes the lesson
// playable, takes the cores first; the audio run, far ahead of anyone
// playing at any share of a core, takes what is left. Alone on a machine
// a run uses all of it whatever its nice value.
const (
	niceLater = 4
	niceAudio = 10
)

// Chunk priorities at the start: the opening chunk, then the audio (its
// first seconds are needed to play, and it runs on a lane of its own on
// the queue anyway), then the rest by index.
const (
	priorityOpening = 2
	priorityAudio   = 1
)

// planChunks cuts src into the pieces of a chunked transcode of ladder
// l, chunkSeconds of video each; ok is false when the recording is better
// encoded in one run (no picture, or one chunk would hold it all).
func planChunks(src *Source, l Ladder, chunkSeconds int) (spec chunkSpec, chunks []db.Chunk, ok bool) {
	if src.Video == nil || len(l.Video) == 0 || l.FPS <= 0 || l.GOP <= 0 || chunkSeconds <= 0 {
		return spec, nil, false
	}
	spec = chunkSpec{Source: *src, Ladder: l, SegFrames: l.GOP * SegmentSeconds / GOPSeconds}
	spec.TotalFrames = int64(math.Round(float64(src.DurationMS) * l.FPS / 1000))
	spec.TotalSegs = int((spec.TotalFrames + int64(spec.SegFrames) - 1) / int64(spec.SegFrames))
	per := max(1, int(math.Round(float64(chunkSeconds)/spec.segSeconds())))
	if spec.TotalSegs < per*3/2 {
		return spec, nil, false
	}
	if l.Audio != nil {
		chunks = append(chunks, db.Chunk{Kind: db.ChunkAudio, Priority: priorityAudio})
	}
	for start := 0; start < spec.TotalSegs; {
		// The opening chunk is short: the lesson plays once it is stored.
		// Each chunk after it is at most as long as all before it, up to
		// chunkSeconds: an encoder at twice the speed of playback, or
		// more, stays ahead of a student who starts playing at once.
		n := min(per, max(openingSegs, start), spec.TotalSegs-start)
		if rest := spec.TotalSegs - start - n; rest > 0 && rest < per/2 {
			n += rest // no short chunk at the end: it would cost its start-up for little
		}
		c := db.Chunk{Index: len(chunks), Kind: db.ChunkVideo, StartSeg: start, Segs: n}
		if start == 0 {
			c.Priority = priorityOpening
		}
		chunks = append(chunks, c)
		start += n
	}
	for i := range chunks {
		chunks[i].Index, chunks[i].MaxTries = i, lectern.MaxTranscodeTries
	}
	return spec, chunks, true
}

// isLastChunk reports whether c ends the lesson.
func (s chunkSpec) isLastChunk(c *db.Chunk) bool { return c.StartSeg+c.Segs >= s.TotalSegs }

// encodeChunk encodes video chunk c of the plan spec from input into
// outDir, every rung, and returns its segments.
func (p *Pipeline) encodeChunk(ctx context.Context, spec *chunkSpec, c *db.Chunk, input, outDir string,
	progress func(float64)) (*chunkResult, error) {
	abs, err := regularFile(input)
	if err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	l := spec.Ladder
	l.Audio = nil
	if outDir, err = prepareOutDir(outDir, l); err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(outDir, chunkImagesDir), 0o755); err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	args, err := p.chunkArgs(spec, c, abs, outDir)
	if err != nil {
		return nil, err
	}
	durMS := int64(float64(c.Segs) * spec.segSeconds() * 1000)
	nice := niceLater
	if c.StartSeg == 0 {
		nice = 0 // the opening chunk: the lesson plays once it is stored
	}
	if err := p.runEncode(ctx, args, outDir, durMS, nice, progress); err != nil {
		return nil, err
	}
	res := &chunkResult{}
	for i := range l.Video {
		r, err := readRung(filepath.Join(outDir, videoDir(i)), c.StartSeg == 0)
		if err != nil {
			return nil, fmt.Errorf("encode chunk: %w", err)
		}
		if want := fmt.Sprintf(segmentPattern, c.StartSeg); len(r.Segs) == 0 || r.Segs[0].URI != want ||
			(!spec.isLastChunk(c) && len(r.Segs) != c.Segs) {
			return nil, fmt.Errorf("encode chunk: rung %s wrote %d segments from %q, not %d from %q",
				l.Video[i].Name, len(r.Segs), firstURI(r.Segs), c.Segs, want)
		}
		res.Rungs = append(res.Rungs, r)
	}
	frames, err := readChangedFrames(outDir)
	if err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	for _, f := range frames {
		res.Changed = append(res.Changed, changedFrameJSON{AtMS: f.atMS, Share: f.share})
	}
	if err := p.readChunkImages(spec, c, outDir, res); err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	return res, nil
}

func firstURI(segs []segmentOut) string {
	if len(segs) == 0 {
		return ""
	}
	return segs[0].URI
}

// readRung reads back what a chunk run wrote for one rung: its segments
// and the codec of its init segment (which only the opening chunk keeps:
// the others' differ in their edit lists, not in the codec).
func readRung(dir string, keepInit bool) (rungResult, error) {
	var r rungResult
	data, err := os.ReadFile(filepath.Join(dir, mediaPlaylist))
	if err != nil {
		return r, fmt.Errorf("read media playlist: %w", err)
	}
	segs, err := parseMediaPlaylist(data)
	if err != nil {
		return r, err
	}
	for _, s := range segs {
		fi, err := os.Stat(filepath.Join(dir, s.uri))
		if err != nil {
			return r, err
		}
		r.Segs = append(r.Segs, segmentOut{URI: s.uri, Seconds: s.seconds, Bytes: fi.Size()})
	}
	init, err := os.ReadFile(filepath.Join(dir, initSegment))
	if err != nil {
		return r, fmt.Errorf("read init segment: %w", err)
	}
	if r.Codecs, err = avcCodecs(init); err != nil {
		return r, err
	}
	// Only the files to upload stay: the run's own playlist is replaced
	// by the stitched one.
	if err := os.Remove(filepath.Join(dir, mediaPlaylist)); err != nil {
		return r, err
	}
	if !keepInit {
		err = os.Remove(filepath.Join(dir, initSegment))
	}
	return r, err
}

// chunkArgs builds ffmpeg's arguments for one video chunk.
func (p *Pipeline) chunkArgs(spec *chunkSpec, c *db.Chunk, input, outDir string) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encode chunk: build ffmpeg arguments: %v", r)
		}
	}()
	l := spec.Ladder
	startFrames := int64(c.StartSeg) * int64(spec.SegFrames)
	frames := int64(c.Segs) * int64(spec.SegFrames)
	seek := ffmpeg.KwArgs{
		// Input seek to the chunk's first frame (exact: ffmpeg decodes
		// from the keyframe before and drops what precedes).
		"ss": strconv.FormatFloat(float64(startFrames)/l.FPS, 'f', 6, 64),
	}
	last := spec.isLastChunk(c)
	if !last {
		// Read a little past the end: the exact count is -frames:v's. The
		// slide-change branch is not cut there: it sees the next chunk's
		// first frames, so a slide that changes on the join (the next
		// chunk's first frame, which has nothing before it there) is found
		// here (TestChunkedSlideChangeAtJoin).
		seek["t"] = strconv.FormatFloat(float64(frames)/l.FPS+1, 'f', 6, 64)
	}
	in := p.input(&spec.Source, input, seek)
	v := in.Get(strconv.Itoa(spec.Source.Video.Index)).Filter("fps", ffmpeg.Args{l.FrameRate})
	n := len(l.Video) + p.imageBranchCount(spec, c)
	if !p.SkipScenes {
		n++
	}
	branches := []*ffmpeg.Stream{v}
	if n > 1 {
		split := v.Split()
		branches = branches[:0]
		for i := range n {
			branches = append(branches, split.Get(strconv.Itoa(i)))
		}
	}
	var outs []*ffmpeg.Stream
	if !p.SkipScenes {
		outs = append(outs, sceneOutput(sceneBranch(branches[n-1], filepath.Join(outDir, scenesFile)), outDir))
	}
	outs = append(outs, p.chunkImageOutputs(spec, c, outDir, branches[len(l.Video):])...)
	for i, r := range l.Video {
		scaled := branches[i].
			Filter("scale", ffmpeg.Args{strconv.Itoa(r.Width), strconv.Itoa(r.Height)}).
			Filter("format", ffmpeg.Args{"yuv420p"}).
			Filter("setsar", ffmpeg.Args{"1"})
		dir := filepath.Join(outDir, videoDir(i))
		o := videoOptions(r, l, dir)
		// Segment names run on from the chunks before.
		o["start_number"] = strconv.Itoa(c.StartSeg)
		if !last {
			// Exactly the chunk's frames: one more would repeat at the join.
			o["frames:v"] = strconv.FormatInt(frames, 10)
		}
		if c.StartSeg > 0 {
			// Fragments carry absolute decode times, so that they play on
			// under the opening chunk's init segment.
			o["hls_segment_options"] = "movflags=+frag_discont"
		}
		outs = append(outs, ffmpeg.Output([]*ffmpeg.Stream{scaled}, filepath.Join(dir, mediaPlaylist), o))
	}
	// The source's timestamps, from zero: a chunk's frames keep their
	// place in the lesson.
	global := append(globalArgs(), "-copyts", "-start_at_zero")
	return ffmpeg.MergeOutputs(outs...).GlobalArgs(global...).GetArgs(), nil
}

// encodeAudio encodes the audio of the whole lesson into outDir/a (see
// chunk_audio.go for how its segments are published as they are written).
func (p *Pipeline) encodeAudio(ctx context.Context, spec *chunkSpec, input, outDir string, progress func(float64)) error {
	abs, err := regularFile(input)
	if err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	if _, err = prepareOutDir(outDir, Ladder{Audio: spec.Ladder.Audio}); err != nil {
		return fmt.Errorf("encode audio: %w", err)
	}
	args, err := p.audioArgs(spec, abs, outDir)
	if err != nil {
		return err
	}
	return p.runEncode(ctx, args, outDir, spec.Source.DurationMS, niceAudio, progress)
}

func (p *Pipeline) audioArgs(spec *chunkSpec, input, outDir string) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encode audio: build ffmpeg arguments: %v", r)
		}
	}()
	// Silence to the lesson's end where the recording's sound stops
	// before its picture: the run writes the segments the playable
	// playlist planned up to the lesson's duration, not fewer.
	a := p.input(&spec.Source, input).Get(strconv.Itoa(spec.Source.Audio.Index)).
		Filter("apad", ffmpeg.Args{}, ffmpeg.KwArgs{"whole_dur": fsec(float64(spec.Source.DurationMS) / 1000)})
	out := ffmpeg.Output([]*ffmpeg.Stream{a}, filepath.Join(outDir, audioDir, mediaPlaylist),
		audioOptions(spec.Ladder.Audio, filepath.Join(outDir, audioDir)))
	return out.GlobalArgs(globalArgs()...).GetArgs(), nil
}

// runEncode runs an encode's ffmpeg, mapping a damaged input to a
// bad-input error.
func (p *Pipeline) runEncode(ctx context.Context, args []string, outDir string, durMS int64, nice int,
	progress func(float64)) error {
	res, err := p.run(ctx, command{op: "encode", bin: p.ffmpeg(), args: args, dir: outDir,
		stdout: progressReader(durMS, progress), nice: nice})
	if err != nil {
		var re *RunError
		if errors.As(err, &re) {
			if bad := classifyInputFailure(res.stderr.String(), nil, p.Limits.withDefaults()); bad != nil {
				return bad
			}
		}
		return err
	}
	return nil
}

// stitch returns the output of a plan as it stands: every rung's
// segments, taken from the chunks done and, for the others, as planned
// (whole segments, the lesson's last one as long as is left), with their
// measured bitrates, the audio rendition, and the media playlists to
// write by path. complete says every chunk is done.
func stitch(spec *chunkSpec, chunks []db.Chunk) (out *Output, playlists map[string]string, changed []changedFrame, images *chunkImages, complete bool, err error) {
	l := spec.Ladder
	rungs := make([][]segmentOut, len(l.Video))
	codecs := make([]string, len(l.Video))
	var audio *Rendition
	playlists = map[string]string{}
	images = &chunkImages{}
	complete = true
	for _, c := range chunks {
		var res chunkResult
		if c.State == db.ChunkDone || (c.Kind == db.ChunkAudio && c.Result != "") {
			if err := jsonUnmarshal(c.Result, &res); err != nil {
				return nil, nil, nil, nil, false, fmt.Errorf("chunk %d: %w", c.Index, err)
			}
		}
		if c.State != db.ChunkDone {
			complete = false
		}
		if c.Kind == db.ChunkAudio {
			audio = spec.stitchAudio(&c, &res, playlists)
			continue
		}
		images.add(&res)
		for _, f := range res.Changed {
			changed = append(changed, changedFrame{atMS: f.AtMS, share: f.Share})
		}
		for i := range l.Video {
			if c.State == db.ChunkDone && i < len(res.Rungs) {
				rungs[i] = append(rungs[i], res.Rungs[i].Segs...)
				if codecs[i] == "" {
					codecs[i] = res.Rungs[i].Codecs
				} else if codecs[i] != res.Rungs[i].Codecs {
					return nil, nil, nil, nil, false, fmt.Errorf("chunk %d of rung %s has codec %s, not %s",
						c.Index, l.Video[i].Name, res.Rungs[i].Codecs, codecs[i])
				}
				continue
			}
			rungs[i] = append(rungs[i], spec.plannedSegments(&c)...)
		}
	}
	out = &Output{Master: MasterPlaylist}
	for i, r := range l.Video {
		rend := Rendition{Name: r.Name, Kind: KindVideo, Playlist: path.Join(videoDir(i), mediaPlaylist),
			Width: r.Width, Height: r.Height, FrameRate: l.FPS, Codecs: codecs[i], Segments: len(rungs[i])}
		measureSegments(&rend, rungs[i])
		playlists[rend.Playlist] = writeMediaPlaylist(rungs[i])
		out.Renditions = append(out.Renditions, rend)
	}
	if audio != nil {
		out.Renditions = append(out.Renditions, *audio)
	}
	for _, r := range out.Renditions {
		out.DurationMS = max(out.DurationMS, r.DurationMS)
	}
	return out, playlists, changed, images, complete, nil
}

// plannedSegments are the segments video chunk c will write.
func (s chunkSpec) plannedSegments(c *db.Chunk) []segmentOut {
	var segs []segmentOut
	for k := c.StartSeg; k < c.StartSeg+c.Segs; k++ {
		frames := min(int64(s.SegFrames), s.TotalFrames-int64(k)*int64(s.SegFrames))
		segs = append(segs, segmentOut{URI: fmt.Sprintf(segmentPattern, k), Seconds: float64(frames) / s.Ladder.FPS})
	}
	return segs
}

// measureSegments sets the duration and bitrates of rend from segs; the
// bitrates count only the segments written so far.
func measureSegments(rend *Rendition, segs []segmentOut) {
	var totalSec, knownSec, knownBits, peak float64
	for _, s := range segs {
		totalSec += s.Seconds
		if s.Bytes == 0 {
			continue
		}
		bits := float64(s.Bytes) * 8
		knownSec += s.Seconds
		knownBits += bits
		// A short last segment is mostly keyframe (see measure).
		if s.Seconds >= 1 {
			peak = math.Max(peak, bits/s.Seconds)
		}
	}
	rend.DurationMS = int64(math.Round(totalSec * 1000))
	if knownSec > 0 {
		rend.AverageBandwidth = int64(math.Ceil(knownBits / knownSec))
		rend.Bandwidth = max(int64(math.Ceil(peak)), rend.AverageBandwidth)
	}
}

// writeMediaPlaylist writes the VOD media playlist of segs, as ffmpeg's
// HLS muxer does.
func writeMediaPlaylist(segs []segmentOut) string {
	target := 1.0
	for _, s := range segs {
		target = math.Max(target, s.Seconds)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n"+
		"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"%s\"\n", int(math.Round(target)), initSegment)
	for _, s := range segs {
		fmt.Fprintf(&b, "#EXTINF:%.6f,\n%s\n", s.Seconds, s.URI)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}
