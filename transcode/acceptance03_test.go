package transcode_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// RELIABILITY 3: header bombs in real files of every accepted container
// (MP4, MOV, MKV, WebM), each made by ffmpeg here: a 100000×100000 frame
// (no container or codec field ffmpeg writes holds it, so the size is
// patched into the H.264 sequence header, or into the WebM track header),
// 1,000 and 10,000 fps, 24 h at a few bits a second, 500 tracks; and, as
// the bomb ffmpeg does believe, a 16000×16000 H.264 frame. Each is refused
// at the probe, the job's first step, with its own reason: the job fails
// at once, without a retry, and no ffmpeg (the encode) ever starts.
// ffprobe's peak memory stays below its limit (Resources.ProbeMemory).
func TestAcceptance3_HeaderBombsRefusedAtProbe(t *testing.T) {
	t.Parallel()
	bombs := makeHeaderBombs(t)
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	runs := &runLog{}
	e.Handler.Pipeline.Logger = slog.New(runs)
	encoded := filepath.Join(t.TempDir(), "encoded")
	e.Handler.Pipeline.FFmpeg = ffmpegWrapper(t, "touch '"+encoded+"'\nexec \"$FFMPEG\" \"$@\"\n")
	limit := transcode.DefaultResources().ProbeMemory

	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			l := e.newLesson(t)
			job := e.upload(t, l, b.path)
			runs.reset()
			if err := e.run(t, job); !errors.Is(err, transcode.ErrSkipRetry) {
				t.Errorf("ProcessTranscode = %v, want the job failed for good (ErrSkipRetry)", err)
			}
			j := e.job(t, job.ID)
			if j.State != lectern.JobFailed || j.Failure != lectern.FailureRefused || j.Retries != 0 || !b.reason.MatchString(j.Error) {
				t.Errorf("job: state %q, failure %q, retries %d, reason %q; want failed at once (refused), reason matching %s",
					j.State, j.Failure, j.Retries, j.Error, b.reason)
			}
			if got := e.lesson(t, l.ID); got.Status != lectern.LessonFailed || got.Error != j.Error {
				t.Errorf("lesson: status %q, error %q; want failed with the job's reason", got.Status, got.Error)
			}
			rss := runs.maxRSS("probe")
			if rss <= 0 || rss >= limit {
				t.Errorf("ffprobe peak memory %d bytes; want above 0 and below the %d-byte limit", rss, limit)
			}
			fi, _ := os.Stat(b.path)
			t.Logf("%s: %d bytes; ffprobe peak %.1f MiB (limit %d MiB); refused: %q",
				b.name, fi.Size(), float64(rss)/(1<<20), limit>>20, j.Error)
		})
	}
	if _, err := os.Stat(encoded); err == nil {
		t.Errorf("ffmpeg was started for a header bomb: the encode must never begin")
	}
	e.checkWorkDirEmpty(t)
}

// headerBomb is one hostile file and the reason it must be refused with.
type headerBomb struct {
	name, path string
	reason     *regexp.Regexp
}

// makeHeaderBombs writes the bombs of RELIABILITY 3 for every container.
func makeHeaderBombs(t *testing.T) []headerBomb {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	dir := t.TempDir()
	make := func(name string, args ...string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		full := append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)
		if out, err := exec.Command(ffmpeg, append(full, "-y", path)...).CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", name, err, out)
		}
		return path
	}
	reason := func(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }
	tooLarge := func(side int) *regexp.Regexp {
		return reason(fmt.Sprintf("The video is %d×%d, larger than the 7680×4320 we accept", side, side))
	}
	var bombs []headerBomb
	for _, c := range []struct{ name, ext string }{{"MP4", "mp4"}, {"MOV", "mov"}, {"MKV", "mkv"}, {"WebM", "webm"}} {
		codec := []string{"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline"}
		if c.ext == "webm" {
			codec = []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"}
		}
		clip := func(name, src string, extra ...string) string {
			args := append([]string{"-f", "lavfi", "-i", src}, codec...)
			return make(c.name+"-"+name+"."+c.ext, append(args, extra...)...)
		}
		small := clip("small", "testsrc2=size=320x240:rate=25:duration=1")
		if c.ext == "webm" {
			bombs = append(bombs, headerBomb{c.name + "/Frame100000x100000", patchWebMSize(t, small, 100000), tooLarge(100000)})
		} else {
			bombs = append(bombs,
				headerBomb{c.name + "/Frame100000x100000", patchH264Size(t, small, 100000), tooLarge(100000)},
				headerBomb{c.name + "/Frame16000x16000", patchH264Size(t, small, 16000), tooLarge(16000)})
		}
		one := clip("one", "testsrc2=size=64x64:rate=10:duration=1")
		maps := []string{"-i", one}
		for range 500 {
			maps = append(maps, "-map", "0:v")
		}
		bombs = append(bombs,
			headerBomb{c.name + "/1000FPS", clip("1000fps", "testsrc2=size=64x64:rate=1000:duration=1"),
				reason("The video runs at 1000 frames per second; the limit is 120")},
			headerBomb{c.name + "/10000FPS", clip("10000fps", "testsrc2=size=64x64:rate=10000:duration=1"),
				reason("The video runs at 10000 frames per second; the limit is 120")},
			// 24 h in about 20–50 KB: a frame a minute, a few bits a second.
			headerBomb{c.name + "/24Hours", clip("24h", "color=c=gray:size=64x64:rate=1/60:duration=86400"),
				reason("The recording is 24 h long; the limit is 6 h")},
			headerBomb{c.name + "/500Tracks", make(c.name+"-500tracks."+c.ext, append(maps, "-c", "copy")...),
				reason("The file has more than 64 tracks; the limit is 64")},
		)
	}
	return bombs
}

