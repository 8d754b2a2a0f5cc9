package transcode

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImages(t *testing.T) {
	p := newPipeline(t)

	t.Run("PosterSkipsBlackIntro", func(t *testing.T) {
		// Three black seconds, then one bright: most of the searched window
		// is black, so only skipping dark frames gives a bright poster.
		input := makeClip(t, p, "intro.mp4", "-f", "lavfi", "-i",
			"color=c=black:size=320x240:rate=10:duration=3[b];testsrc2=size=320x240:rate=10:duration=1[t];[b][t]concat=n=2:v=1:a=0",
			"-c:v", "libx264", "-preset", "ultrafast")
		src := mustProbe(t, p, input)
		outDir := t.TempDir()
		im, err := p.Images(context.Background(), src, input, outDir)
		if err != nil {
			t.Fatalf("Images: %v", err)
		}
		if im.Poster != PosterFile {
			t.Fatalf("Poster = %q, want %q", im.Poster, PosterFile)
		}
		poster := decodeFile(t, filepath.Join(outDir, im.Poster))
		if b := poster.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
			t.Errorf("poster is %dx%d, want 320x240", b.Dx(), b.Dy())
		}
		if mean := meanBrightness(poster); mean < 60 {
			t.Errorf("poster mean brightness %.0f/255: a black frame", mean)
		}
	})

	t.Run("OneTilePerTenSeconds", func(t *testing.T) {
		input := makeClip(t, p, "long.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=45",
			"-c:v", "libx264", "-preset", "ultrafast")
		src := mustProbe(t, p, input)
		outDir := t.TempDir()
		im, err := p.Images(context.Background(), src, input, outDir)
		if err != nil {
			t.Fatalf("Images: %v", err)
		}
		want := &Images{Poster: PosterFile, Thumbnails: ThumbnailsVTT, Sprites: []string{"thumbs/sprite-001.jpg"},
			Tiles: 5, TileWidth: 160, TileHeight: 120}
		if diff := cmp.Diff(want, im); diff != "" {
			t.Errorf("Images (-want +got):\n%s", diff)
		}
		sheet := decodeFile(t, filepath.Join(outDir, "thumbs", "sprite-001.jpg"))
		if b := sheet.Bounds(); b.Dx() != 5*160 || b.Dy() != 120 {
			t.Errorf("sprite sheet is %dx%d, want 800x120", b.Dx(), b.Dy())
		}
		vtt := readFile(t, filepath.Join(outDir, ThumbnailsVTT))
		wantVTT := "WEBVTT\n" +
			"\n00:00:00.000 --> 00:00:10.000\nsprite-001.jpg#xywh=0,0,160,120\n" +
			"\n00:00:10.000 --> 00:00:20.000\nsprite-001.jpg#xywh=160,0,160,120\n" +
			"\n00:00:20.000 --> 00:00:30.000\nsprite-001.jpg#xywh=320,0,160,120\n" +
			"\n00:00:30.000 --> 00:00:40.000\nsprite-001.jpg#xywh=480,0,160,120\n" +
			"\n00:00:40.000 --> 00:00:45.000\nsprite-001.jpg#xywh=640,0,160,120\n"
		if diff := cmp.Diff(wantVTT, vtt); diff != "" {
			t.Errorf("thumbs.vtt (-want +got):\n%s", diff)
		}
		if _, err := os.Stat(filepath.Join(outDir, framesDir)); !os.IsNotExist(err) {
			t.Errorf("intermediate frames left behind: %v", err)
		}
	})

	t.Run("AudioOnlyHasNoImages", func(t *testing.T) {
		input := podcastClip(t, p)
		src := mustProbe(t, p, input)
		outDir := t.TempDir()
		im, err := p.Images(context.Background(), src, input, outDir)
		if err != nil {
			t.Fatalf("Images: %v", err)
		}
		if diff := cmp.Diff(&Images{}, im); diff != "" {
			t.Errorf("Images (-want +got):\n%s", diff)
		}
		if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
			t.Errorf("wrote %d files for an audio-only lesson", len(entries))
		}
	})
}

// A long lesson's tiles spread over sheets of 10×10: 150 tiles make a full
// 1600×900 sheet and a 10×5 one, and the cues follow.
func TestSpritesAcrossSheets(t *testing.T) {
	outDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(outDir, thumbsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	var frames []string
	for i := range 150 {
		img := image.NewGray(image.Rect(0, 0, 16, 9))
		for j := range img.Pix {
			img.Pix[j] = byte(i)
		}
		name := filepath.Join(outDir, fmt.Sprintf("%06d.jpg", i+1))
		if err := encodeJPEG(name, img); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, name)
	}
	im := &Images{Tiles: len(frames), TileWidth: 16, TileHeight: 9}
	if err := writeSprites(outDir, frames, im); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"thumbs/sprite-001.jpg", "thumbs/sprite-002.jpg"}, im.Sprites); diff != "" {
		t.Errorf("sprites (-want +got):\n%s", diff)
	}
	for name, want := range map[string]image.Point{"sprite-001.jpg": {160, 90}, "sprite-002.jpg": {160, 45}} {
		if got := decodeFile(t, filepath.Join(outDir, thumbsDir, name)).Bounds().Size(); got != want {
			t.Errorf("%s is %v, want %v", name, got, want)
		}
	}
	// Tile 123 (from 0) is on the second sheet, row 2, column 3.
	sheet2 := decodeFile(t, filepath.Join(outDir, thumbsDir, "sprite-002.jpg"))
	if y := color.GrayModel.Convert(sheet2.At(3*16+8, 2*9+4)).(color.Gray).Y; y < 118 || y > 128 {
		t.Errorf("tile 123 has brightness %d, want ≈123", y)
	}

	vtt := thumbnailsVTT(im, 1495000)
	cues := strings.Split(strings.TrimPrefix(vtt, "WEBVTT\n\n"), "\n\n")
	if len(cues) != 150 {
		t.Fatalf("%d cues, want 150", len(cues))
	}
	for i, want := range map[int]string{
		0:   "00:00:00.000 --> 00:00:10.000\nsprite-001.jpg#xywh=0,0,16,9",
		99:  "00:16:30.000 --> 00:16:40.000\nsprite-001.jpg#xywh=144,81,16,9",
		123: "00:20:30.000 --> 00:20:40.000\nsprite-002.jpg#xywh=48,18,16,9",
		149: "00:24:50.000 --> 00:24:55.000\nsprite-002.jpg#xywh=144,36,16,9\n",
	} {
		if cues[i] != want {
			t.Errorf("cue %d = %q, want %q", i, cues[i], want)
		}
	}
}

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", filepath.Base(path), err)
	}
	return img
}

// meanBrightness is the mean luma of img, 0–255.
func meanBrightness(img image.Image) float64 {
	b := img.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return sum / float64(b.Dx()*b.Dy())
}
