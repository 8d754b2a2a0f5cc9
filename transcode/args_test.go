package transcode

import (
	"strings"
	"testing"
	"time"
)

// The argument lists for a few source shapes, checked against golden files
// under testdata/ (go test -run TestArgsGolden -update rewrites them).
func TestArgsGolden(t *testing.T) {
	const input, outDir = "/job/source", "/job/out"
	p := &Pipeline{}
	sources := []struct {
		name string
		src  Source
	}{
		{"1080p-audio", Source{Format: "mov", DurationMS: 60000,
			Video: &VideoStream{Index: 0, Codec: "h264", Width: 1920, Height: 1080, FPS: 30},
			Audio: &AudioStream{Index: 1, Codec: "aac", Channels: 2, SampleRate: 48000}}},
		{"720p-portrait-silent", Source{Format: "mov", DurationMS: 30000,
			Video: &VideoStream{Index: 0, Codec: "hevc", Width: 720, Height: 1280, FPS: 60, Rotation: 90}}},
		{"240p-audio", Source{Format: "matroska", DurationMS: 10000,
			Video: &VideoStream{Index: 1, Codec: "vp9", Width: 320, Height: 240, FPS: 25},
			Audio: &AudioStream{Index: 0, Codec: "opus", Channels: 1, SampleRate: 48000}}},
		{"audio-only", Source{Format: "mp3", DurationMS: 3600000,
			Audio: &AudioStream{Index: 0, Codec: "mp3", Channels: 2, SampleRate: 44100}}},
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			args, err := p.encodeArgs(&s.src, input, outDir, PlanLadder(&s.src))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "encode-"+s.name+".args", strings.Join(args, "\n")+"\n")
		})
	}
	t.Run("images-1080p", func(t *testing.T) {
		src := &sources[0].src
		poster, err := p.posterArgs(src, input, outDir+"/"+PosterFile, posterWindows(src.DurationMS)[0])
		if err != nil {
			t.Fatal(err)
		}
		thumbs, err := p.thumbnailArgs(src, input, outDir+"/"+framesDir, 160, 90)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "images-1080p.args", strings.Join(poster, "\n")+"\n\n"+strings.Join(thumbs, "\n")+"\n")
	})
}

func TestPosterWindows(t *testing.T) {
	// A ten-minute lesson is searched from 1:00 (a tenth in, past titles),
	// then from the middle, then the first frame at 1:00 whatever it is.
	w := posterWindows((10 * time.Minute).Milliseconds())
	if len(w) != 3 || w[0].start != time.Minute || w[1].start != 5*time.Minute || !w[0].pickBright || w[2].pickBright {
		t.Errorf("posterWindows(10 min) = %+v", w)
	}
	// A three-second clip stays within the clip.
	for _, x := range posterWindows(3000) {
		if x.start+x.length > 3*time.Second || x.length <= 0 {
			t.Errorf("window %+v leaves a 3 s clip", x)
		}
	}
}
