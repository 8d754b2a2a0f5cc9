package transcode

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A thumbnail that no chunk wrote does not fail the publication or shift
// the later tiles: its tile repeats the one before, and the track keeps a
// cue per ThumbnailInterval.
func TestChunkImagesFillAMissingTile(t *testing.T) {
	src := &Source{DurationMS: 30000, Video: &VideoStream{Width: 1280, Height: 720}}
	tile := thumbTile(src)
	grey := func(y uint8) []byte {
		img := image.NewGray(image.Rect(0, 0, tile.Width, tile.Height))
		for i := range img.Pix {
			img.Pix[i] = y
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	ci := &chunkImages{
		thumbs:  []chunkThumb{{Index: 2, JPEG: grey(200)}, {Index: 0, JPEG: grey(40)}},
		posters: []posterCandidate{{Window: 0, Overlap: 20, JPEG: grey(120)}},
	}
	out := t.TempDir()
	im, err := writeChunkImages(src, ci, out)
	if err != nil {
		t.Fatal(err)
	}
	if im.Tiles != 3 {
		t.Fatalf("%d tiles, want 3 (one per 10 s of 30 s)", im.Tiles)
	}
	vtt, err := os.ReadFile(filepath.Join(out, ThumbnailsVTT))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(vtt), "-->"); n != 3 {
		t.Errorf("%d cues, want 3:\n%s", n, vtt)
	}
	sheet := decodeFile(t, filepath.Join(out, im.Sprites[0]))
	at := func(i int) uint8 {
		return color.GrayModel.Convert(sheet.At(i*tile.Width+tile.Width/2, tile.Height/2)).(color.Gray).Y
	}
	if a, b, c := at(0), at(1), at(2); b > a+10 || c < 180 {
		t.Errorf("tiles' grey levels %d, %d, %d; want the missing middle one to repeat the first (40) and the last at 200", a, b, c)
	}
}
