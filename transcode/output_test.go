package transcode

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMasterPlaylist(t *testing.T) {
	video := []Rendition{
		{Name: "720p", Kind: KindVideo, Playlist: "v0/index.m3u8", Width: 1280, Height: 720, FrameRate: 30000.0 / 1001,
			Codecs: "avc1.64001f", Bandwidth: 2500000, AverageBandwidth: 1200000},
		{Name: "360p", Kind: KindVideo, Playlist: "v1/index.m3u8", Width: 640, Height: 360, FrameRate: 30000.0 / 1001,
			Codecs: "avc1.64001e", Bandwidth: 700000, AverageBandwidth: 350000},
	}
	audio := Rendition{Name: "audio", Kind: KindAudio, Playlist: "a/index.m3u8", Channels: 2, Codecs: aacLC,
		Bandwidth: 131000, AverageBandwidth: 129000}
	t.Run("VideoAndAudio", func(t *testing.T) {
		golden(t, "master-video-audio.m3u8", masterPlaylist(&Output{Renditions: append(video[:2:2], audio)}))
	})
	t.Run("VideoOnly", func(t *testing.T) {
		golden(t, "master-video.m3u8", masterPlaylist(&Output{Renditions: video}))
	})
	t.Run("AudioOnly", func(t *testing.T) {
		golden(t, "master-audio.m3u8", masterPlaylist(&Output{AudioOnly: true, Renditions: []Rendition{audio}}))
	})
}

func TestParseMediaPlaylist(t *testing.T) {
	const head = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"init.mp4\"\n"
	segs, err := parseMediaPlaylist([]byte(head + "#EXTINF:4.000000,\nseg_00000.m4s\n#EXTINF:1.5,\nseg_00001.m4s\n#EXT-X-ENDLIST\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]segment{{"seg_00000.m4s", 4}, {"seg_00001.m4s", 1.5}}, segs, cmp.AllowUnexported(segment{})); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	for name, body := range map[string]string{
		"Unfinished":  head + "#EXTINF:4,\nseg_00000.m4s\n",
		"AbsoluteURI": head + "#EXTINF:4,\n/etc/passwd\n#EXT-X-ENDLIST\n",
		"URL":         head + "#EXTINF:4,\nhttp://example.com/a.m4s\n#EXT-X-ENDLIST\n",
		"Escape":      head + "#EXTINF:4,\n../a/seg.m4s\n#EXT-X-ENDLIST\n",
		"NotHLS":      "hello\n",
	} {
		if _, err := parseMediaPlaylist([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestProgressReader(t *testing.T) {
	// As ffmpeg 5.1 writes it with -progress, for a 10 s source.
	const stream = `frame=0
out_time_us=N/A
out_time_ms=N/A
progress=continue
frame=75
out_time_us=2500000
out_time_ms=2500000
progress=continue
frame=75
out_time_us=2500000
out_time_ms=2500000
progress=continue
frame=299
out_time_us=9966667
out_time_ms=9966667
progress=continue
frame=300
out_time_us=10000000
out_time_ms=10000000
progress=end
`
	var got []float64
	if err := progressReader(10000, func(p float64) { got = append(got, p) })(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{0, 25, 99.6, 100}, got); diff != "" {
		t.Errorf("percents (-want +got):\n%s", diff)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(64)
	for i := range 100 {
		tb.Write([]byte(strings.Repeat("x", i%7) + "\n"))
	}
	tb.Write([]byte("Error opening output file: No space left on device\n"))
	if got := tb.Lines(1); got != "Error opening output file: No space left on device" {
		t.Errorf("last line = %q", got)
	}
	if len(tb.String()) > 64 {
		t.Errorf("kept %d bytes, max 64", len(tb.String()))
	}
}

func TestTimeout(t *testing.T) {
	if got, want := Timeout(time.Hour.Milliseconds()), 3*time.Hour+10*time.Minute; got != want {
		t.Errorf("Timeout(1 h) = %v, want %v", got, want)
	}
	if got := Timeout(0); got != 10*time.Minute {
		t.Errorf("Timeout(0) = %v, want 10m", got)
	}
}
