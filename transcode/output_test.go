package transcode

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
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

func TestSniff(t *testing.T) {
	tests := []struct {
		name, head, reason string // reason "" when let through to ffprobe
	}{
		{"MP4", "\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", ""},
		{"Matroska", "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", ""},
		{"MP3", "ID3\x04\x00\x00\x00\x00\x00\x23TSSE", ""},
		{"ADTS", "\xff\xf1\x50\x80\x02\x1f\xfc", ""},
		{"Empty", "", "The file is empty"},
		{"HLSWithBOM", "\xef\xbb\xbf#EXTM3U\n#EXTINF:10,\nhttp://example.com/a.ts\n", "This looks like a playlist, not a video file"},
		{"PLS", "[playlist]\nFile1=http://example.com/stream\n", "This looks like a playlist, not a video file"},
		{"SDP", "v=0\no=- 0 0 IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n", "This looks like a playlist, not a video file"},
		{"PathList", "/home/teacher/lesson1.mp4\n/home/teacher/lesson2.mp4\n", "This looks like a playlist, not a video file"},
		{"Prose", "Chapter 1\r\nLimits and continuity.\r\n", "Unsupported file type (text)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sniff([]byte(tt.head))
			if tt.reason == "" {
				if err != nil {
					t.Errorf("sniff refused it: %v", err)
				}
				return
			}
			if msg := lectern.ErrorMessage(err); !IsBadInput(err) || !strings.HasPrefix(msg, tt.reason) {
				t.Errorf("sniff = %v, want %q", err, tt.reason)
			}
		})
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
