package transcode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// The audio of a chunked transcode is one ffmpeg run over the whole
// lesson: AAC primes every run with silence, so audio encoded in pieces
// would click at the joins (see the project notes). That run is cheap
// (about 5 CPU seconds per 10 minutes) but not instant, so its segments
// are published as it writes them: the lesson plays once the opening
// video chunk and as many seconds of audio are stored, not the whole
// lesson's audio. The run goes on far faster than anyone plays it.

// aacFrame is the samples of one AAC frame.
const aacFrame = 1024

// audioPoll is how often the audio piece looks for segments its run has
// finished; audioRecordEvery how often, at most, it records how far it
// is (the lesson's readiness line and held media requests read it).
const (
	audioPoll        = 200 * time.Millisecond
	audioRecordEvery = time.Second
)

// plannedAudioSegments are the segments the audio run writes, as ffmpeg's
// HLS muxer cuts them: at the first AAC frame at or after each multiple
// of SegmentSeconds (so 4.0107 s and 3.9893 s in turn at 48 kHz), up to
// the source's duration. The run may end with one more, a few frames
// long: its own playlist, read once it is done, is the final word.
func (s chunkSpec) plannedAudioSegments() []segmentOut {
	a := s.Ladder.Audio
	if a == nil || a.SampleRate <= 0 {
		return nil
	}
	rate := int64(a.SampleRate)
	frames := int64(math.Ceil(float64(s.Source.DurationMS) * float64(rate) / 1000 / aacFrame))
	var segs []segmentOut
	for k, start := int64(0), int64(0); start < frames; k++ {
		end := min(frames, ((k+1)*SegmentSeconds*rate+aacFrame-1)/aacFrame)
		segs = append(segs, segmentOut{URI: fmt.Sprintf(segmentPattern, k),
			Seconds: float64((end-start)*aacFrame) / float64(rate)})
		start = end
	}
	return segs
}

// stitchAudio returns the audio rendition of a plan from its audio piece
// c (res its result so far), and puts its media playlist in playlists:
// every segment as written once the piece is done, else as planned, with
// the bitrate of those stored so far.
func (s chunkSpec) stitchAudio(c *db.Chunk, res *chunkResult, playlists map[string]string) *Rendition {
	if c.State == db.ChunkDone && len(res.AudioSegs) == 0 {
		return res.Audio // done before AudioSegs were kept: its run stored its own playlist
	}
	segs := res.AudioSegs
	if c.State != db.ChunkDone {
		segs = s.plannedAudioSegments()
		for i, stored := range res.AudioSegs {
			if i < len(segs) && stored.URI == segs[i].URI {
				segs[i].Bytes = stored.Bytes
			}
		}
	}
	a := s.Ladder.Audio
	rend := Rendition{Name: "audio", Kind: KindAudio, Playlist: path.Join(audioDir, mediaPlaylist),
		Channels: a.Channels, Codecs: aacLC, Segments: len(segs)}
	measureSegments(&rend, segs)
	if rend.AverageBandwidth == 0 {
		// Nothing stored yet: the rate the encoder is set to.
		rend.AverageBandwidth = int64(a.BitrateKbps) * 1000
		rend.Bandwidth = rend.AverageBandwidth
	}
	playlists[rend.Playlist] = writeMediaPlaylist(segs)
	return &rend
}

// readAudio reads back what the audio run wrote in outDir: its segments,
// measured, with the sizes of those already uploaded (and removed) taken
// from stored. Its playlist is removed: the stitched one replaces it.
func readAudio(outDir string, stored map[string]int64) (*chunkResult, error) {
	dir := filepath.Join(outDir, audioDir)
	data, err := os.ReadFile(filepath.Join(dir, mediaPlaylist))
	if err != nil {
		return nil, fmt.Errorf("read audio playlist: %w", err)
	}
	segs, err := parseMediaPlaylist(data)
	if err != nil {
		return nil, fmt.Errorf("audio playlist: %w", err)
	}
	res := &chunkResult{}
	for _, seg := range segs {
		n, ok := stored[seg.uri]
		if !ok {
			fi, err := os.Stat(filepath.Join(dir, seg.uri))
			if err != nil {
				return nil, fmt.Errorf("audio segment: %w", err)
			}
			n = fi.Size()
		}
		res.AudioSegs = append(res.AudioSegs, segmentOut{URI: seg.uri, Seconds: seg.seconds, Bytes: n})
	}
	if len(res.AudioSegs) == 0 {
		return nil, errors.New("the audio run wrote no segment")
	}
	return res, os.Remove(filepath.Join(dir, mediaPlaylist))
}

