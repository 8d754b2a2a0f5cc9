package transcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Image layout in the output directory.
const (
	// PosterFile is the poster's name in the output directory.
	PosterFile = "poster.jpg"
	// ThumbnailsVTT is the WebVTT track of the scrubbing thumbnails.
	ThumbnailsVTT = "thumbs/thumbs.vtt"
	thumbsDir     = "thumbs"
	// ThumbnailInterval is the time one scrubbing thumbnail stands for,
	// however long the lesson.
	ThumbnailInterval = 10 * time.Second
	// thumbLong is the long side of a thumbnail tile, in pixels.
	thumbLong = 160
	// posterShort caps the poster's short side.
	posterShort = 720
)

// Images describes the pictures Images wrote. Paths are relative to the
// output directory, with forward slashes.
type Images struct {
	// Poster is PosterFile; "" for an audio-only source.
	Poster string
	// Thumbnails is ThumbnailsVTT, whose cues point into Sprites with
	// "sprite-001.jpg#xywh=x,y,w,h" (relative to the VTT); "" for an
	// audio-only source.
	Thumbnails string
	// Sprites are the sheets of tiles, in order.
	Sprites []string
	// Tiles is the number of thumbnails, one per ThumbnailInterval.
	Tiles int
	// TileWidth and TileHeight are the size of one thumbnail.
	TileWidth, TileHeight int
}

// Images writes a poster from a representative frame (not a black or
// fade-in frame) and the scrubbing thumbnails: one tile per
// ThumbnailInterval, on sprite sheets of up to 10×10 tiles, with a WebVTT
// track. An audio-only source gets no images and an empty *Images. Inputs
// and errors are as for Encode.
func (p *Pipeline) Images(ctx context.Context, src *Source, input, outDir string) (*Images, error) {
	if src.Video == nil {
		return &Images{}, nil
	}
	abs, err := regularFile(input)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if !filepath.IsAbs(outDir) {
		return nil, setupErrorf("images: output directory %q is not absolute", outDir)
	}
	outDir = filepath.Clean(outDir)
	if err := p.poster(ctx, src, abs, outDir); err != nil {
		return nil, err
	}
	im, err := p.thumbnails(ctx, src, abs, outDir)
	if err != nil {
		return nil, err
	}
	im.Poster = PosterFile
	return im, nil
}

// posterWindow is a stretch of the recording searched for the poster.
type posterWindow struct {
	start, length time.Duration
	// pickBright drops near-black frames before choosing.
	pickBright bool
}

// posterWindows are the places searched for a poster, in order: 20 s from
// a tenth of the way in (past titles and fade-ins), then from the middle;
// if both are dark, the first frame of the first window, whatever it is.
func posterWindows(durationMS int64) []posterWindow {
	d := time.Duration(durationMS) * time.Millisecond
	first := min(d/10, time.Minute)
	return []posterWindow{
		{first, min(20*time.Second, d-first), true},
		{d / 2, min(20*time.Second, d-d/2), true},
		{first, min(20*time.Second, d-first), false},
	}
}

func (p *Pipeline) poster(ctx context.Context, src *Source, abs, outDir string) error {
	dst := filepath.Join(outDir, PosterFile)
	for _, w := range posterWindows(src.DurationMS) {
		if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("poster: %w", err)
		}
		args, err := p.posterArgs(src, abs, dst, w)
		if err != nil {
			return err
		}
		if _, err := p.run(ctx, command{op: "poster", bin: p.ffmpeg(), args: args, dir: outDir}); err != nil {
			return err
		}
		// When every frame of the window was dark, ffmpeg writes nothing.
		if fi, err := os.Stat(dst); err == nil && fi.Size() > 0 {
			return nil
		}
	}
	return errors.New("poster: ffmpeg wrote no frame")
}

// posterArgs builds the ffmpeg arguments that write the poster for window w.
func (p *Pipeline) posterArgs(src *Source, abs, dst string, w posterWindow) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("poster: build ffmpeg arguments: %v", r)
		}
	}()
	in := p.input(src, abs, ffmpeg.KwArgs{
		// Input-side seek and duration: only the window is decoded.
		"ss": seconds3(w.start),
		"t":  seconds3(w.length),
	})
	// Two frames a second are plenty to choose from.
	v := posterBranch(src, in.Get(strconv.Itoa(src.Video.Index)).Filter("fps", ffmpeg.Args{"2"}), w.pickBright)
	out := v.Output(dst, ffmpeg.KwArgs{
		"frames:v": "1",
		"q:v":      "3",
		// One image, not a numbered sequence.
		"update":       "1",
		"map_metadata": "-1",
	})
	return out.GlobalArgs(imageGlobalArgs()...).GetArgs(), nil
}

// posterBranch picks the poster from the frames of v: with pickBright,
// not a near-black one; the frame closest to their average look, rather
// than a transition; scaled to the poster's size.
func posterBranch(src *Source, v *ffmpeg.Stream, pickBright bool) *ffmpeg.Stream {
	if pickBright {
		// Keep frames whose mean luma is clearly above black (16).
		v = v.Filter("signalstats", nil).Filter("metadata", nil, ffmpeg.KwArgs{
			"mode": "select", "key": "lavfi.signalstats.YAVG", "function": "greater", "value": "24",
		})
	}
	short := min(floorEven(min(src.Video.Width, src.Video.Height)), posterShort)
	size := scaledRung(src.Video.Width, src.Video.Height, short, 0)
	// thumbnail picks the frame closest to the window's average look,
	// rather than a transition.
	return v.Filter("thumbnail", nil, ffmpeg.KwArgs{"n": "40"}).
		Filter("scale", ffmpeg.Args{strconv.Itoa(size.Width), strconv.Itoa(size.Height)}).
		Filter("setsar", ffmpeg.Args{"1"})
}

// imageGlobalArgs apply to the image runs: errors only, as the JPEG
// encoder warns about full-range pixel formats on every run.
func imageGlobalArgs() []string {
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}
}

// seconds3 writes d in seconds with millisecond precision, as ffmpeg's
// -ss and -t take it.
func seconds3(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
