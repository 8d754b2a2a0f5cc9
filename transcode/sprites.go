package transcode

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// sheetColumns and sheetRows bound a sprite sheet: 100 tiles, 1000 s of
// lesson, a 1600×900 JPEG for 16:9 tiles.
const (
	sheetColumns = 10
	sheetRows    = 10
	framesDir    = ".thumbframes"
)

// thumbnails extracts one frame per ThumbnailInterval with ffmpeg, then
// lays the frames out on sprite sheets here: the tile count is then exact
// (never a padded, black tile) and the WebVTT cues match the sheets.
func (p *Pipeline) thumbnails(ctx context.Context, src *Source, abs, outDir string) (*Images, error) {
	frames, err := makeThumbDirs(outDir)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(frames)
	tile := thumbTile(src)
	args, err := p.thumbnailArgs(src, abs, frames, tile.Width, tile.Height)
	if err != nil {
		return nil, err
	}
	if _, err := p.run(ctx, command{op: "thumbnails", bin: p.ffmpeg(), args: args, dir: outDir}); err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(frames, "*.jpg"))
	if err != nil {
		return nil, fmt.Errorf("thumbnails: %w", err)
	}
	sort.Strings(names)
	want := int(math.Ceil(float64(src.DurationMS) / float64(ThumbnailInterval.Milliseconds())))
	if len(names) > want {
		names = names[:want]
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("thumbnails: ffmpeg wrote no frame")
	}
	return layoutThumbnails(src, outDir, names, tile)
}

// layoutThumbnails lays out the thumbnail frames names (in order) on
// sprite sheets in outDir and writes their WebVTT track.
func layoutThumbnails(src *Source, outDir string, names []string, tile Rung) (*Images, error) {
	im := &Images{Thumbnails: ThumbnailsVTT, Tiles: len(names), TileWidth: tile.Width, TileHeight: tile.Height}
	if err := writeSprites(outDir, names, im); err != nil {
		return nil, fmt.Errorf("thumbnails: %w", err)
	}
	vtt := thumbnailsVTT(im, src.DurationMS)
	if err := os.WriteFile(filepath.Join(outDir, filepath.FromSlash(ThumbnailsVTT)), []byte(vtt), 0o644); err != nil {
		return nil, fmt.Errorf("thumbnails: %w", err)
	}
	return im, nil
}

// makeThumbDirs makes the thumbnails' directory in outDir and a scratch
// directory for their frames, which it returns.
func makeThumbDirs(outDir string) (frames string, err error) {
	frames = filepath.Join(outDir, framesDir)
	for _, d := range []string{frames, filepath.Join(outDir, thumbsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("thumbnails: %w", err)
		}
	}
	return frames, nil
}

// thumbTile is the size of src's thumbnails.
func thumbTile(src *Source) Rung {
	w, h := src.Video.Width, src.Video.Height
	return scaledRung(w, h, min(thumbShort(w, h), floorEven(min(w, h))), 0)
}

// thumbShort is the short side of a tile whose long side is thumbLong.
func thumbShort(w, h int) int {
	s := float64(thumbLong) * float64(min(w, h)) / float64(max(w, h))
	return max(2, floorEven(int(math.Round(s))))
}

// thumbnailArgs builds the ffmpeg arguments that write one w×h JPEG per
// ThumbnailInterval into dir.
func (p *Pipeline) thumbnailArgs(src *Source, abs, dir string, w, h int) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("thumbnails: build ffmpeg arguments: %v", r)
		}
	}()
	// Deblocking is invisible at 160 pixels; skipping it speeds up the
	// one full decode this needs.
	in := p.input(src, abs, ffmpeg.KwArgs{"skip_loop_filter": "all"})
	every := strconv.Itoa(int(ThumbnailInterval / time.Second))
	v := in.Get(strconv.Itoa(src.Video.Index)).
		// The player's timeline starts at 0 whatever the file's first timestamp.
		Filter("setpts", ffmpeg.Args{"PTS-STARTPTS"}).
		// A constant rate first, so a long still stretch (screen recorders
		// write no frames while nothing moves) still gets its tiles.
		Filter("fps", ffmpeg.Args{"1"}).
		// Then the first frame at or after each interval's start.
		Filter("select", ffmpeg.Args{"gte(t," + every + "*selected_n)"}).
		Filter("scale", ffmpeg.Args{strconv.Itoa(w), strconv.Itoa(h)}).
		Filter("setsar", ffmpeg.Args{"1"})
	out := v.Output(filepath.Join(dir, "%06d.jpg"), ffmpeg.KwArgs{
		// Keep the selected frames as they are: no duplicates to fill a
		// constant output rate.
		"fps_mode":     "passthrough",
		"q:v":          "3",
		"map_metadata": "-1",
	})
	return out.GlobalArgs(imageGlobalArgs()...).GetArgs(), nil
}

// sheetName is the i-th sprite sheet's file name (from 1).
func sheetName(i int) string { return fmt.Sprintf("sprite-%03d.jpg", i+1) }

// sheetLayout returns the columns and rows of a sheet holding n tiles.
func sheetLayout(n int) (cols, rows int) {
	cols = min(n, sheetColumns)
	return cols, (n + cols - 1) / cols
}

// writeSprites lays the frames out on sheets of up to 10×10 tiles, left to
// right then top to bottom, and records the sheets in im.
func writeSprites(outDir string, frames []string, im *Images) error {
	perSheet := sheetColumns * sheetRows
	for first := 0; first < len(frames); first += perSheet {
		chunk := frames[first:min(first+perSheet, len(frames))]
		cols, rows := sheetLayout(len(chunk))
		sheet := image.NewRGBA(image.Rect(0, 0, cols*im.TileWidth, rows*im.TileHeight))
		for i, name := range chunk {
			tile, err := decodeJPEG(name)
			if err != nil {
				return err
			}
			at := image.Pt(i%cols*im.TileWidth, i/cols*im.TileHeight)
			draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(image.Pt(im.TileWidth, im.TileHeight))}, tile, tile.Bounds().Min, draw.Src)
		}
		rel := path.Join(thumbsDir, sheetName(first/perSheet))
		if err := encodeJPEG(filepath.Join(outDir, filepath.FromSlash(rel)), sheet); err != nil {
			return err
		}
		im.Sprites = append(im.Sprites, rel)
	}
	return nil
}

func decodeJPEG(name string) (image.Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Base(name), err)
	}
	return img, nil
}

func encodeJPEG(name string, img image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 80}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// thumbnailsVTT writes the WebVTT track: tile i covers [i, i+1) intervals,
// the last one running to the end of the lesson.
func thumbnailsVTT(im *Images, durationMS int64) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	perSheet := sheetColumns * sheetRows
	step := ThumbnailInterval.Milliseconds()
	for i := range im.Tiles {
		start, end := int64(i)*step, int64(i+1)*step
		if i == im.Tiles-1 || end > durationMS {
			end = max(durationMS, start+1)
		}
		cols, _ := sheetLayout(min(perSheet, im.Tiles-i/perSheet*perSheet))
		j := i % perSheet
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(start), vttTime(end), sheetName(i/perSheet),
			j%cols*im.TileWidth, j/cols*im.TileHeight, im.TileWidth, im.TileHeight)
	}
	return b.String()
}

// vttTime writes milliseconds as WebVTT's hh:mm:ss.ttt.
func vttTime(ms int64) string {
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
