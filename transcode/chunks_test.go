package transcode_test

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/transcode"
)

// taskList collects the chunk tasks a handler enqueues; the test runs
// them as a worker would, in its own order.
type taskList struct {
	mu    sync.Mutex
	tasks []*transcode.ChunkPayload
}

func (l *taskList) EnqueueChunk(_ context.Context, p transcode.ChunkPayload, _ int, _ string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tasks = append(l.tasks, &p)
	return nil
}

func (l *taskList) EnqueueRecognize(context.Context, transcode.RecognizePayload) error { return nil }

func (l *taskList) pop() *transcode.ChunkPayload {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tasks) == 0 {
		return nil
	}
	t := l.tasks[0]
	l.tasks = l.tasks[1:]
	return t
}

// processChunk runs the chunk task p as a worker would.
func processChunk(ctx context.Context, e *handlerEnv, p *transcode.ChunkPayload) error {
	return e.Handler.ProcessChunk(ctx, *p, transcode.Delivery{})
}

// lectureClip is a 480p lecture-like recording: a still slide whose text
// changes every few seconds with a small moving corner, and a tone.
func lectureClip(t *testing.T, seconds int) string {
	t.Helper()
	return lectureClipWithAudio(t, seconds, seconds)
}

// lectureClipWithAudio is lectureClip with audioSeconds of tone.
func lectureClipWithAudio(t *testing.T, seconds, audioSeconds int) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "lecture.mp4")
	s := strconv.Itoa(seconds)
	graph := "color=c=white:size=854x480:rate=30:duration=" + s + "," +
		"drawtext=text='Slide %{eif\\:floor(t/5)\\:d}':fontsize=48:x=60:y=60:fontcolor=black," +
		"drawbox=x=40:y=160:w=500:h=8:color=gray:t=fill[bg];" +
		"testsrc2=size=200x150:rate=30:duration=" + s + "[cam];[bg][cam]overlay=x=640:y=320"
	args := []string{"-hide_banner", "-nostdin", "-v", "error",
		"-filter_complex", graph, "-f", "lavfi", "-i", "sine=frequency=300:duration=" + strconv.Itoa(audioSeconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "300", "-c:a", "aac"}
	if audioSeconds >= seconds {
		args = append(args, "-shortest") // not a frame of audio past the picture
	}
	b, err := exec.Command(ffmpeg, append(args, "-y", out)...).CombinedOutput()
	if err != nil {
		t.Fatalf("make lecture fixture: %v\n%s", err, b)
	}
	return out
}

// playsClean checks that ffmpeg reads every stream of the output in
// dir (its master playlist) to the end without a word.
func playsClean(t *testing.T, dir string) {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-i", filepath.Join(dir, "master.m3u8"), "-map", "0", "-f", "null", "-").CombinedOutput()
	if err != nil || len(b) > 0 {
		t.Errorf("ffmpeg on the stitched output: %v\n%s", err, b)
	}
}

