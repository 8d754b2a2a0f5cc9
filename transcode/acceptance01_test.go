package transcode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// RELIABILITY 1: an AVI whose subtitle track carries, in a GAB2 chunk, an
// HLS playlist pointing at file:///etc/passwd (and at a file outside the
// job's directory), and a variant pointing at a canary HTTP server on
// loopback. The GAB2 reader would hand the playlist to the HLS demuxer,
// which would read the files as video and render their text into frames.
// Each is either refused at the probe or transcoded from its real video
// alone: the canary gets no connection, the outside file is never opened,
// and every output frame (the encoded video and the poster) is the plain
// colour the recording shows, not text.
func TestAcceptance1_GAB2PlaylistInAVI(t *testing.T) {
	p := newPipeline(t)
	if sb, err := DetectSandbox(context.Background(), SandboxAuto, p.ffmpeg(), p.logger()); err == nil {
		p.Sandbox = sb // as a worker runs it, where bwrap works
	}
	outside := newFIFOCanary(t)
	web := newHTTPCanary(t)
	frames := jpegFrames(t, p, "color=c=0x3366cc:size=320x240:rate=25:duration=2")
	variants := []struct{ name, playlist string }{
		{"EtcPasswd", "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile:///etc/passwd\n" +
			"#EXTINF:1.0,\nfile://" + outside.path + "\n#EXT-X-ENDLIST\n"},
		{"LoopbackCanary", "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\n" + web.url + "/passwd.ts\n#EXT-X-ENDLIST\n"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			job := t.TempDir()
			input := filepath.Join(job, "source")
			if err := os.WriteFile(input, gab2AVI(frames, 320, 240, 25, v.playlist), 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(job, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			src, err := p.Probe(ctx, input)
			if err != nil {
				if !IsBadInput(err) {
					t.Fatalf("Probe: %v; want it accepted or refused with a reason", err)
				}
				t.Logf("refused at the probe: %v", err)
				return
			}
			if _, err = p.Encode(ctx, src, input, out, PlanLadder(src), nil); err == nil {
				_, err = p.Images(ctx, src, input, out)
			}
			if err != nil {
				if !IsBadInput(err) {
					t.Fatalf("transcode: %v; want it to succeed or fail with a reason", err)
				}
				t.Logf("failed cleanly: %v", err)
				return
			}
			n, spread := lumaSpread(t, p, filepath.Join(out, videoDir(0)))
			if n < 40 || spread > 16 {
				t.Errorf("the video has %d frames with a luma spread of up to %d; want 50 frames of plain colour (spread ≤ 16), no text", n, spread)
			}
			_, posterSpread := lumaSpread(t, p, filepath.Join(out, PosterFile))
			if posterSpread > 16 {
				t.Errorf("the poster's luma spreads over %d levels; want a plain colour, no text", posterSpread)
			}
			t.Logf("transcoded the AVI's own video only: %d frames, luma spread %d (poster %d)", n, spread, posterSpread)
		})
	}
	if n := web.connections.Load(); n > 0 {
		t.Errorf("the canary at %s got %d connections", web.url, n)
	}
	if outside.wasOpened() {
		t.Errorf("%s, outside the job's directory, was opened", outside.path)
	}
}

// jpegFrames has ffmpeg draw the lavfi source src as JPEG frames.
func jpegFrames(t *testing.T, p *Pipeline, src string) [][]byte {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(p.ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", src,
		"-c:v", "mjpeg", "-q:v", "3", "-f", "image2", filepath.Join(dir, "%03d.jpg")).CombinedOutput()
	if err != nil {
		t.Fatalf("draw frames: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	var frames [][]byte
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b)
	}
	return frames
}

// gab2AVI writes an AVI of MJPEG frames with a second, subtitle ('txts')
// track whose only chunk is a GAB2 subtitle block holding playlist, first
// in the file so that probing reads it.
func gab2AVI(frames [][]byte, w, h, fps int, playlist string) []byte {
	le32 := func(vs ...uint32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		return b
	}
	chunk := func(id string, data ...[]byte) []byte {
		body := bytes.Join(data, nil)
		b := append([]byte(id), le32(uint32(len(body)))...)
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	list := func(kind string, data ...[]byte) []byte {
		return chunk("LIST", append([][]byte{[]byte(kind)}, data...)...)
	}
	name := []byte{}
	for _, u := range utf16.Encode([]rune("English\x00")) {
		name = binary.LittleEndian.AppendUint16(name, u)
	}
	gab2 := append([]byte("GAB2\x00\x02\x00"), le32(uint32(len(name)))...)
	gab2 = append(append(gab2, name...), 4, 0)
	gab2 = append(append(gab2, le32(uint32(len(playlist)))...), playlist...)

	var maxFrame uint32
	for _, f := range frames {
		maxFrame = max(maxFrame, uint32(len(f)))
	}
	n := uint32(len(frames))
	rect := []byte{0, 0, 0, 0, byte(w), byte(w >> 8), byte(h), byte(h >> 8)}
	avih := chunk("avih", le32(uint32(1000000/fps), 0, 0, 0x10|0x100, n, 0, 2, maxFrame, uint32(w), uint32(h), 0, 0, 0, 0))
	video := list("strl",
		chunk("strh", []byte("vidsMJPG"), le32(0, 0, 0, 1, uint32(fps), 0, n, maxFrame, 0xFFFFFFFF, 0), rect),
		chunk("strf", le32(40, uint32(w), uint32(h)), []byte{1, 0, 24, 0}, []byte("MJPG"), le32(uint32(w*h*3), 0, 0, 0, 0)))
	text := list("strl",
		chunk("strh", []byte("txts"), le32(0, 0, 0, 0, 1, 1, 0, 1, uint32(len(gab2)), 0xFFFFFFFF, 0), make([]byte, 8)),
		chunk("strf", le32(0)))

	// The movi list, and idx1 with each chunk's offset from "movi".
	movi := [][]byte{[]byte("movi")}
	var idx [][]byte
	at := uint32(4)
	add := func(id string, flags uint32, data []byte) {
		c := chunk(id, data)
		movi = append(movi, c)
		idx = append(idx, []byte(id), le32(flags, at, uint32(len(data))))
		at += uint32(len(c))
	}
	add("01tx", 0, gab2)
	for _, f := range frames {
		add("00dc", 0x10, f)
	}
	body := bytes.Join([][]byte{[]byte("AVI "), list("hdrl", avih, video, text), chunk("LIST", movi...), chunk("idx1", idx...)}, nil)
	return append(append([]byte("RIFF"), le32(uint32(len(body)))...), body...)
}

// lumaSpread decodes path (an image, or a rendition directory whose init
// segment and media segments are joined) with ffmpeg's signalstats and
// returns the frames and the widest spread between a frame's darkest and
// brightest luma: a few levels for a plain colour, most of the range for
// text.
func lumaSpread(t *testing.T, p *Pipeline, path string) (frames, spread int) {
	t.Helper()
	input := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		segs, _ := filepath.Glob(filepath.Join(path, "seg_*.m4s"))
		var joined []byte
		for _, name := range append([]string{filepath.Join(path, initSegment)}, segs...) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			joined = append(joined, b...)
		}
		input = filepath.Join(t.TempDir(), "joined.mp4")
		if err := os.WriteFile(input, joined, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stats := filepath.Join(t.TempDir(), "stats.txt")
	out, err := exec.Command(p.ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i", input,
		"-vf", "signalstats,metadata=mode=print:file="+stats, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("decode %s: %v\n%s", path, err, out)
	}
	f, err := os.Open(stats)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lo int
	for sc := bufio.NewScanner(f); sc.Scan(); {
		key, value, _ := strings.Cut(sc.Text(), "=")
		v, _ := strconv.ParseFloat(value, 64)
		switch key {
		case "lavfi.signalstats.YMIN":
			lo = int(v)
			frames++
		case "lavfi.signalstats.YMAX":
			spread = max(spread, int(v)-lo)
		}
	}
	return frames, spread
}
