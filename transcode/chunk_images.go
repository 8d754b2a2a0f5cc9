package transcode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"
	"golang.org/x/sync/errgroup"

	"github.com/lectern/lectern/db"
)

// Images of a chunked transcode come from the chunks' own decode: each
// chunk's ffmpeg writes, as more branches of its filter graph, the
// scrubbing thumbnails whose times fall in it (the first frame at or after
// every ThumbnailInterval of the lesson, as the single-process path picks
// them) and a poster candidate for each poster window it overlaps. They
// are stored with the chunk's segments under the plan's prefix (in
// chunkImagesDir) and named in its result; the publication fetches them,
// lays out the sprite sheets, picks the poster, and deletes them: no
// second pass over the source, and no image in the results that every
// chunk's completion reads.

const (
	chunkThumbPattern = "thumb-%06d.jpg"
	// chunkPosterName is what ffmpeg writes for a poster window;
	// chunkPosterPattern names it by window and chunk when stored (a
	// window may span chunks).
	chunkPosterName    = "poster-%d.jpg"
	chunkPosterPattern = "poster-%d-%d.jpg"
	chunkImagesDir     = ".chunkimages"
)

// chunkThumb is one scrubbing thumbnail: the Index-th of the lesson,
// stored as chunkThumbPattern. JPEG holds its bytes once fetched (and, in
// results written before the images were stored, always).
type chunkThumb struct {
	Index int    `json:"i"`
	JPEG  []byte `json:"jpeg,omitempty"`
}

// posterCandidate is a chunk's pick for poster window Window, from
// Overlap seconds of it, stored as Name (chunkPosterPattern); JPEG as
// for chunkThumb.
type posterCandidate struct {
	Window  int     `json:"window"`
	Overlap float64 `json:"overlap"`
	Name    string  `json:"name,omitempty"`
	JPEG    []byte  `json:"jpeg,omitempty"`
}

// chunkSpan is the stretch of the lesson, in seconds, that chunk c
// encodes; the last chunk runs to the end.
func (s chunkSpec) chunkSpan(c *db.Chunk) (start, end float64) {
	start = float64(int64(c.StartSeg)*int64(s.SegFrames)) / s.Ladder.FPS
	end = float64(int64(c.StartSeg+c.Segs)*int64(s.SegFrames)) / s.Ladder.FPS
	if s.isLastChunk(c) {
		end = math.Inf(1)
	}
	return start, end
}

// firstThumb is the index of the first thumbnail at or after start.
func firstThumb(start float64) int {
	return int(math.Ceil(start/ThumbnailInterval.Seconds() - 1e-9))
}

// fsec writes seconds for an ffmpeg expression.
func fsec(s float64) string { return strconv.FormatFloat(s, 'f', 6, 64) }

// chunkImageOutputs are the outputs of chunk c's thumbnail and poster
// branches, fed from branches (imageBranchCount of them): the thumbnails
// whose times fall in the chunk, and a poster pick for each part of a
// poster window it holds.
func (p *Pipeline) chunkImageOutputs(spec *chunkSpec, c *db.Chunk, outDir string, branches []*ffmpeg.Stream) []*ffmpeg.Stream {
	dir := filepath.Join(outDir, chunkImagesDir)
	start, end := spec.chunkSpan(c)
	inChunk := "gte(t," + fsec(start-1e-4) + ")"
	if !math.IsInf(end, 1) {
		inChunk += "*lt(t," + fsec(end-1e-4) + ")"
	}
	tile := thumbTile(&spec.Source)
	every := fsec(ThumbnailInterval.Seconds())
	// The first frame at or after each interval's start: less than one
	// frame past a multiple of the interval.
	pick := inChunk + "*lt(mod(t+1e-4," + every + ")," + fsec(1/spec.Ladder.FPS) + ")"
	thumbs := branches[0].
		Filter("select", ffmpeg.Args{pick}).
		Filter("scale", ffmpeg.Args{strconv.Itoa(tile.Width), strconv.Itoa(tile.Height)}).
		Filter("setsar", ffmpeg.Args{"1"})
	outs := []*ffmpeg.Stream{thumbs.Output(filepath.Join(dir, chunkThumbPattern), ffmpeg.KwArgs{
		"f": "image2", "start_number": strconv.Itoa(firstThumb(start)),
		"fps_mode": "passthrough", "q:v": "3", "map_metadata": "-1",
	})}
	for i, win := range p.chunkPosterWindows(spec, c) {
		w := posterWindows(spec.Source.DurationMS)[win.index]
		v := branches[1+i].
			Filter("select", ffmpeg.Args{"gte(t," + fsec(win.start) + ")*lt(t," + fsec(win.end) + ")"}).
			Filter("fps", ffmpeg.Args{"2"})
		outs = append(outs, posterBranch(&spec.Source, v, w.pickBright).
			Output(filepath.Join(dir, fmt.Sprintf(chunkPosterName, win.index)), ffmpeg.KwArgs{
				"frames:v": "1", "q:v": "3", "update": "1", "map_metadata": "-1",
			}))
	}
	return outs
}

// chunkWindow is the part of poster window index that a chunk holds.
type chunkWindow struct {
	index      int
	start, end float64
}