// audioPublisher stores the segments of a running audio piece as its run
// finishes them, in order, and records how far it is.
type audioPublisher struct {
	h     *Handler
	p     ChunkPayload
	plan  *db.Plan
	spec  *chunkSpec
	c     *db.Chunk
	dir   string // the run's audio directory
	log   *slog.Logger
	next  int // the first segment not stored yet
	sizes map[string]int64
	// recorded is when progress was last recorded; announced that the
	// opening audio is recorded and the playable publication tried.
	recorded  time.Time
	announced bool
}

// encodeAudioPublishing runs the audio piece c into outDir, storing each
// segment under the plan's prefix as soon as the run has finished it and
// publishing the lesson playable once the opening's audio is stored (if
// the opening video chunk is); it returns the piece's result with every
// segment stored.
func (h *Handler) encodeAudioPublishing(ctx context.Context, p ChunkPayload, plan *db.Plan, spec *chunkSpec, c *db.Chunk,
	input, outDir string, kick func(), log *slog.Logger) (*chunkResult, error) {
	a := &audioPublisher{h: h, p: p, plan: plan, spec: spec, c: c, dir: filepath.Join(outDir, audioDir), log: log,
		sizes: map[string]int64{}}
	run, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var pubErr error
	wg.Go(func() {
		t := time.NewTicker(audioPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if err := a.store(run, false); err != nil {
				pubErr = err
				stop(err)
				return
			}
		}
	})
	err := h.Pipeline.encodeAudio(run, spec, input, outDir, func(float64) { kick() })
	close(done)
	wg.Wait()
	if pubErr != nil {
		return nil, pubErr
	}
	if err != nil {
		return nil, err
	}
	if err := a.store(ctx, true); err != nil {
		return nil, err
	}
	return readAudio(outDir, a.sizes)
}

// store uploads the segments the run has finished since the last call:
// a segment is finished once the next one exists (ffmpeg writes them in
// order), or, at the end (final), once it exists. The init segment goes
// first. While the run goes on, it records progress, and the first time
// the opening is covered it publishes what the plan allows.
func (a *audioPublisher) store(ctx context.Context, final bool) error {
	n := a.next
	for exists(filepath.Join(a.dir, fmt.Sprintf(segmentPattern, n))) &&
		(final || exists(filepath.Join(a.dir, fmt.Sprintf(segmentPattern, n+1)))) {
		n++
	}
	if n == a.next {
		return nil
	}
	names := []string{}
	if a.next == 0 {
		names = append(names, initSegment)
	}
	for k := a.next; k < n; k++ {
		names = append(names, fmt.Sprintf(segmentPattern, k))
	}
	for _, name := range names {
		file := filepath.Join(a.dir, name)
		fi, err := os.Stat(file)
		if err != nil {
			return err
		}
		if err := a.h.uploadFile(ctx, filepath.Dir(a.dir), file, a.plan.Prefix); err != nil {
			return err
		}
		a.sizes[name] = fi.Size()
		if err := os.Remove(file); err != nil {
			return err
		}
	}
	a.next = n
	if final || (time.Since(a.recorded) < audioRecordEvery && (a.announced || n < openingSegs)) {
		return nil
	}
	return a.record(ctx)
}

// record records the segments stored so far on the piece, and publishes
// the lesson playable the first time they cover the opening.
func (a *audioPublisher) record(ctx context.Context) error {
	res := chunkResult{}
	for k := range a.next {
		name := fmt.Sprintf(segmentPattern, k)
		res.AudioSegs = append(res.AudioSegs, segmentOut{URI: name, Bytes: a.sizes[name]})
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	err = a.h.DB.RecordChunkProgress(ctx, a.c, a.next, string(b))
	if lectern.ErrorCode(err) == lectern.ECONFLICT {
		return errLeaseLost
	}
	if err != nil {
		return err
	}
	a.recorded = time.Now()
	if !a.announced && a.next >= openingSegs {
		a.announced = true
		if err := a.h.advance(ctx, a.p, a.log); err != nil {
			// The opening chunk's delivery publishes it as well.
			a.log.Warn("publish playable after the opening audio", "error", err)
		}
	}
	return nil
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
