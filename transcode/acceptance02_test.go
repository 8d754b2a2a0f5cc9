package transcode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

// RELIABILITY 2: an HLS playlist, an ffconcat list, a DASH manifest and
// an SDP description, each renamed .mp4 and pointing at a file outside the
// job's directory and at a canary HTTP server on loopback, are refused by
// the demuxer allowlist: by the upload's own check of the first bytes, by
// ffprobe's -format_whitelist when that check is bypassed, and by
// ffmpeg's on the encode, poster and thumbnail inputs should a probe ever
// name such a demuxer. Neither the outside file nor the canary is ever
// opened. Every input of every ffmpeg and ffprobe run carries both a
// protocol and a demuxer allowlist; a run without them is refused.
func TestAcceptance2_PlaylistsRefusedByDemuxerAllowlist(t *testing.T) {
	p := newPipeline(t)
	outside := newFIFOCanary(t)
	web := newHTTPCanary(t)
	playlists := []struct {
		name, demuxer, body string
	}{
		{"HLS", "hls", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile://" + outside.path +
			"\n#EXTINF:4,\n" + web.url + "/seg.ts\n#EXT-X-ENDLIST\n"},
		{"FFconcat", "concat", "ffconcat version 1.0\nfile '" + outside.path + "'\nfile '" + web.url + "/part.mp4'\n"},
		{"DASH", "dash", `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" codecs="avc1.42c00d" width="64" height="64">
<BaseURL>` + web.url + `/v.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>
`},
		{"SDP", "sdp", "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=lesson\nc=IN IP4 127.0.0.1\nt=0 0\nm=video " +
			web.port + " RTP/AVP 96\na=rtpmap:96 H264/90000\n"},
	}
	ctx := context.Background()
	for _, pl := range playlists {
		t.Run(pl.name, func(t *testing.T) {
			job := t.TempDir()
			input := filepath.Join(job, "source.mp4")
			if err := os.WriteFile(input, []byte(pl.body), 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(job, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			wantPlaylist := func(step string, err error) {
				t.Helper()
				if !IsBadInput(err) || lectern.ErrorMessage(err) != lectern.PlaylistError().Message {
					t.Errorf("%s: %v; want %q", step, err, lectern.PlaylistError().Message)
				}
			}
			_, err := p.Probe(ctx, input)
			wantPlaylist("Probe", err)
			// Past the first-bytes check: ffprobe's allowlist alone.
			_, err = p.probeJSON(ctx, input, nil)
			wantPlaylist("ffprobe", err)
			// As if a probe had named the playlist's demuxer: ffmpeg's
			// allowlist on the encode, poster and thumbnail inputs.
			src := &Source{Format: pl.demuxer, DurationMS: 4000,
				Video: &VideoStream{Width: 64, Height: 64, FPS: 25}}
			_, err = p.Encode(ctx, src, input, out, PlanLadder(src), nil)
			wantPlaylist("Encode", err)
			_, err = p.Images(ctx, src, input, out)
			var re *RunError
			if !errors.As(err, &re) || !strings.Contains(re.Stderr, "Format not on whitelist") {
				t.Errorf("Images: %v; want ffmpeg to refuse the %s demuxer (Format not on whitelist)", err, pl.demuxer)
			}
		})
	}
	if outside.wasOpened() {
		t.Errorf("a file outside the job's directory (%s) was opened", outside.path)
	}
	if n := web.connections.Load(); n > 0 {
		t.Errorf("the canary at %s got %d connections", web.url, n)
	}

	t.Run("EveryInputCarriesBothAllowlists", func(t *testing.T) {
		const input, outDir = "/job/source", "/job/out"
		src := &Source{Format: "mov", DurationMS: 60000,
			Video: &VideoStream{Index: 0, Codec: "h264", Width: 1920, Height: 1080, FPS: 30},
			Audio: &AudioStream{Index: 1, Codec: "aac", Channels: 2, SampleRate: 48000}}
		encode, err1 := p.encodeArgs(src, input, outDir, PlanLadder(src))
		poster, err2 := p.posterArgs(src, input, outDir+"/"+PosterFile, posterWindows(src.DurationMS)[0])
		thumbs, err3 := p.thumbnailArgs(src, input, outDir+"/"+framesDir, 160, 90)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		for name, args := range map[string][]string{"probe": p.probeArgs(input), "encode": encode, "poster": poster, "thumbnails": thumbs} {
			if files, err := checkedInputs(args); err != nil || len(files) != 1 || files[0] != input {
				t.Errorf("%s: inputs %v, %v; want %s with both allowlists", name, files, err, input)
			}
		}
		// A run whose input lacks them never starts.
		bare := command{op: "bare", bin: p.ffmpeg(), args: []string{"-i", "file:" + input, "-f", "null", "-"}}
		if _, err := p.run(ctx, bare); !IsSetup(err) || !strings.Contains(err.Error(), "without -protocol_whitelist file and a -format_whitelist") {
			t.Errorf("run without allowlists: %v; want a set-up error naming them", err)
		}
		onlyProtocol := command{op: "half", bin: p.ffmpeg(), args: []string{"-protocol_whitelist", "file", "-i", "file:" + input, "-f", "null", "-"}}
		if _, err := p.run(ctx, onlyProtocol); !IsSetup(err) {
			t.Errorf("run with a protocol allowlist only: %v; want a set-up error", err)
		}
	})
}

// fifoCanary is a named pipe that tells whether anything opened it: a
// writer waits for a reader to open it.
type fifoCanary struct {
	path   string
	opened chan struct{}
}

func newFIFOCanary(t *testing.T) *fifoCanary {
	t.Helper()
	c := &fifoCanary{path: filepath.Join(t.TempDir(), "outside-the-job.ts"), opened: make(chan struct{})}
	if err := syscall.Mkfifo(c.path, 0o644); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	go func() {
		f, err := os.OpenFile(c.path, os.O_WRONLY, 0)
		if err == nil {
			f.Close()
			if !done.Load() {
				close(c.opened)
			}
		}
	}()
	t.Cleanup(func() {
		// Release the writer by opening the pipe ourselves.
		done.Store(true)
		if f, err := os.OpenFile(c.path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			time.Sleep(10 * time.Millisecond)
			f.Close()
		}
	})
	return c
}

func (c *fifoCanary) wasOpened() bool {
	select {
	case <-c.opened:
		return true
	default:
		return false
	}
}

// httpCanary is a TCP listener on loopback that counts connections.
type httpCanary struct {
	url, port   string
	connections atomic.Int64
}

func newHTTPCanary(t *testing.T) *httpCanary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	c := &httpCanary{url: "http://127.0.0.1:" + port, port: port}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.connections.Add(1)
			conn.Close()
		}
	}()
	return c
}
