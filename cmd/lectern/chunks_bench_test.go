package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/transcode"
)

// TestBenchChunkedLecture is bench/chunks.sh's measurement, not a test:
// it runs only when LECTERN_BENCH_SOURCE names a recording, and asserts
// nothing about time. In scaled mode (lectern api and worker processes
// on PostgreSQL, Redis, MinIO) it transcodes the recording through the
// product's path: today's single-process ladder (LECTERN_CHUNK_SECONDS=0)
// on one worker, and the chunked transcode on one and on two workers
// (LECTERN_BENCH_RUNS picks some). For each it reports the seconds from
// upload complete to first playable (the lesson JSON says playable and
// the first segment of every rung and of the audio is served) and to
// ready, where the time to first playable went, the CPU seconds of the
// workers' ffmpeg processes, the bytes published and every piece's time.
// It ends with a Markdown table for the README (written to
// LECTERN_BENCH_REPORT too), with 4 and 8 workers projected from the
// piece times. LECTERN_BENCH_PER_RUNG_SECONDS, BenchmarkLadder's
// ProcessPerRung wall time on the same source, adds the wall-time ratio.
// bench/README.md explains every figure.
func TestBenchChunkedLecture(t *testing.T) {
	src := os.Getenv("LECTERN_BENCH_SOURCE")
	if src == "" {
		t.Skip("a benchmark: bench/chunks.sh runs it with LECTERN_BENCH_SOURCE")
	}
	chunkSecs := cmp.Or(os.Getenv("LECTERN_BENCH_CHUNK_SECONDS"), "32")
	all := []benchRun{
		{"single", "single-process ladder", "0", 1},
		{"chunked1", "chunked", chunkSecs, 1},
		{"chunked2", "chunked", chunkSecs, 2},
	}
	want := strings.Split(cmp.Or(os.Getenv("LECTERN_BENCH_RUNS"), "single,chunked1,chunked2"), ",")
	var results []*benchResult
	for _, r := range all {
		if !slices.Contains(want, r.key) {
			continue
		}
		t.Run(r.key, func(t *testing.T) {
			res := runBench(t, src, r)
			results = append(results, res)
			t.Logf("BENCH %s, %d worker(s): first playable %.1f s, ready %.1f s, ffmpeg CPU %.0f s (workers %.1f s), %d bytes, %d pieces",
				r.label, r.workers, res.playable, res.ready, res.childCPU, res.ownCPU, res.bytes, len(res.pieces))
			t.Logf("BENCH %s, %d worker(s): %s", r.label, r.workers, res.breakdown())
		})
	}
	var perRung float64
	if s := os.Getenv("LECTERN_BENCH_PER_RUNG_SECONDS"); s != "" {
		var err error
		if perRung, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatalf("LECTERN_BENCH_PER_RUNG_SECONDS=%q: %v", s, err)
		}
	}
	report := benchReport(src, chunkSecs, results, perRung)
	for line := range strings.SplitSeq(report, "\n") {
		t.Log("BENCH " + line)
	}
	if path := os.Getenv("LECTERN_BENCH_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type benchRun struct {
	key, label, chunkSeconds string
	workers                  int
}

// benchResult is one run's figures; times are seconds since the upload
// was answered.
type benchResult struct {
	benchRun
	srcSeconds       float64
	playable, ready  float64 // segments served; lesson ready
	jsonPlayable     float64 // the lesson JSON said playable
	started, planned float64 // the transcode task began; its plan was recorded
	playableLogged   float64 // the worker logged the playable publication
	childCPU, ownCPU float64
	bytes            int64
	pieces           []benchPiece
}

// benchPiece is one piece of a chunked transcode as its worker logged it.
type benchPiece struct {
	index          int
	kind, worker   string
	start, done    float64 // since the upload
	seconds        float64 // its own measure: claim to stored and recorded
	startSeg, segs int     // the segments it covers (video)
}

