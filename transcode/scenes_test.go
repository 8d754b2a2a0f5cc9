package transcode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/testenv"
)

// A slide lecture's changes are found on the encode's own decode, each
// within one look (1/sceneRate s) of the moment the slide changed, with
// nothing for the pointer's moves; a picture in constant motion has none;
// the branch's file never reaches the output.
func TestEncodeFindsSlideChanges(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	encode := func(t *testing.T, input string) *Output {
		t.Helper()
		src := mustProbe(t, p, input)
		out := t.TempDir()
		o, err := p.Encode(context.Background(), src, input, out, PlanLadder(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(out, scenesFile)); !os.IsNotExist(err) {
			t.Errorf("the scene file is left in the output directory (uploaded with it): %v", err)
		}
		return o
	}
	t.Run("Slides", func(t *testing.T) {
		t.Parallel()
		const slides, seconds = 5, 6
		o := encode(t, testenv.SlideLecture(t, slides, seconds))
		var got []int64
		for _, s := range o.Scenes {
			got = append(got, s.AtMS)
		}
		if len(got) != slides-1 {
			t.Fatalf("found changes at %v ms; want %d, at every %d s", got, slides-1, seconds)
		}
		const tolerance = 1000 / sceneRate
		for i, at := range got {
			want := int64(i+1) * seconds * 1000
			if at < want-tolerance || at > want+tolerance {
				t.Errorf("change %d at %d ms; want %d ± %d", i+1, at, want, tolerance)
			}
		}
	})
	t.Run("ConstantMotion", func(t *testing.T) {
		t.Parallel()
		if o := encode(t, avClip(t, p, "320x240", "8")); len(o.Scenes) != 0 {
			t.Errorf("a moving test picture gave slide changes: %+v", o.Scenes)
		}
	})
}

func TestSlideChanges(t *testing.T) {
	// frames at ms with a share of 1 %.
	frames := func(ms ...int64) []changedFrame {
		var out []changedFrame
		for _, at := range ms {
			out = append(out, changedFrame{atMS: at, share: 0.01})
		}
		return out
	}
	at := func(cs []SceneChange) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.AtMS)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		frames   []changedFrame
		duration int64
		want     []int64
	}{
		{"None", nil, 60000, nil},
		{"CutsThenStill", frames(10000, 30000, 50000), 60000, []int64{10000, 30000, 50000}},
		{"TransitionStartsIt", frames(10000, 10200, 10400, 10600), 60000, []int64{10000}},
		{"LongMotionIsVideo", frames(10000, 10400, 10800, 11200, 11600, 12000, 12400, 12800, 13200, 13600), 60000, nil},
		{"NotStillLongEnough", frames(10000, 13000, 30000), 60000, []int64{13000, 30000}},
		{"LastSlideRunsToTheEnd", frames(10000, 56000), 61000, []int64{10000, 56000}},
		{"LastSlideTooShort", frames(10000, 58000), 61000, []int64{10000}},
		{"TheStartIsNoChapter", frames(200, 20000), 60000, []int64{20000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, at(slideChanges(tc.frames, tc.duration))); diff != "" {
				t.Errorf("slideChanges (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("LargestKeptWhenTooMany", func(t *testing.T) {
		var fs []changedFrame
		for i := range 300 {
			fs = append(fs, changedFrame{atMS: int64(i+1) * 10000, share: float64(i%3+1) / 100})
		}
		got := slideChanges(fs, 400*10000)
		if len(got) != 200 {
			t.Fatalf("%d changes, want 200", len(got))
		}
		for i, c := range got {
			if c.Share < 0.02 || (i > 0 && c.AtMS <= got[i-1].AtMS) {
				t.Fatalf("change %d: %+v (want the 200 largest, by time)", i, c)
			}
		}
	})
}

func TestParseScenes(t *testing.T) {
	in := "frame:0    pts:30      pts_time:6\nlavfi.signalstats.YAVG=2.55\n" +
		"frame:1    pts:31      pts_time:6.2\nlavfi.other=1\n" +
		"frame:2    pts:N/A     pts_time:N/A\nlavfi.signalstats.YAVG=9\n" +
		"frame:3    pts:60      pts_time:12.04\nlavfi.signalstats.YAVG=25.5\n"
	got, err := parseScenes(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []changedFrame{{atMS: 6000, share: 0.01}, {atMS: 12040, share: 0.1}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(changedFrame{}), cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("parseScenes (-want +got):\n%s", diff)
	}
}