// chunkPosterWindows are the parts of the poster windows in chunk c.
func (p *Pipeline) chunkPosterWindows(spec *chunkSpec, c *db.Chunk) []chunkWindow {
	start, end := spec.chunkSpan(c)
	var out []chunkWindow
	for i, w := range posterWindows(spec.Source.DurationMS) {
		a := math.Max(start, w.start.Seconds())
		b := math.Min(end, (w.start + w.length).Seconds())
		if b > a {
			out = append(out, chunkWindow{i, a, b})
		}
	}
	return out
}

// imageBranchCount is how many split outputs chunk c's images take.
func (p *Pipeline) imageBranchCount(spec *chunkSpec, c *db.Chunk) int {
	return 1 + len(p.chunkPosterWindows(spec, c))
}

// readChunkImages names in res what the image branches of chunk c wrote
// into outDir/chunkImagesDir, and leaves there only those files, under
// the names they are stored by.
func (p *Pipeline) readChunkImages(spec *chunkSpec, c *db.Chunk, outDir string, res *chunkResult) error {
	dir := filepath.Join(outDir, chunkImagesDir)
	start, _ := spec.chunkSpan(c)
	for k := firstThumb(start); ; k++ {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf(chunkThumbPattern, k)))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		res.Thumbs = append(res.Thumbs, chunkThumb{Index: k})
	}
	for _, w := range p.chunkPosterWindows(spec, c) {
		path := filepath.Join(dir, fmt.Sprintf(chunkPosterName, w.index))
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue // every frame of the part was dark: ffmpeg wrote nothing
		case err != nil:
			return err
		case fi.Size() == 0:
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		name := fmt.Sprintf(chunkPosterPattern, w.index, c.StartSeg)
		if err := os.Rename(path, filepath.Join(dir, name)); err != nil {
			return err
		}
		res.Posters = append(res.Posters, posterCandidate{Window: w.index, Overlap: w.end - w.start, Name: name})
	}
	return nil
}

// chunkImages gathers the images of a plan's done chunks.
type chunkImages struct {
	thumbs  []chunkThumb
	posters []posterCandidate
}

func (ci *chunkImages) add(res *chunkResult) {
	ci.thumbs = append(ci.thumbs, res.Thumbs...)
	ci.posters = append(ci.posters, res.Posters...)
}

// fetch reads into ci, a few at a time, the bytes of the images stored
// in chunkImagesDir, by name.
func (ci *chunkImages) fetch(ctx context.Context, read func(ctx context.Context, name string) ([]byte, error)) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(uploadParallel)
	get := func(name string, dst *[]byte) {
		if *dst != nil {
			return // in the result itself: written before images were stored
		}
		g.Go(func() error {
			b, err := read(ctx, name)
			if err != nil {
				return fmt.Errorf("chunk image %s: %w", name, err)
			}
			*dst = b
			return nil
		})
	}
	for i := range ci.thumbs {
		get(fmt.Sprintf(chunkThumbPattern, ci.thumbs[i].Index), &ci.thumbs[i].JPEG)
	}
	for i := range ci.posters {
		get(ci.posters[i].Name, &ci.posters[i].JPEG)
	}
	return g.Wait()
}

// writeChunkImages writes the poster, sprite sheets and WebVTT track of
// a chunked transcode into outDir from the chunks' images (fetched), as
// Images writes them from the source.
func writeChunkImages(src *Source, ci *chunkImages, outDir string) (*Images, error) {
	if src.Video == nil {
		return &Images{}, nil
	}
	// The poster: the first window with a candidate, from the chunk that
	// held most of it.
	sort.SliceStable(ci.posters, func(i, j int) bool {
		a, b := ci.posters[i], ci.posters[j]
		if a.Window != b.Window {
			return a.Window < b.Window
		}
		return a.Overlap > b.Overlap
	})
	if len(ci.posters) == 0 {
		return nil, errors.New("poster: no chunk wrote a frame")
	}
	if err := os.WriteFile(filepath.Join(outDir, PosterFile), ci.posters[0].JPEG, 0o644); err != nil {
		return nil, fmt.Errorf("poster: %w", err)
	}
	frames, err := makeThumbDirs(outDir)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(frames)
	sort.Slice(ci.thumbs, func(i, j int) bool { return ci.thumbs[i].Index < ci.thumbs[j].Index })
	want := int(math.Ceil(float64(src.DurationMS) / float64(ThumbnailInterval.Milliseconds())))
	var names []string
	for _, t := range ci.thumbs {
		if t.Index >= want {
			break
		}
		name := filepath.Join(frames, fmt.Sprintf("%06d.jpg", t.Index))
		if err := os.WriteFile(name, t.JPEG, 0o644); err != nil {
			return nil, fmt.Errorf("thumbnails: %w", err)
		}
		// A tile no chunk wrote (a frame the pick missed) shows the one
		// before (or, at the start, this one), so that later tiles keep
		// their times.
		for len(names) < t.Index {
			if len(names) == 0 {
				names = append(names, name)
			} else {
				names = append(names, names[len(names)-1])
			}
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, errors.New("thumbnails: no chunk wrote a frame")
	}
	im, err := layoutThumbnails(src, outDir, names, thumbTile(src))
	if err != nil {
		return nil, err
	}
	im.Poster = PosterFile
	return im, nil
}