func runBench(t *testing.T, src string, r benchRun) *benchResult {
	c := newCluster(t, map[string]string{"LECTERN_CHUNK_SECONDS": r.chunkSeconds})
	var workers []*proc
	for i := range r.workers {
		w := c.startWorkerWith(t, t.TempDir(), 1, map[string]string{"LECTERN_WORKER_NAME": "w" + strconv.Itoa(i+1)})
		w.waitLog("worker started")
		workers = append(workers, w)
	}
	beforeOwn, beforeChild := cpuSeconds(t, workers)
	lesson := c.upload(t, src)
	uploaded := time.Now()
	res := &benchResult{benchRun: r}
	since := func() float64 { return time.Since(uploaded).Seconds() }
	// LECTERN_BENCH_UNTIL=playable stops at first playable: a quick look
	// at the start of a long lecture.
	untilPlayable := os.Getenv("LECTERN_BENCH_UNTIL") == "playable"
	for deadline := time.Now().Add(3 * time.Hour); res.ready == 0 && !(untilPlayable && res.playable > 0); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not ready within 3 hours")
		}
		var l struct {
			Status     string
			Playable   bool
			DurationMS int64 `json:"duration_ms"`
		}
		c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson, nil, http.StatusOK, &l)
		if l.Status == string(lectern.LessonFailed) {
			t.Fatal("transcode failed")
		}
		if l.Playable && res.jsonPlayable == 0 {
			res.jsonPlayable = since()
		}
		if l.Playable && res.playable == 0 && openingServed(t, c, lesson) {
			res.playable = since()
		}
		if l.DurationMS > 0 {
			res.srcSeconds = float64(l.DurationMS) / 1000
		}
		if l.Status == string(lectern.LessonReady) {
			res.ready = since()
		}
	}
	own, child := cpuSeconds(t, workers)
	res.ownCPU, res.childCPU = own-beforeOwn, child-beforeChild
	for _, p := range c.outputPrefixes(t, lesson) {
		res.bytes += c.objectBytes(t, p)
	}
	at := func(rec logRecord) float64 {
		ts, err := time.Parse(time.RFC3339Nano, rec.str("time"))
		if err != nil {
			t.Fatalf("log line without a time: %v", rec)
		}
		return ts.Sub(uploaded).Seconds()
	}
	started := map[string]float64{}
	for i, w := range workers {
		name := "w" + strconv.Itoa(i+1)
		for _, rec := range logRecords(w) {
			key := rec.str("output") + "/" + fmt.Sprint(rec["chunk"])
			switch rec.str("msg") {
			case "transcode started":
				res.started = at(rec)
			case "transcode planned in chunks":
				res.planned = at(rec)
			case "transcode playable: opening chunk and its audio stored":
				res.playableLogged = at(rec)
			case "transcode chunk started":
				started[key] = at(rec)
			case "transcode chunk done":
				idx, _ := rec["chunk"].(float64)
				secs, _ := rec["seconds"].(float64)
				seg, _ := rec["start_seg"].(float64)
				segs, _ := rec["segs"].(float64)
				res.pieces = append(res.pieces, benchPiece{index: int(idx), kind: rec.str("kind"), worker: name,
					start: started[key], done: at(rec), seconds: secs, startSeg: int(seg), segs: int(segs)})
			}
		}
	}
	slices.SortFunc(res.pieces, func(a, b benchPiece) int { return cmp.Compare(a.index, b.index) })
	return res
}

// openingServed reports whether the first segment of every rendition of
// the lesson, audio included, is served (200), as a player needs them.
func openingServed(t *testing.T, c *cluster, lesson string) bool {
	t.Helper()
	var pb struct {
		HLSURL string `json:"hls_url"`
	}
	c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson+"/playback", nil, http.StatusOK, &pb)
	master, err := url.Parse(c.base + pb.HLSURL)
	if err != nil {
		t.Fatal(err)
	}
	code, body := c.teacher.get(t, master.String())
	if code != http.StatusOK {
		return false
	}
	var media []string
	lines := strings.Split(string(body), "\n")
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if uri := hlsAttr(line, "URI"); strings.HasPrefix(line, "#EXT-X-MEDIA:") && uri != "" {
			media = append(media, uri)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			media = append(media, line)
		}
	}
	if len(media) == 0 {
		return false
	}
	for _, m := range media {
		mu := master.ResolveReference(&url.URL{Path: m})
		code, body := c.teacher.get(t, mu.String())
		if code != http.StatusOK {
			return false
		}
		var first []string // the init segment and the first media segment
		for line := range strings.SplitSeq(string(body), "\n") {
			line = strings.TrimSpace(line)
			if uri := hlsAttr(line, "URI"); strings.HasPrefix(line, "#EXT-X-MAP:") && uri != "" {
				first = append(first, uri)
			} else if line != "" && !strings.HasPrefix(line, "#") {
				first = append(first, line)
				break
			}
		}
		if len(first) == 0 {
			return false
		}
		for _, s := range first {
			if code, _ := c.teacher.get(t, mu.ResolveReference(&url.URL{Path: s}).String()); code != http.StatusOK {
				return false
			}
		}
	}
	return true
}

