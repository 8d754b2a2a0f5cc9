package transcode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncode(t *testing.T) {
	p := newPipeline(t)

	t.Run("VideoWithAudio", func(t *testing.T) {
		input := avClip(t, p, "640x480", "6")
		src := mustProbe(t, p, input)
		l := PlanLadder(src)
		outDir := t.TempDir()
		var percents []float64
		out, err := p.Encode(context.Background(), src, input, outDir, l, func(pct float64) { percents = append(percents, pct) })
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}

		var got []string
		for _, r := range out.Renditions {
			got = append(got, fmt.Sprintf("%s %s %dx%d", r.Name, r.Playlist, r.Width, r.Height))
		}
		want := []string{"480p v0/index.m3u8 640x480", "360p v1/index.m3u8 480x360", "audio a/index.m3u8 0x0"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("renditions (-want +got):\n%s", diff)
		}
		for _, r := range out.Renditions {
			checkMediaPlaylist(t, outDir, r, 6)
		}
		checkVideoStreams(t, p, outDir, out)
		checkKeyframesAligned(t, p, outDir, out, 6)
		checkMeasuredBandwidth(t, outDir, out)
		master := readFile(t, filepath.Join(outDir, MasterPlaylist))
		checkMaster(t, master, out, true)

		if len(percents) == 0 || percents[len(percents)-1] != 100 {
			t.Errorf("progress ended at %v, want 100", percents)
		}
		for i := 1; i < len(percents); i++ {
			if percents[i] < percents[i-1] {
				t.Errorf("progress went backwards: %v", percents)
			}
		}
	})

	t.Run("VideoWithoutAudio", func(t *testing.T) {
		input := silentClip(t, p, "3")
		src := mustProbe(t, p, input)
		outDir := t.TempDir()
		out, err := p.Encode(context.Background(), src, input, outDir, PlanLadder(src), nil)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if len(out.Renditions) != 1 || out.Renditions[0].Kind != KindVideo || out.Renditions[0].Width != 320 {
			t.Fatalf("renditions = %+v, want one 320×240 video rendition", out.Renditions)
		}
		master := readFile(t, filepath.Join(outDir, MasterPlaylist))
		checkMaster(t, master, out, false)
		if strings.Contains(master, "EXT-X-MEDIA") || strings.Contains(master, "AUDIO=") || strings.Contains(master, "mp4a") {
			t.Errorf("master of a silent video mentions audio:\n%s", master)
		}
		if !strings.Contains(master, "FRAME-RATE=25.000") {
			t.Errorf("master lacks the source's 25 fps:\n%s", master)
		}
	})

	t.Run("AudioOnly", func(t *testing.T) {
		input := podcastClip(t, p)
		src := mustProbe(t, p, input)
		outDir := t.TempDir()
		out, err := p.Encode(context.Background(), src, input, outDir, PlanLadder(src), nil)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if !out.AudioOnly || len(out.Renditions) != 1 || out.Renditions[0].Kind != KindAudio {
			t.Fatalf("output = %+v, want one audio rendition, AudioOnly", out)
		}
		checkMediaPlaylist(t, outDir, out.Renditions[0], 3)
		master := readFile(t, filepath.Join(outDir, MasterPlaylist))
		want := fmt.Sprintf("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=\"mp4a.40.2\"\na/index.m3u8\n",
			out.Renditions[0].Bandwidth, out.Renditions[0].AverageBandwidth)
		if diff := cmp.Diff(want, master); diff != "" {
			t.Errorf("master (-want +got):\n%s", diff)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		input := avClip(t, p, "320x240", "6")
		src := mustProbe(t, p, input)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := p.Encode(ctx, src, input, t.TempDir(), PlanLadder(src), func(float64) { cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Encode after cancel: err = %v, want context.Canceled", err)
		}
		if IsBadInput(err) {
			t.Errorf("a canceled encode blames the input: %v", err)
		}
	})

	t.Run("CutOffAfterIndex", func(t *testing.T) {
		// The index is at the front (faststart) and promises 6 s, but the
		// upload stopped halfway: ffmpeg reads what there is and exits 0.
		full := makeClip(t, p, "faststart.mp4",
			"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6",
			"-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart")
		input := truncateCopy(t, full, 0.5)
		src := mustProbe(t, p, input)
		_, err := p.Encode(context.Background(), src, input, t.TempDir(), PlanLadder(src), nil)
		if !IsBadInput(err) || !strings.Contains(err.Error(), "damaged or incomplete: only") {
			t.Fatalf("Encode of a cut-off file: err = %v, want a bad-input error saying how much could be read", err)
		}
	})
}

// checkMediaPlaylist checks a rendition's playlist is a finished HLS v7
// VOD playlist of fMP4 segments of about SegmentSeconds, totalling about
// wantSeconds.
func checkMediaPlaylist(t *testing.T, outDir string, r Rendition, wantSeconds float64) {
	t.Helper()
	pl := readFile(t, filepath.Join(outDir, r.Playlist))
	for _, tag := range []string{"#EXT-X-VERSION:7", "#EXT-X-PLAYLIST-TYPE:VOD", `#EXT-X-MAP:URI="init.mp4"`, "#EXT-X-ENDLIST"} {
		if !strings.Contains(pl, tag) {
			t.Errorf("%s lacks %s:\n%s", r.Playlist, tag, pl)
		}
	}
	segs, err := parseMediaPlaylist([]byte(pl))
	if err != nil {
		t.Fatalf("%s: %v", r.Playlist, err)
	}
	total := 0.0
	for i, s := range segs {
		total += s.seconds
		if i < len(segs)-1 && math.Abs(s.seconds-SegmentSeconds) > 0.1 {
			t.Errorf("%s: segment %d lasts %.3f s, want ≈%d s", r.Playlist, i, s.seconds, SegmentSeconds)
		}
	}
	if math.Abs(total-wantSeconds) > 0.2 {
		t.Errorf("%s lasts %.3f s, want ≈%.0f s", r.Playlist, total, wantSeconds)
	}
	if r.Segments != len(segs) {
		t.Errorf("%s: Segments = %d, playlist has %d", r.Playlist, r.Segments, len(segs))
	}
}

// checkVideoStreams checks with ffprobe that each video rendition has the
// planned size and that its CODECS string matches the H.264 profile and
// level actually encoded.
func checkVideoStreams(t *testing.T, p *Pipeline, outDir string, out *Output) {
	t.Helper()
	for _, r := range out.Renditions {
		if r.Kind != KindVideo {
			continue
		}
		var info struct {
			Streams []struct {
				Width, Height int
				Profile       string
				Level         int
			}
		}
		ffprobeJSON(t, p, &info, "-show_entries", "stream=width,height,profile,level",
			filepath.Join(outDir, r.Playlist))
		if len(info.Streams) != 1 {
			t.Fatalf("%s: %d streams, want 1", r.Playlist, len(info.Streams))
		}
		s := info.Streams[0]
		if s.Width != r.Width || s.Height != r.Height {
			t.Errorf("%s is %dx%d, want %dx%d", r.Playlist, s.Width, s.Height, r.Width, r.Height)
		}
		if want := fmt.Sprintf("avc1.6400%02x", s.Level); s.Profile != "High" || r.Codecs != want {
			t.Errorf("%s: profile %s level %d, CODECS %q, want %q", r.Playlist, s.Profile, s.Level, r.Codecs, want)
		}
	}
}

// checkKeyframesAligned checks that every video rendition has keyframes
// every GOPSeconds at the same instants (counted from the first frame:
// B-frames delay every rung's timestamps alike).
func checkKeyframesAligned(t *testing.T, p *Pipeline, outDir string, out *Output, seconds int) {
	t.Helper()
	var want []string
	for k := 0; k*GOPSeconds < seconds; k++ {
		want = append(want, strconv.Itoa(k*GOPSeconds))
	}
	for _, r := range out.Renditions {
		if r.Kind != KindVideo {
			continue
		}
		var info struct {
			Packets []struct {
				PTSTime string `json:"pts_time"`
				Flags   string
			}
		}
		ffprobeJSON(t, p, &info, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
			filepath.Join(outDir, r.Playlist))
		var keys []string
		first := math.NaN()
		for _, pk := range info.Packets {
			f, _ := strconv.ParseFloat(pk.PTSTime, 64)
			if math.IsNaN(first) || f < first {
				first = f
			}
		}
		for _, pk := range info.Packets {
			if strings.HasPrefix(pk.Flags, "K") {
				f, _ := strconv.ParseFloat(pk.PTSTime, 64)
				keys = append(keys, strconv.FormatFloat(math.Round((f-first)*100)/100, 'f', -1, 64))
			}
		}
		if diff := cmp.Diff(want, keys); diff != "" {
			t.Errorf("%s keyframe times (-want +got):\n%s", r.Playlist, diff)
		}
	}
}

// checkMeasuredBandwidth recomputes each rendition's average bitrate from
// the segment files on disk.
func checkMeasuredBandwidth(t *testing.T, outDir string, out *Output) {
	t.Helper()
	for _, r := range out.Renditions {
		segs, err := filepath.Glob(filepath.Join(outDir, filepath.Dir(r.Playlist), "seg_*.m4s"))
		if err != nil || len(segs) == 0 {
			t.Fatalf("%s: no segments (%v)", r.Playlist, err)
		}
		var bytes int64
		for _, s := range segs {
			fi, err := os.Stat(s)
			if err != nil {
				t.Fatal(err)
			}
			bytes += fi.Size()
		}
		avg := float64(bytes*8) / (float64(r.DurationMS) / 1000)
		if math.Abs(avg-float64(r.AverageBandwidth)) > avg*0.01 {
			t.Errorf("%s: AverageBandwidth %d, segments on disk give %.0f", r.Playlist, r.AverageBandwidth, avg)
		}
		if r.Bandwidth < r.AverageBandwidth {
			t.Errorf("%s: peak %d below average %d", r.Playlist, r.Bandwidth, r.AverageBandwidth)
		}
	}
}

// checkMaster checks the master playlist lists every video rendition with
// its attributes, and the audio group when there is audio.
func checkMaster(t *testing.T, master string, out *Output, withAudio bool) {
	t.Helper()
	if !strings.HasPrefix(master, "#EXTM3U\n#EXT-X-VERSION:7\n") {
		t.Errorf("master does not start with #EXTM3U and version 7:\n%s", master)
	}
	lines := strings.Split(master, "\n")
	variants := 0
	for i, line := range lines {
		attrs, ok := strings.CutPrefix(line, "#EXT-X-STREAM-INF:")
		if !ok || i+1 >= len(lines) {
			continue
		}
		variants++
		uri := lines[i+1]
		for _, r := range out.Renditions {
			if r.Playlist != uri || r.Kind != KindVideo {
				continue
			}
			for _, want := range []string{"BANDWIDTH=", "AVERAGE-BANDWIDTH=", fmt.Sprintf("RESOLUTION=%dx%d", r.Width, r.Height),
				`CODECS="` + r.Codecs, fmt.Sprintf("FRAME-RATE=%.3f", r.FrameRate)} {
				if !strings.Contains(attrs, want) {
					t.Errorf("variant %s lacks %s: %s", uri, want, attrs)
				}
			}
			if withAudio && (!strings.Contains(attrs, `AUDIO="audio"`) || !strings.Contains(attrs, "mp4a.40.2")) {
				t.Errorf("variant %s lacks the audio group: %s", uri, attrs)
			}
		}
	}
	wantVariants := len(out.Renditions)
	if variants != wantVariants {
		t.Errorf("master has %d variants, want %d:\n%s", variants, wantVariants, master)
	}
	if withAudio && !strings.Contains(master, `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"`) {
		t.Errorf("master lacks the audio rendition group:\n%s", master)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// truncateCopy copies the first fraction of the file at path.
func truncateCopy(t *testing.T, path string, fraction float64) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cut-"+filepath.Base(path))
	if err := os.WriteFile(out, b[:int(float64(len(b))*fraction)], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
