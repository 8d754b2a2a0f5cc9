package transcode

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
)

func TestProbe(t *testing.T) {
	p := newPipeline(t)

	t.Run("VideoWithAudio", func(t *testing.T) {
		src := mustProbe(t, p, avClip(t, p, "320x240", "2"))
		if src.Format != "mov" || src.DurationMS < 1900 || src.DurationMS > 2100 {
			t.Errorf("source = %+v, want mov of ≈2 s", src)
		}
		want := &VideoStream{Index: 0, Codec: "h264", Width: 320, Height: 240, FPS: 30, RateFPS: 30, Frames: 60}
		if diff := cmp.Diff(want, src.Video); diff != "" {
			t.Errorf("video (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&AudioStream{Index: 1, Codec: "aac", Channels: 1, SampleRate: 44100}, src.Audio); diff != "" {
			t.Errorf("audio (-want +got):\n%s", diff)
		}
	})

	t.Run("MatroskaWithoutAudio", func(t *testing.T) {
		src := mustProbe(t, p, silentClip(t, p, "1"))
		if src.Format != "matroska" || src.Video == nil || src.Video.FPS != 25 || src.Audio != nil {
			t.Errorf("source = %+v (video %+v), want silent 25 fps matroska", src, src.Video)
		}
	})

	t.Run("CoverArtIsNotVideo", func(t *testing.T) {
		src := mustProbe(t, p, podcastClip(t, p))
		if src.Format != "mp3" || src.Video != nil || src.Audio == nil || src.Audio.Codec != "mp3" {
			t.Errorf("source = %+v, want audio-only mp3", src)
		}
	})
}

// Every class of bad upload ends with its own reason, as a bad-input error
// a teacher can read.
func TestProbeRejects(t *testing.T) {
	p := newPipeline(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'e', 'c', 't', 'e', 'r', 'n'}))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	moovAtEnd := makeClip(t, p, "recording.mp4",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-c:v", "libx264", "-preset", "ultrafast")
	srt := write("subs.srt", "1\n00:00:00,000 --> 00:00:01,000\nWelcome\n")
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	if _, err := zw.Create("lesson.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	small := avClip(t, p, "320x240", "2")

	tests := []struct {
		name   string
		p      *Pipeline
		path   string
		reason string
	}{
		{"Empty", p, write("empty.mp4", ""), "The file is empty"},
		{"RandomBytes", p, write("random.mp4", string(random)), "The file is damaged or incomplete: no audio or video"},
		{"TruncatedMP4", p, truncateCopy(t, moovAtEnd, 0.5), "The file is damaged or incomplete: the recording was not finished properly"},
		{"HLSPlaylistPointingAtHTTP", p, write("lesson.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n"), "This looks like a playlist, not a video file"},
		{"HLSPlaylistPointingAtEtcPasswd", p, write("lesson.mov", "#EXTM3U\n#EXTINF:4,\n/etc/passwd\n#EXT-X-ENDLIST\n"), "This looks like a playlist, not a video file"},
		{"ConcatList", p, write("lesson.mkv", "ffconcat version 1.0\nfile /etc/passwd\n"), "This looks like a playlist, not a video file"},
		{"TextFile", p, write("notes.mp4", "Today we look at derivatives.\n"), "Unsupported file type (text)"},
		{"Image", p, makeClip(t, p, "slide.png", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1", "-frames:v", "1"), "Unsupported file type (PNG image)"},
		{"ZIPNamedMP4", p, write("archive.mp4", zipped.String()), "Unsupported file type (ZIP archive)"},
		{"WindowsMedia", p, makeClip(t, p, "lesson.wmv", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "wmv2", "-f", "asf"), "Unsupported file type (Windows Media)"},
		{"SubtitlesOnly", p, makeClip(t, p, "subs.mkv", "-i", srt), "This file has no video or audio track"},
		{"TooLarge", &Pipeline{FFmpeg: p.FFmpeg, FFprobe: p.FFprobe, Limits: Limits{MaxWidth: 160, MaxHeight: 120}}, small, "The video is 320×240, larger than the 160×120 we accept"},
		{"TooManyFramesPerSecond", &Pipeline{FFmpeg: p.FFmpeg, FFprobe: p.FFprobe, Limits: Limits{MaxFPS: 24}}, small, "The video runs at 30 frames per second; the limit is 24"},
		{"TooLong", &Pipeline{FFmpeg: p.FFmpeg, FFprobe: p.FFprobe, Limits: Limits{MaxDuration: time.Second}}, small, "The recording is 2 s long; the limit is 1 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := tt.p.Probe(context.Background(), tt.path)
			if err == nil {
				t.Fatalf("Probe accepted it: %+v", src)
			}
			if !IsBadInput(err) {
				t.Fatalf("Probe: %v; want a bad-input error", err)
			}
			if msg := lectern.ErrorMessage(err); !strings.HasPrefix(msg, tt.reason) {
				t.Errorf("reason = %q, want it to start with %q", msg, tt.reason)
			}
		})
	}
}

// A playlist is refused from its first bytes: with an ffprobe that cannot
// even be started, Probe still gives the playlist reason, so no process
// ever opened the file, let alone what it points at.
func TestProbeRefusesPlaylistsBeforeRunningAnything(t *testing.T) {
	p := newPipeline(t)
	broken := &Pipeline{FFmpeg: "/nonexistent/ffmpeg", FFprobe: "/nonexistent/ffprobe"}
	playlist := filepath.Join(t.TempDir(), "lesson.mp4")
	if err := os.WriteFile(playlist, []byte("#EXTM3U\n#EXTINF:4,\nfile:///etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := broken.Probe(context.Background(), playlist)
	if msg := lectern.ErrorMessage(err); !IsBadInput(err) || msg != "This looks like a playlist, not a video file" {
		t.Errorf("Probe(playlist) = %v, want the playlist reason", err)
	}
	// The same pipeline does fail, transiently, on a real video: the check
	// above could fail.
	_, err = broken.Probe(context.Background(), avClip(t, p, "160x120", "1"))
	var re *RunError
	if !errors.As(err, &re) || IsBadInput(err) {
		t.Errorf("Probe(video) with no ffprobe = %v, want a RunError", err)
	}
}

// Behind the sniffing, ffprobe's own allowlists refuse a playlist that
// slipped through without following it: no connection reaches the URL.
func TestFFprobeDoesNotFollowPlaylists(t *testing.T) {
	p := newPipeline(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	playlist := filepath.Join(t.TempDir(), "lesson.mp4")
	body := fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttp://%s/seg.ts\n#EXT-X-ENDLIST\n", ln.Addr())
	if err := os.WriteFile(playlist, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = p.probeJSON(context.Background(), playlist, nil) // no sniffing
	if msg := lectern.ErrorMessage(err); !IsBadInput(err) || msg != "This looks like a playlist, not a video file" {
		t.Errorf("ffprobe on a playlist: %v, want the playlist reason", err)
	}
	// A connection ffprobe made would be waiting in the listen queue by now.
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Errorf("ffprobe connected to %s", ln.Addr())
	}
}

func TestCheckLimits(t *testing.T) {
	limits := DefaultLimits()
	video := func(w, h int, fps float64) *VideoStream { return &VideoStream{Width: w, Height: h, FPS: fps} }
	tests := []struct {
		name   string
		src    Source
		reason string // "" when accepted
	}{
		{"OK", Source{DurationMS: 3600000, Video: video(1920, 1080, 30)}, ""},
		{"AudioOnly", Source{DurationMS: 1000, Audio: &AudioStream{}}, ""},
		{"Portrait8KFits", Source{DurationMS: 1000, Video: video(4320, 7680, 30)}, ""},
		{"Nothing", Source{DurationMS: 1000}, "This file has no video or audio track"},
		{"Huge", Source{DurationMS: 1000, Video: video(20000, 20000, 30)}, "The video is 20000×20000, larger than the 7680×4320 we accept"},
		{"JustTooWide", Source{DurationMS: 1000, Video: video(7682, 4320, 30)}, "The video is 7682×4320, larger than the 7680×4320 we accept"},
		{"Tiny", Source{DurationMS: 1000, Video: video(8, 8, 30)}, "The video is 8×8, smaller than the 16×16 we accept"},
		{"NoSize", Source{DurationMS: 1000, Video: video(0, 0, 30)}, "The file is damaged or incomplete: the picture size cannot be read"},
		{"AbsurdRate", Source{DurationMS: 1000, Video: video(640, 480, 1000)}, "The video runs at 1000 frames per second; the limit is 120"},
		{"CountedRate", Source{DurationMS: 1000, Video: &VideoStream{Width: 640, Height: 480, RateFPS: 9999.5}}, "The video runs at 9999.5 frames per second; the limit is 120"},
		{"SixHoursAt60", Source{DurationMS: 6 * 3600000, Video: video(640, 480, 60)}, ""},
		{"SixHoursAt120", Source{DurationMS: 6 * 3600000, Video: video(640, 480, 120)}, "The recording has 2592000 frames; the limit is 1296000"},
		{"StatedFrames", Source{DurationMS: 1000, Video: &VideoStream{Width: 640, Height: 480, FPS: 30, Frames: 2000000}}, "The recording has 2000000 frames; the limit is 1296000"},
		{"NineHours", Source{DurationMS: 9 * 3600000, Audio: &AudioStream{}}, "The recording is 9 h long; the limit is 6 h"},
		{"JustOver", Source{DurationMS: 6*3600000 + 30000, Audio: &AudioStream{}}, "The recording is 6 h 1 min long; the limit is 6 h"},
		{"NoDuration", Source{Audio: &AudioStream{}}, "The file is damaged or incomplete: its length cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkLimits(&tt.src, limits)
			if tt.reason == "" {
				if err != nil {
					t.Errorf("checkLimits: %v, want accepted", err)
				}
				return
			}
			if !IsBadInput(err) || lectern.ErrorMessage(err) != tt.reason {
				t.Errorf("checkLimits: %v, want %q", err, tt.reason)
			}
		})
	}
}

func TestSourceFromProbe(t *testing.T) {
	// As ffprobe reports a phone's portrait recording (stored landscape with
	// a display matrix), with a data track and a non-default second audio.
	const phone = `{"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"12.345000"},"streams":[
	 {"index":0,"codec_type":"video","codec_name":"hevc","width":1920,"height":1080,"sample_aspect_ratio":"1:1",
	  "avg_frame_rate":"30000/1001","side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}],"disposition":{"default":1}},
	 {"index":1,"codec_type":"audio","codec_name":"aac","channels":2,"sample_rate":"48000","disposition":{"default":0}},
	 {"index":2,"codec_type":"audio","codec_name":"aac","channels":1,"sample_rate":"44100","disposition":{"default":1}},
	 {"index":3,"codec_type":"data","codec_name":"bin_data"}]}`
	// Anamorphic DV: 720×576 stored, 16:9 displayed.
	const dv = `{"format":{"format_name":"avi","duration":"N/A"},"streams":[
	 {"index":0,"codec_type":"video","codec_name":"dvvideo","width":720,"height":576,"sample_aspect_ratio":"64:45",
	  "avg_frame_rate":"25/1","duration":"4.000000"}]}`
	tests := []struct {
		name, json string
		want       *Source
	}{
		{"RotatedPhone", phone, &Source{Format: "mov", DurationMS: 12345,
			Video: &VideoStream{Index: 0, Codec: "hevc", Width: 1080, Height: 1920, FPS: 30000.0 / 1001,
				RateFPS: 30000.0 / 1001, Frames: 370, Rotation: 90},
			Audio: &AudioStream{Index: 2, Codec: "aac", Channels: 1, SampleRate: 44100}}},
		{"NonSquarePixels", dv, &Source{Format: "avi", DurationMS: 4000,
			Video: &VideoStream{Index: 0, Codec: "dvvideo", Width: 1024, Height: 576, FPS: 25, RateFPS: 25, Frames: 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out probeOutput
			if err := json.Unmarshal([]byte(tt.json), &out); err != nil {
				t.Fatal(err)
			}
			got, err := sourceFromProbe(&out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
		})
	}
}

// The rate the limits apply to, and the frame count, from what ffprobe
// reports of a stream (values as ffprobe printed them for real files).
func TestFrameFigures(t *testing.T) {
	tests := []struct {
		name                string
		avg, r, frames, pkt string
		durationMS          int64
		rate                float64
		count               int64
	}{
		{"MP4States30", "30/1", "30/1", "300", "300", 10000, 30, 300},
		{"MP4At10000FPS", "10000/1", "10000/1", "10000", "10000", 1000, 10000, 10000},
		// Matroska at 1000 fps and more: no average rate, r_frame_rate
		// stuck at the millisecond time base; the count tells.
		{"MatroskaAt1000FPS", "0/0", "1000/1", "", "1000", 1000, 1000, 1000},
		{"MatroskaAt10000FPS", "0/0", "1000/1", "", "10000", 1000, 10000, 10000},
		// One frame a minute: r_frame_rate is the time base again.
		{"SparseWebM", "0/0", "1000/1", "", "1", 86400000, 0.1, 8640},
		{"LyingDefaultDuration", "25/1", "25/1", "", "10000", 60000, 1000, 60000},
		{"CountWithinAFrameOrTwo", "30/1", "30/1", "", "302", 60000, 30, 1800},
		{"NothingCounted", "0/0", "50/1", "", "", 2000, 50, 100},
		{"StatedFramesBeyondRate", "30/1", "30/1", "5000000", "300", 10000, 30, 5000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := probeStream{AvgFrameRate: tt.avg, RFrameRate: tt.r, NbFrames: tt.frames, NbReadPackets: tt.pkt}
			rate, frames := frameFigures(s, ratio(tt.avg, "/"), tt.durationMS)
			if rate != tt.rate || frames != tt.count {
				t.Errorf("frameFigures = %v fps, %d frames; want %v, %d", rate, frames, tt.rate, tt.count)
			}
		})
	}
}