// hlsAttr is a quoted attribute of a playlist tag, "" if it has none.
func hlsAttr(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// cpuSeconds is the CPU time (user and system) of the processes
// themselves and of the children they waited for (their ffmpeg and
// ffprobe runs), from /proc.
func cpuSeconds(t *testing.T, ps []*proc) (own, children float64) {
	t.Helper()
	for _, p := range ps {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// utime, stime, cutime, cstime are fields 14–17 of stat(5); 12–15
		// here, counted from the state field.
		for i, f := range fields[11:15] {
			n, _ := strconv.ParseFloat(f, 64)
			if i < 2 {
				own += n / 100 // USER_HZ
			} else {
				children += n / 100
			}
		}
	}
	return own, children
}

// objectBytes sums the sizes of the objects under prefix.
func (c *cluster) objectBytes(t *testing.T, prefix string) int64 {
	t.Helper()
	client, err := minio.New(c.s3.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(c.s3.AccessKey, c.s3.SecretKey, ""), Secure: c.s3.UseSSL})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for obj := range client.ListObjects(context.Background(), c.s3.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n += obj.Size
	}
	return n
}

// logRecords is p's JSON log lines.
func logRecords(p *proc) []logRecord {
	var out []logRecord
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// opening is the piece of kind ("audio" or the opening "video" piece).
func (r *benchResult) opening(kind string) *benchPiece {
	for i, p := range r.pieces {
		if p.kind == kind && (kind == "audio" || p.startSeg == 0) {
			return &r.pieces[i]
		}
	}
	return nil
}

// breakdown says where the time to first playable went.
func (r *benchResult) breakdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "task started %.1f s after the upload", r.started)
	if r.planned == 0 {
		fmt.Fprintf(&b, ", ready (published) %.1f, JSON playable %.1f, segments served %.1f", r.ready, r.jsonPlayable, r.playable)
		return b.String()
	}
	fmt.Fprintf(&b, ", planned %.1f (download, probe, plan)", r.planned)
	for _, kind := range []string{"audio", "video"} {
		if p := r.opening(kind); p != nil {
			name := map[string]string{"audio": "audio piece", "video": "opening piece"}[kind]
			fmt.Fprintf(&b, ", %s %.1f–%.1f on %s (%.1f s)", name, p.start, p.done, p.worker, p.seconds)
		}
	}
	fmt.Fprintf(&b, ", playable published %.1f, JSON playable %.1f, segments served %.1f", r.playableLogged, r.jsonPlayable, r.playable)
	return b.String()
}

// project is the first playable and ready time of r's pieces run on n
// workers: each free worker takes the next video piece in the queue's
// order (the opening, then by position), every piece takes as long as it
// took in r plus the mean pause between pieces a worker had in r; the
// audio piece runs beside them on a worker's audio lane from its start in
// r, storing its opening seconds at once; the time before the plan and
// after the last piece are r's own.
func (r *benchResult) project(n int) (playable, ready float64) {
	var pieces []benchPiece
	var audioDone float64
	for _, p := range r.pieces {
		if p.kind == "audio" {
			audioDone = p.done
			continue
		}
		pieces = append(pieces, p)
	}
	// The opening chunk comes first in the plan too.
	slices.SortFunc(pieces, func(a, b benchPiece) int { return cmp.Compare(a.index, b.index) })
	var gaps []float64
	last := map[string]float64{}
	byStart := slices.Clone(pieces)
	slices.SortFunc(byStart, func(a, b benchPiece) int { return cmp.Compare(a.start, b.start) })
	for _, p := range byStart {
		if d, ok := last[p.worker]; ok {
			gaps = append(gaps, p.start-d)
		}
		last[p.worker] = p.done
	}
	gap := meanOf(gaps)
	free := make([]float64, n)
	for i := range free {
		free[i] = pieces[0].start
		for _, p := range pieces {
			free[i] = min(free[i], p.start)
		}
	}
	var openingDone, lastDone float64
	for _, p := range pieces {
		w := slices.Index(free, slices.Min(free))
		free[w] += p.done - p.start
		if p.startSeg == 0 {
			openingDone = free[w]
		}
		lastDone = max(lastDone, free[w])
		free[w] += gap
	}
	measuredLast := audioDone
	for _, p := range pieces {
		measuredLast = max(measuredLast, p.done)
	}
	return openingDone + (r.playable - r.opening("video").done), max(lastDone, audioDone) + (r.ready - measuredLast)
}