// patchH264Size copies the H.264 file at path with its sequence parameter
// set rewritten to claim a side×side picture: the same length, so that no
// box or element around it changes. The clip must be Baseline profile.
func patchH264Size(t *testing.T, path string, side int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The avcC record (an MP4 box's body, or Matroska's CodecPrivate):
	// version 1, profile, compatibility, level, 0xFF, 0xE1 (one SPS),
	// its length, then the SPS NAL unit (type 7) repeating the profile.
	at := -1
	for i := 0; i+9 < len(data); i++ {
		if data[i] == 1 && data[i+4] == 0xFF && data[i+5] == 0xE1 && data[i+8]&0x1F == 7 && data[i+9] == data[i+1] {
			at = i
			break
		}
	}
	if at < 0 {
		t.Fatalf("%s: no avcC record", path)
	}
	sps := data[at+8 : at+8+(int(data[at+6])<<8|int(data[at+7]))]
	r := &bitReader{b: unescapeRBSP(sps[1:])}
	var w bitWriter
	profile := r.u(8)
	if profile != 66 {
		t.Fatalf("SPS of profile %d; the patch handles Baseline (66)", profile)
	}
	w.u(8, profile)
	w.u(8, r.u(8)) // constraint flags
	w.u(8, r.u(8)) // level
	w.ue(r.ue())   // seq_parameter_set_id
	w.ue(r.ue())   // log2_max_frame_num_minus4
	poc := r.ue()  // pic_order_cnt_type
	w.ue(poc)
	if poc == 0 {
		w.ue(r.ue()) // log2_max_pic_order_cnt_lsb_minus4
	} else if poc != 2 {
		t.Fatalf("SPS with pic_order_cnt_type %d", poc)
	}
	w.ue(r.ue())   // max_num_ref_frames
	w.u(1, r.u(1)) // gaps_in_frame_num_value_allowed_flag
	r.ue()         // pic_width_in_mbs_minus1
	r.ue()         // pic_height_in_map_units_minus1
	w.ue(uint64(side/16 - 1))
	w.ue(uint64(side/16 - 1))
	if r.u(1) == 0 { // frame_mbs_only_flag
		r.u(1)
	}
	w.u(1, 1)
	w.u(1, r.u(1)) // direct_8x8_inference_flag
	w.u(1, 0)      // no cropping
	w.u(1, 0)      // no VUI: its bits make room for the longer sizes
	w.u(1, 1)      // rbsp_stop_one_bit
	out := escapeRBSP(w.b)
	if len(out) > len(sps)-1 {
		t.Fatalf("patched SPS is %d bytes, more than the %d there are", len(out), len(sps)-1)
	}
	copy(sps[1:], append(out, make([]byte, len(sps)-1-len(out))...))
	dst := filepath.Join(t.TempDir(), fmt.Sprintf("%dx%d%s", side, side, filepath.Ext(path)))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 {
		zeros++
	}
	return 1<<zeros - 1 + r.u(zeros)
}

type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) u(n int, v uint64) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

// ue writes v as an unsigned Exp-Golomb code.
func (w *bitWriter) ue(v uint64) {
	v++
	bits := 0
	for x := v; x > 1; x >>= 1 {
		bits++
	}
	w.u(bits, 0)
	w.u(bits+1, v)
}

// unescapeRBSP drops the emulation prevention bytes (00 00 03) of a NAL unit.
func unescapeRBSP(b []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		zeros = nextZeros(zeros, c)
		out = append(out, c)
	}
	return out
}

// nextZeros counts the zero bytes in a row after c.
func nextZeros(zeros int, c byte) int {
	if c == 0 {
		return zeros + 1
	}
	return 0
}

// escapeRBSP inserts emulation prevention bytes.
func escapeRBSP(b []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		zeros = nextZeros(zeros, c)
		out = append(out, c)
	}
	return out
}

