package transcode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanLadder(t *testing.T) {
	stereo := &AudioStream{Index: 1, Codec: "aac", Channels: 2, SampleRate: 44100}
	video := func(w, h int, fps float64) *VideoStream {
		return &VideoStream{Codec: "h264", Width: w, Height: h, FPS: fps}
	}
	r1080 := Rung{"1080p", 1920, 1080, 5000, 10000}
	r720 := Rung{"720p", 1280, 720, 2800, 5600}
	r480 := Rung{"480p", 854, 480, 1400, 2800}
	r360 := Rung{"360p", 640, 360, 800, 1600}
	aac128 := &AudioRendition{BitrateKbps: 128, Channels: 2, SampleRate: 48000}

	tests := []struct {
		name string
		src  Source
		want Ladder
	}{
		{"1080p30WithAudio", Source{Video: video(1920, 1080, 30), Audio: stereo},
			Ladder{Video: []Rung{r1080, r720, r480, r360}, Audio: aac128, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"4K60NeverAbove1080p", Source{Video: video(3840, 2160, 60), Audio: stereo},
			Ladder{Video: []Rung{r1080, r720, r480, r360}, Audio: aac128, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"720pNeverUpscaled", Source{Video: video(1280, 720, 25), Audio: stereo},
			Ladder{Video: []Rung{r720, r480, r360}, Audio: aac128, FrameRate: "25", FPS: 25, GOP: 50, CRF: 23}},
		{"PortraitByShortSide", Source{Video: video(720, 1280, 30)},
			Ladder{Video: []Rung{{"720p", 720, 1280, 2800, 5600}, {"480p", 480, 854, 1400, 2800}, {"360p", 360, 640, 800, 1600}},
				FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"Under360pOneRungAtOwnSize", Source{Video: video(320, 240, 30)},
			Ladder{Video: []Rung{{"240p", 320, 240, 356, 712}}, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"OddSizeMadeEven", Source{Video: video(321, 241, 30)},
			Ladder{Video: []Rung{{"240p", 320, 240, 356, 712}}, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"ScreenRecordingGetsNativeRung", Source{Video: video(1440, 900, 30)},
			Ladder{Video: []Rung{{"900p", 1440, 900, 3900, 7800}, {"720p", 1152, 720, 2800, 5600}, {"480p", 768, 480, 1400, 2800}, {"360p", 576, 360, 800, 1600}},
				FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"CloseToAStepNoNativeRung", Source{Video: video(1366, 768, 30)},
			Ladder{Video: []Rung{{"720p", 1280, 720, 2800, 5600}, {"480p", 854, 480, 1400, 2800}, {"360p", 640, 360, 800, 1600}},
				FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"NTSC59.94Halved", Source{Video: video(1280, 720, 60000.0/1001)},
			Ladder{Video: []Rung{r720, r480, r360}, FrameRate: "30000/1001", FPS: 30000.0 / 1001, GOP: 60, CRF: 23}},
		{"50Halved", Source{Video: video(1280, 720, 50)},
			Ladder{Video: []Rung{r720, r480, r360}, FrameRate: "25", FPS: 25, GOP: 50, CRF: 23}},
		{"UnknownRate", Source{Video: video(1280, 720, 0)},
			Ladder{Video: []Rung{r720, r480, r360}, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"SlowScreenCapture", Source{Video: video(1280, 720, 10)},
			Ladder{Video: []Rung{r720, r480, r360}, FrameRate: "10", FPS: 10, GOP: 20, CRF: 23}},
		{"OddHighRateCapped", Source{Video: video(1280, 720, 44)},
			Ladder{Video: []Rung{r720, r480, r360}, FrameRate: "30", FPS: 30, GOP: 60, CRF: 23}},
		{"AudioOnly", Source{Audio: stereo},
			Ladder{Audio: aac128, CRF: 23}},
		{"MonoStaysMono", Source{Audio: &AudioStream{Channels: 1, SampleRate: 16000}},
			Ladder{Audio: &AudioRendition{BitrateKbps: 64, Channels: 1, SampleRate: 48000}, CRF: 23}},
		{"SurroundToStereo", Source{Audio: &AudioStream{Channels: 6, SampleRate: 48000}},
			Ladder{Audio: aac128, CRF: 23}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanLadder(&tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanLadder (-want +got):\n%s", diff)
			}
			for _, r := range got.Video {
				if r.Width%2 != 0 || r.Height%2 != 0 {
					t.Errorf("rung %s is %dx%d, not even", r.Name, r.Width, r.Height)
				}
				if r.Width > tt.src.Video.Width || r.Height > tt.src.Video.Height {
					t.Errorf("rung %s is %dx%d, above the %dx%d source", r.Name, r.Width, r.Height, tt.src.Video.Width, tt.src.Video.Height)
				}
			}
		})
	}
}
