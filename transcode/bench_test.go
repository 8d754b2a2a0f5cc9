package transcode

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
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
			_, err := p.Encode(context.Background(), src, input, outDir, l, nil)
			return err
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

// benchEncode times encode into a fresh directory per iteration.
func benchEncode(b *testing.B, src *Source, encode func(outDir string) error) {
	b.Helper()
	for range b.N {
		b.StopTimer()
		outDir, err := os.MkdirTemp(b.TempDir(), "out")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := encode(outDir); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(outDir)
		b.StartTimer()
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp/(float64(src.DurationMS)/1000), "wall/src")
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