// patchWebMSize copies the WebM file at path with its video track's
// PixelWidth and PixelHeight set to side. The values grow by three bytes;
// the Void element ffmpeg reserves before the track headers gives them
// up, so that every cluster and cue stays where the file says it is.
func patchWebMSize(t *testing.T, path string, side int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header := ebmlAt(t, data, 0)
	segment := ebmlAt(t, data, header.end)
	var void, tracks ebml
	for off := segment.data; off < segment.end; {
		e := ebmlAt(t, data, off)
		switch e.id {
		case 0xEC:
			if tracks.id == 0 {
				void = e
			}
		case 0x1654AE6B:
			tracks = e
		}
		off = e.end
	}
	entry := ebmlChild(t, data, tracks, 0xAE)
	video := ebmlChild(t, data, entry, 0xE0)
	var body []byte
	value := []byte{byte(side >> 16), byte(side >> 8), byte(side)}
	for off := video.data; off < video.end; {
		e := ebmlAt(t, data, off)
		if e.id == 0xB0 || e.id == 0xBA { // PixelWidth, PixelHeight
			body = append(append(body, byte(e.id), 0x80|byte(len(value))), value...)
		} else {
			body = append(body, data[off:e.end]...)
		}
		off = e.end
	}
	grow := len(body) - (video.end - video.data)
	if void.id == 0 || void.end-void.data < grow {
		t.Fatalf("%s: no Void element before the tracks to take %d bytes from", path, grow)
	}
	var out bytes.Buffer
	out.Write(data[:void.sizeAt])
	out.Write(vint(t, uint64(void.end-void.data-grow), void.data-void.sizeAt))
	out.Write(make([]byte, void.end-void.data-grow))
	// The three headers around the values grow with them.
	out.Write(data[void.end:tracks.sizeAt])
	out.Write(vint(t, uint64(tracks.end-tracks.data+grow), tracks.data-tracks.sizeAt))
	out.Write(data[tracks.data:entry.sizeAt])
	out.Write(vint(t, uint64(entry.end-entry.data+grow), entry.data-entry.sizeAt))
	out.Write(data[entry.data:video.sizeAt])
	out.Write(vint(t, uint64(len(body)), video.data-video.sizeAt))
	out.Write(body)
	out.Write(data[video.end:])
	dst := filepath.Join(t.TempDir(), fmt.Sprintf("%dx%d.webm", side, side))
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// ebml is one EBML element: its ID and where its size field, its data and
// the element end.
type ebml struct {
	id                uint32
	sizeAt, data, end int
}

func ebmlAt(t *testing.T, b []byte, off int) ebml {
	t.Helper()
	n := vintLen(t, b[off])
	var id uint32
	for _, c := range b[off : off+n] {
		id = id<<8 | uint32(c)
	}
	sizeAt := off + n
	m := vintLen(t, b[sizeAt])
	size := uint64(b[sizeAt] & (0xFF >> m))
	for _, c := range b[sizeAt+1 : sizeAt+m] {
		size = size<<8 | uint64(c)
	}
	return ebml{id: id, sizeAt: sizeAt, data: sizeAt + m, end: sizeAt + m + int(size)}
}

func ebmlChild(t *testing.T, b []byte, parent ebml, id uint32) ebml {
	t.Helper()
	for off := parent.data; off < parent.end; {
		e := ebmlAt(t, b, off)
		if e.id == id {
			return e
		}
		off = e.end
	}
	t.Fatalf("no EBML element %#x in %#x", id, parent.id)
	return ebml{}
}

func vintLen(t *testing.T, first byte) int {
	t.Helper()
	for n := 1; n <= 8; n++ {
		if first&(0x80>>(n-1)) != 0 {
			return n
		}
	}
	t.Fatalf("invalid EBML length byte %#x", first)
	return 0
}

// vint writes v as an EBML size of exactly n bytes.
func vint(t *testing.T, v uint64, n int) []byte {
	t.Helper()
	if v >= 1<<(7*n)-1 {
		t.Fatalf("size %d does not fit %d bytes", v, n)
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] |= 0x80 >> (n - 1)
	return b
}

// runLog is a slog handler that keeps the pipeline's "transcode: ran"
// lines: which step ran and its peak memory.
type runLog struct {
	mu   sync.Mutex
	runs []struct {
		op     string
		maxRSS int64
	}
}

func (l *runLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *runLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *runLog) WithGroup(string) slog.Handler            { return l }

func (l *runLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "transcode: ran" {
		return nil
	}
	var op string
	var rss int64
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "op":
			op = a.Value.String()
		case "max_rss_bytes":
			rss, _ = strconv.ParseInt(a.Value.String(), 10, 64)
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, struct {
		op     string
		maxRSS int64
	}{op, rss})
	return nil
}

func (l *runLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = nil
}

// maxRSS is the highest peak memory of the runs of op; 0 when none ran.
func (l *runLog) maxRSS(op string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m int64
	for _, r := range l.runs {
		if r.op == op {
			m = max(m, r.maxRSS)
		}
	}
	return m
}

// count is how many runs of op there were.
func (l *runLog) count(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.runs {
		if r.op == op {
			n++
		}
	}
	return n
}