// benchReport is the run's summary in Markdown: the README's table, the
// pieces of each chunked run and the projection.
func benchReport(src, chunkSecs string, results []*benchResult, perRung float64) string {
	var b strings.Builder
	var single *benchResult
	var base *benchResult // the projection's pieces: the chunked run on one worker
	for _, r := range results {
		if r.chunkSeconds == "0" {
			single = r
		} else if base == nil || r.workers == 1 {
			base = r
		}
	}
	srcSecs := 0.0
	if len(results) > 0 {
		srcSecs = results[0].srcSeconds
	}
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Source: %s, %.0f s; chunks of %s s; %s, %d CPUs; load average at the end: %s\n\n",
		filepath.Base(src), srcSecs, chunkSecs, host, numCPU(), loadAverage())
	ratio := func(x, y float64) string {
		if x == 0 || y == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", x/y)
	}
	b.WriteString("| run | workers | first playable (s) | ready (s) | ready ÷ source | ready ÷ per-rung wall | ffmpeg CPU (s) | CPU ÷ single | bytes ÷ single |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	if perRung > 0 {
		fmt.Fprintf(&b, "| one ffmpeg per rung, no server (BenchmarkLadder/ProcessPerRung) | — | — | %.1f (wall) | %s | 1.00 | — | — | — |\n",
			perRung, ratio(perRung, srcSecs))
	}
	for _, r := range results {
		cpu, bytes := "—", "—"
		if single != nil {
			cpu, bytes = ratio(r.childCPU, single.childCPU), ratio(float64(r.bytes), float64(single.bytes))
		}
		if r.ready == 0 { // LECTERN_BENCH_UNTIL=playable
			fmt.Fprintf(&b, "| %s | %d | %.1f | — | — | — | — | — | — |\n", r.label, r.workers, r.playable)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %s | %s | %.0f | %s | %s |\n", r.label, r.workers, r.playable, r.ready,
			ratio(r.ready, r.srcSeconds), ratio(r.ready, perRung), r.childCPU, cpu, bytes)
	}
	if base != nil && base.ready > 0 && base.opening("audio") != nil && base.opening("video") != nil {
		for _, n := range []int{4, 8} {
			p, ready := base.project(n)
			fmt.Fprintf(&b, "| *projection*: chunked, from the %d-worker piece times | %d | *%.1f* | *%.1f* | *%s* | *%s* | — | — | — |\n",
				base.workers, n, p, ready, ratio(ready, srcSecs), ratio(ready, perRung))
		}
	}
	for _, r := range results {
		if len(r.pieces) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nPieces, %s on %d worker(s) (times in seconds since the upload was answered):\n\n", r.label, r.workers)
		b.WriteString("| piece | kind | source | worker | started | done | seconds |\n|---:|---|---|---|---:|---:|---:|\n")
		var video []float64
		for _, p := range r.pieces {
			span := "whole lesson"
			if p.kind != "audio" {
				span = fmt.Sprintf("%d–%d s", p.startSeg*transcode.SegmentSeconds, (p.startSeg+p.segs)*transcode.SegmentSeconds)
				if p.startSeg > 0 {
					video = append(video, p.seconds/float64(p.segs*transcode.SegmentSeconds))
				}
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.1f | %.1f | %.1f |\n", p.index, p.kind, span, p.worker, p.start, p.done, p.seconds)
		}
		fmt.Fprintf(&b, "\nFirst playable: %s.\n", r.breakdown())
		if len(video) > 0 {
			fmt.Fprintf(&b, "Video pieces after the opening: %.2f s of encoding per second of source (mean).\n", meanOf(video))
		}
	}
	return b.String()
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func numCPU() int { return runtime.NumCPU() }

// loadAverage is the one-minute load average, "?" where /proc has none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
