package transcode

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern/db"
)

// BenchmarkLadder encodes a 1080p source into the full ladder and reports
// wall/src: wall time divided by the source's duration (below 1 is faster
// than real time). OneProcess is Encode itself; ProcessPerRung encodes the
// same ladder with one ffmpeg process per rendition, one after another, for
// comparison only. bench/transcode.sh generates the 60 s source and sets
// LECTERN_BENCH_SOURCE; without it a 10 s 1080p clip is generated here.
func BenchmarkLadder(b *testing.B) {
	p := newPipeline(b)
	input, src := benchSource(b, p)
	l := PlanLadder(src)
	b.Logf("source %dx%d, %d ms; %d rungs", src.Video.Width, src.Video.Height, src.DurationMS, len(l.Video))

	b.Run("OneProcess", func(b *testing.B) {
		benchEncode(b, src, func(outDir string) error {
			if _, err := p.Encode(context.Background(), src, input, outDir, l, nil); err != nil {
				return err
			}
			_, err := p.Images(context.Background(), src, input, outDir)
			return err
		})
	})
	chunkSeconds := DefaultChunkSeconds
	if v, err := strconv.Atoi(os.Getenv("LECTERN_CHUNK_SECONDS")); err == nil && v > 0 {
		chunkSeconds = v
	}
	b.Run("Chunked", func(b *testing.B) {
		spec, chunks, ok := planChunks(src, l, chunkSeconds)
		if !ok {
			b.Skipf("a %d ms source is not chunked with %d s chunks", src.DurationMS, chunkSeconds)
		}
		b.Logf("%d pieces of %d s (the opening one of %d s)", len(chunks), chunkSeconds, openingSegs*SegmentSeconds)
		benchEncode(b, src, func(outDir string) error {
			return encodeChunked(p, &spec, chunks, input, outDir)
		})
	})
	b.Run("ProcessPerRung", func(b *testing.B) {
		benchEncode(b, src, func(outDir string) error {
			return encodePerRung(p, src, input, outDir, l)
		})
	})
}

// benchSource is the benchmarks' source: LECTERN_BENCH_SOURCE, else a
// 10 s 1080p testsrc2 clip with a tone.
func benchSource(b *testing.B, p *Pipeline) (string, *Source) {
	b.Helper()
	input := os.Getenv("LECTERN_BENCH_SOURCE")
	if input == "" {
		input = makeClip(b, p, "bench.mp4",
			"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
			"-f", "lavfi", "-i", "sine=frequency=440:duration=10",
			"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest")
	}
	return input, mustProbe(b, p, input)
}

// benchEncode times encode into a fresh directory per iteration and
// reports, per iteration, the CPU seconds of the child processes
// (ffmpeg; user+sys, from the rusage of waited-for children) as cpu-s and
// cpu/src, and the bytes written as bytes.
func benchEncode(b *testing.B, src *Source, encode func(outDir string) error) {
	b.Helper()
	var cpu time.Duration
	var bytes int64
	for range b.N {
		b.StopTimer()
		outDir, err := os.MkdirTemp(b.TempDir(), "out")
		if err != nil {
			b.Fatal(err)
		}
		before := childrenCPU(b)
		b.StartTimer()
		if err := encode(outDir); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += childrenCPU(b) - before
		bytes += dirBytes(b, outDir)
		os.RemoveAll(outDir)
		b.StartTimer()
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp/(float64(src.DurationMS)/1000), "wall/src")
	cpuOp := cpu.Seconds() / float64(b.N)
	b.ReportMetric(cpuOp, "cpu-s")
	b.ReportMetric(cpuOp/(float64(src.DurationMS)/1000), "cpu/src")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes")
}

// childrenCPU is the user+sys time of this process's waited-for children.
func childrenCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dirBytes is the size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// encodeChunked is the chunked transcode of spec, serially in this
// process: every piece into its own directory (as on its worker), then
// the stitch and the images from the pieces' results, written as the
// publication stores them.
func encodeChunked(p *Pipeline, spec *chunkSpec, plan []db.Chunk, input, outDir string) error {
	ctx := context.Background()
	chunks := append([]db.Chunk(nil), plan...)
	images := filepath.Join(outDir, chunkImagesDir)
	if err := os.Mkdir(images, 0o755); err != nil {
		return err
	}
	for i := range chunks {
		c := &chunks[i]
		dir := filepath.Join(outDir, "c"+strconv.Itoa(c.Index))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		var res *chunkResult
		var err error
		if c.Kind == db.ChunkAudio {
			if err = p.encodeAudio(ctx, spec, input, dir, func(float64) {}); err == nil {
				res, err = readAudio(dir, nil)
			}
		} else {
			res, err = p.encodeChunk(ctx, spec, c, input, dir, func(float64) {})
		}
		if err == nil {
			// The chunks' images, as stored together under the plan's prefix.
			err = moveFiles(filepath.Join(dir, chunkImagesDir), images)
		}
		if err != nil {
			return err
		}
		js, err := json.Marshal(res)
		if err != nil {
			return err
		}
		c.State, c.Result = db.ChunkDone, string(js)
	}
	_, playlists, _, found, _, err := stitch(spec, chunks)
	if err != nil {
		return err
	}
	if err := found.fetch(ctx, func(_ context.Context, name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(images, name))
	}); err != nil {
		return err
	}
	for name, text := range playlists {
		if err := os.WriteFile(filepath.Join(outDir, strings.ReplaceAll(name, "/", "-")), []byte(text), 0o644); err != nil {
			return err
		}
	}
	_, err = writeChunkImages(&spec.Source, found, outDir)
	return err
}

// moveFiles moves the files in dir (if any) into to.
func moveFiles(dir, to string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if err == nil {
			err = os.Rename(filepath.Join(dir, e.Name()), filepath.Join(to, e.Name()))
		}
	}
	return err
}

// encodePerRung is the ladder without the shared decode: one ffmpeg per
// video rung, each decoding the whole source, then one for the audio.
func encodePerRung(p *Pipeline, src *Source, input, outDir string, l Ladder) error {
	var parts []Ladder
	for _, r := range l.Video {
		one := l
		one.Video, one.Audio = []Rung{r}, nil
		parts = append(parts, one)
	}
	if l.Audio != nil {
		parts = append(parts, Ladder{Audio: l.Audio})
	}
	for i, part := range parts {
		dir := filepath.Join(outDir, "p"+strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		if _, err := prepareOutDir(dir, part); err != nil {
			return err
		}
		args, err := p.encodeArgs(src, input, dir, part)
		if err != nil {
			return err
		}
		if _, err := p.run(context.Background(), command{op: "encode", bin: p.ffmpeg(), args: args, dir: dir}); err != nil {
			return err
		}
	}
	return nil
}