// copyOut copies the objects under prefix into a new directory.
func (e *handlerEnv) copyOut(t *testing.T, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range e.keys(t, prefix) {
		r, err := e.Store.Open(context.Background(), prefix+k, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
		f.Close()
	}
	return dir
}

// TestChunkedTranscode encodes a 20 s lecture in 8 s chunks plus its
// audio, each piece a task of its own, and checks what students get: the
// lesson is playable, over its whole length, once the audio and the
// opening chunk are stored; it is ready once every chunk is; and the
// stitched output plays as one: ffmpeg reads it without a word, every
// rung's frames run on at a constant step across the joins, and frames
// at a join look like a single-process encode's (SSIM ≥ 0.98).
func TestChunkedTranscode(t *testing.T) {
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ctx := context.Background()
	tasks := &taskList{}
	e.Handler.ChunkSeconds, e.Handler.Chunks = 8, tasks
	src := lectureClip(t, 20)
	l := e.newLesson(t)
	job := e.upload(t, l, src)
	if err := e.run(t, job); err != nil {
		t.Fatal(err)
	}
	// Audio, then three chunks of 8, 8 and 4 s (two rungs: 480p, 360p).
	if len(tasks.tasks) != 4 {
		t.Fatalf("enqueued %d chunk tasks, want 4 (audio and three chunks)", len(tasks.tasks))
	}
	if got := e.lesson(t, l.ID); got.Status != lectern.LessonProcessing || got.OutputPrefix != "" {
		t.Fatalf("after planning: status %s, output %q; want processing, nothing published", got.Status, got.OutputPrefix)
	}
	for i := 0; i < 2; i++ {
		if err := processChunk(ctx, e, tasks.pop()); err != nil {
			t.Fatal(err)
		}
	}
	got := e.lesson(t, l.ID)
	if got.Status != lectern.LessonProcessing || got.OutputPrefix == "" {
		t.Fatalf("after audio and opening chunk: status %s, output %q; want processing and playable", got.Status, got.OutputPrefix)
	}
	if got.DurationMS < 19500 {
		t.Errorf("playable lesson says %d ms; want the whole 20 s", got.DurationMS)
	}
	partial := e.copyOut(t, got.OutputPrefix)
	playlist, err := os.ReadFile(filepath.Join(partial, "v0", "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(playlist), "seg_"); n != 5 {
		t.Errorf("playable playlist lists %d segments, want all 5:\n%s", n, playlist)
	}
	if _, err := os.Stat(filepath.Join(partial, "v0", "seg_00004.m4s")); err == nil {
		t.Error("the last chunk's segment is stored before its chunk ran")
	}
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		if err := processChunk(ctx, e, task); err != nil {
			t.Fatal(err)
		}
	}
	got = e.lesson(t, l.ID)
	if got.Status != lectern.LessonReady || got.Poster == "" {
		t.Fatalf("after every chunk: status %s, poster %q; want ready with a poster", got.Status, got.Poster)
	}
	if j := e.job(t, job.ID); j.State != lectern.JobSucceeded || j.Percent != 100 {
		t.Errorf("job %s at %v %%, want succeeded at 100", j.State, j.Percent)
	}
	out := e.copyOut(t, got.OutputPrefix)

	ffmpeg, ffprobe := testenv.FFmpeg(t)
	t.Run("PlaysWithoutErrors", func(t *testing.T) { playsClean(t, out) })
	t.Run("ContinuousTimestamps", func(t *testing.T) {
		for _, rung := range []string{"v0", "v1"} {
			pts := framePTS(t, ffprobe, filepath.Join(out, rung, "index.m3u8"))
			if len(pts) != 600 {
				t.Errorf("%s: %d frames, want 600 (20 s at 30 fps)", rung, len(pts))
			}
			for i := 1; i < len(pts); i++ {
				if d := pts[i] - pts[i-1]; math.Abs(d-1.0/30) > 0.002 {
					t.Errorf("%s: frame %d at %.4f s follows %.4f s: a gap or overlap at a join", rung, i, pts[i], pts[i-1])
					break
				}
			}
		}
	})
	t.Run("JoinMatchesSingleRun", func(t *testing.T) {
		single := t.TempDir()
		p := e.Handler.Pipeline
		s, err := p.Probe(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Encode(ctx, s, src, single, transcode.PlanLadder(s), nil); err != nil {
			t.Fatal(err)
		}
		for _, join := range []float64{8, 16} {
			ssim := compareSSIM(t, ffmpeg, filepath.Join(out, "v0", "index.m3u8"), filepath.Join(single, "v0", "index.m3u8"), join)
			t.Logf("SSIM of the frames around the join at %v s against a single run: %.4f", join, ssim)
			if ssim < 0.98 {
				t.Errorf("SSIM %.4f at the join at %v s, want ≥ 0.98", ssim, join)
			}
		}
	})
}

// framePTS returns the presentation times of a playlist's video frames,
// in order.
func framePTS(t *testing.T, ffprobe, playlist string) []float64 {
	t.Helper()
	b, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "json", playlist).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", playlist, err)
	}
	var res struct {
		Frames []struct {
			PTS string `json:"pts_time"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	var pts []float64
	for _, f := range res.Frames {
		v, err := strconv.ParseFloat(f.PTS, 64)
		if err != nil {
			t.Fatalf("frame time %q", f.PTS)
		}
		pts = append(pts, v)
	}
	sort.Float64s(pts)
	return pts
}

var ssimAll = regexp.MustCompile(`All:([0-9.]+)`)

// compareSSIM is the SSIM of the frames within half a second of at in a
// and b.
func compareSSIM(t *testing.T, ffmpeg, a, b string, at float64) float64 {
	t.Helper()
	from, to := strconv.FormatFloat(at-0.5, 'f', 3, 64), strconv.FormatFloat(at+0.5, 'f', 3, 64)
	trim := "trim=start=" + from + ":end=" + to + ",setpts=PTS-STARTPTS"
	out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-i", a, "-i", b, "-lavfi",
		"[0:v]"+trim+"[a];[1:v]"+trim+"[b];[a][b]ssim", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ssim: %v\n%s", err, out)
	}
	m := ssimAll.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no SSIM in ffmpeg's output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// failingStore fails the Put of keys containing match while fails > 0.
type failingStore struct {
	lectern.Storage
	mu    sync.Mutex
	match string
	fails int
}

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader) (lectern.ObjectInfo, error) {
	s.mu.Lock()
	fail := strings.Contains(key, s.match) && s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		return lectern.ObjectInfo{}, io.ErrUnexpectedEOF
	}
	return s.Storage.Put(ctx, key, r)
}

// chunkedEnv is a handler env that encodes in 8 s chunks, with its chunk
// tasks collected, and a 20 s lecture uploaded and planned.
func chunkedEnv(t *testing.T, src string) (*handlerEnv, *taskList, *lectern.Lesson, *lectern.Job) {
	t.Helper()
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	tasks := &taskList{}
	e.Handler.ChunkSeconds, e.Handler.Chunks = 8, tasks
	e.Handler.RetryDelay = func(int, error) time.Duration { return 0 }
	l := e.newLesson(t)
	job := e.upload(t, l, src)
	if err := e.run(t, job); err != nil {
		t.Fatal(err)
	}
	return e, tasks, l, job
}

// chunkStates returns the state and tries of each piece of job's plan.
func (e *handlerEnv) chunkStates(t *testing.T, jobID string) []string {
	t.Helper()
	_, chunks, err := e.DB.FindPlan(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range chunks {
		out = append(out, c.State+"/"+strconv.Itoa(c.Tries))
	}
	return out
}

// TestChunkFailures: a chunk that fails is retried alone; one out of
// tries fails the lesson with its reason and takes back the playable
// output; a re-upload ends the old plan's remaining chunks; asking for a
// segment not yet encoded moves its chunk to the front.
func TestChunkFailures(t *testing.T) {
	src := lectureClip(t, 20)
	ctx := context.Background()
	t.Run("FailedChunkRetriesAlone", func(t *testing.T) {
		e, tasks, l, job := chunkedEnv(t, src)
		e.Handler.Storage = &failingStore{Storage: e.Store, match: "v0/seg_00002.m4s", fails: 1}
		var failed int
		for task := tasks.pop(); task != nil; task = tasks.pop() {
			if err := processChunk(ctx, e, task); err != nil {
				failed++
				tasks.tasks = append(tasks.tasks, task) // the queue retries it
			}
		}
		if failed != 1 {
			t.Errorf("%d tries failed, want 1", failed)
		}
		// Audio, then chunks at 0, 8 and 16 s: only the second ran twice.
		if got, want := strings.Join(e.chunkStates(t, job.ID), " "), "done/1 done/1 done/2 done/1"; got != want {
			t.Errorf("pieces (state/tries): %s, want %s", got, want)
		}
		if got := e.lesson(t, l.ID); got.Status != lectern.LessonReady {
			t.Errorf("lesson %s, want ready", got.Status)
		}
	})
	t.Run("ChunkOutOfTriesFailsLesson", func(t *testing.T) {
		e, tasks, l, job := chunkedEnv(t, src)
		e.Handler.Storage = &failingStore{Storage: e.Store, match: "v0/seg_00002.m4s", fails: 100}
		for task := tasks.pop(); task != nil; task = tasks.pop() {
			err := processChunk(ctx, e, task)
			if err != nil && !errors.Is(err, transcode.ErrSkipRetry) {
				tasks.tasks = append(tasks.tasks, task)
			}
		}
		got := e.lesson(t, l.ID)
		if got.Status != lectern.LessonFailed || got.OutputPrefix != "" {
			t.Errorf("lesson %s with output %q; want failed, nothing published", got.Status, got.OutputPrefix)
		}
		if !strings.Contains(got.Error, "failed after 6 tries of the part from 0:08") {
			t.Errorf("lesson error %q; want the chunk's tries and where it starts", got.Error)
		}
		if j := e.job(t, job.ID); j.State != lectern.JobFailed {
			t.Errorf("job %s, want failed", j.State)
		}
	})
	t.Run("ReuploadStopsOldChunks", func(t *testing.T) {
		e, tasks, l, _ := chunkedEnv(t, src)
		for range 2 { // audio and the opening chunk: playable
			if err := processChunk(ctx, e, tasks.pop()); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.lesson(t, l.ID); got.OutputPrefix == "" {
			t.Fatal("not playable after the audio and the opening chunk")
		}
		e.upload(t, l, src)
		old := e.lesson(t, l.ID)
		if old.OutputPrefix != "" || old.Status != lectern.LessonQueued {
			t.Errorf("after a re-upload: status %s, output %q; want queued, the old partial output taken back", old.Status, old.OutputPrefix)
		}
		for task := tasks.pop(); task != nil; task = tasks.pop() {
			if err := processChunk(ctx, e, task); err != nil {
				t.Fatal(err)
			}
		}
		if keys := e.keys(t, lectern.LessonPrefix(l.ID)+"hls/"); slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, "v0/seg_00004.m4s") }) {
			t.Errorf("the old plan's last chunk ran after the re-upload: %v", keys)
		}
	})
	t.Run("WantedSegmentGoesFirst", func(t *testing.T) {
		e, tasks, l, job := chunkedEnv(t, src)
		for range 2 {
			if err := processChunk(ctx, e, tasks.pop()); err != nil {
				t.Fatal(err)
			}
		}
		prefix := e.lesson(t, l.ID).OutputPrefix
		pending, inProgress, err := e.DB.SegmentPending(ctx, prefix, db.ChunkVideo, 4, true)
		if err != nil || !pending || !inProgress {
			t.Fatalf("segment 4: pending %v, in progress %v, %v; want pending", pending, inProgress, err)
		}
		if err := processChunk(ctx, e, tasks.pop()); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(e.chunkStates(t, job.ID), " "), "done/1 done/1 pending/0 done/1"; got != want {
			t.Errorf("pieces after a viewer asked for 0:16: %s, want %s (the last chunk first)", got, want)
		}
		if pending, _, _ := e.DB.SegmentPending(ctx, prefix, db.ChunkVideo, 4, false); pending {
			t.Error("segment 4 still pending after its chunk ran")
		}
	})
}

// TestChunkedImages: a chunked transcode takes its poster and scrubbing
// thumbnails from the chunks' own decode (no ffmpeg pass over the source
// for them after the chunks), and they have the shape a single-process
// run gives the same source: the same tiles, sheets and WebVTT cues, and
// a poster of the same size that is not black.
func TestChunkedImages(t *testing.T) {
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ctx := context.Background()
	runs := &runLog{}
	e.Handler.Pipeline.Logger = slog.New(runs)
	tasks := &taskList{}
	e.Handler.ChunkSeconds, e.Handler.Chunks = 8, tasks
	// 36 s: thumbnails at 0, 10, 20 and 30 s fall inside chunks that
	// start at 0, 8, 16, 24 and 32 s.
	src := lectureClip(t, 36)
	l := e.newLesson(t)
	job := e.upload(t, l, src)
	if err := e.run(t, job); err != nil {
		t.Fatal(err)
	}
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		if err := processChunk(ctx, e, task); err != nil {
			t.Fatal(err)
		}
	}
	if runs.count("encode") == 0 {
		t.Fatal("the pipeline's runs were not seen")
	}
	for _, op := range []string{"poster", "thumbnails"} {
		if n := runs.count(op); n > 0 {
			t.Errorf("a chunked transcode ran ffmpeg for the %s %d times: a second pass over the source", op, n)
		}
	}
	got := e.lesson(t, l.ID)
	if got.Status != lectern.LessonReady || got.Poster == "" || got.Thumbnails == "" {
		t.Fatalf("status %s, poster %q, thumbnails %q; want ready with both", got.Status, got.Poster, got.Thumbnails)
	}
	out := e.copyOut(t, got.OutputPrefix)
	// The chunks stored their images beside their segments, not in their
	// results (which every chunk's completion reads again), and the
	// publication removed them once laid out.
	for _, k := range e.keys(t, got.OutputPrefix) {
		if strings.Contains(k, ".chunkimages") {
			t.Errorf("chunk image %s left in the published output", k)
		}
	}
	_, chunks, err := e.DB.FindPlan(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if strings.Contains(c.Result, `"jpeg"`) || len(c.Result) > 4096 {
			t.Errorf("piece %d's result holds image bytes (%d bytes of JSON)", c.Index, len(c.Result))
		}
	}

	single := t.TempDir()
	p := e.Handler.Pipeline
	s, err := p.Probe(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	im, err := p.Images(ctx, s, src, single)
	if err != nil {
		t.Fatal(err)
	}
	if im.Tiles != 4 {
		t.Fatalf("single run: %d tiles, want 4", im.Tiles)
	}
	wantVTT, err := os.ReadFile(filepath.Join(single, transcode.ThumbnailsVTT))
	if err != nil {
		t.Fatal(err)
	}
	gotVTT, err := os.ReadFile(filepath.Join(out, got.Thumbnails))
	if err != nil {
		t.Fatal(err)
	}
	if string(gotVTT) != string(wantVTT) {
		t.Errorf("chunked thumbnails track:\n%s\nwant the single run's:\n%s", gotVTT, wantVTT)
	}
	for _, sheet := range im.Sprites {
		want, got := imageSize(t, filepath.Join(single, sheet)), imageSize(t, filepath.Join(out, sheet))
		if got != want {
			t.Errorf("sprite sheet %s is %v, want %v as in a single run", sheet, got, want)
		}
	}
	want, gotSize := imageSize(t, filepath.Join(single, transcode.PosterFile)), imageSize(t, filepath.Join(out, got.Poster))
	if gotSize != want {
		t.Errorf("poster is %v, want %v as in a single run", gotSize, want)
	}
	if y := meanLuma(t, filepath.Join(out, got.Poster)); y < 40 {
		t.Errorf("poster's mean luma is %.0f: a black frame", y)
	}
	// Each tile shows the same moment as the single run's tile.
	for i := range im.Tiles {
		sheet := filepath.Join(out, im.Sprites[0])
		if d := tileDiff(t, sheet, filepath.Join(single, im.Sprites[0]), i, im.TileWidth, im.TileHeight); d > 12 {
			t.Errorf("tile %d differs from the single run's by %.1f grey levels on average", i, d)
		}
	}
}

func openJPEG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

func imageSize(t *testing.T, path string) image.Point { return openJPEG(t, path).Bounds().Size() }

// lumaIn is the mean grey level of img within r.
func lumaIn(img image.Image, r image.Rectangle) float64 {
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}

func meanLuma(t *testing.T, path string) float64 {
	img := openJPEG(t, path)
	return lumaIn(img, img.Bounds())
}

// tileDiff is the mean absolute grey-level difference of tile i of two
// sprite sheets of 10 columns.
func tileDiff(t *testing.T, a, b string, i, w, h int) float64 {
	ia, ib := openJPEG(t, a), openJPEG(t, b)
	at := image.Pt(i%10*w, i/10*h)
	var sum float64
	for y := at.Y; y < at.Y+h; y++ {
		for x := at.X; x < at.X+w; x++ {
			ya := float64(color.GrayModel.Convert(ia.At(x, y)).(color.Gray).Y)
			yb := float64(color.GrayModel.Convert(ib.At(x, y)).(color.Gray).Y)
			sum += math.Abs(ya - yb)
		}
	}
	return sum / float64(w*h)
}

// TestChunkedSlideChangeAtJoin: a slide that changes exactly on a chunk's
// first frame is still a suggested chapter, as in a single-process run,
// and found once.
func TestChunkedSlideChangeAtJoin(t *testing.T) {
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ctx := context.Background()
	tasks := &taskList{}
	// Slides every 8 s, chunks of 8 s: every change is on a join.
	e.Handler.ChunkSeconds, e.Handler.Chunks = 8, tasks
	slides := testenv.SlideLecture(t, 5, 8)
	l := e.newLesson(t)
	if err := e.run(t, e.upload(t, l, slides)); err != nil {
		t.Fatal(err)
	}
	if len(tasks.tasks) < 4 {
		t.Fatalf("enqueued %d chunk tasks; want a chunked transcode", len(tasks.tasks))
	}
	for task := tasks.pop(); task != nil; task = tasks.pop() {
		if err := processChunk(ctx, e, task); err != nil {
			t.Fatal(err)
		}
	}
	sugs, err := e.DB.FindChapterSuggestions(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	var at []int64
	for _, s := range sugs {
		at = append(at, s.StartMS)
	}
	if len(at) != 4 {
		t.Fatalf("suggestions at %v ms, want 4, one at each slide change (every 8 s, on the chunk joins)", at)
	}
	for i, ms := range at {
		if want := int64(i+1) * 8000; ms < want-200 || ms > want+200 {
			t.Errorf("suggestion %d at %d ms, want %d ± 200", i+1, ms, want)
		}
	}
}
