//go:build unix

package transcode

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSceneBranch measures what looking for slide changes adds to an
// encode: the same 1080p source (LECTERN_BENCH_SOURCE, else a 10 s
// testsrc2 clip) through the full ladder with and without the branch,
// reporting wall/src and cpu/src, the CPU seconds of ffmpeg per second of
// source. Compare the two cpu/src figures:
//
//	go test ./transcode -run '^$' -bench SceneBranch -benchtime 3x
func BenchmarkSceneBranch(b *testing.B) {
	p := newPipeline(b)
	input, src := benchSource(b, p)
	l := PlanLadder(src)
	for _, tc := range []struct {
		name string
		skip bool
	}{{"WithoutScenes", true}, {"WithScenes", false}} {
		b.Run(tc.name, func(b *testing.B) {
			q := *p
			q.SkipScenes = tc.skip
			before := childCPU(b)
			benchEncode(b, src, func(outDir string) error {
				_, err := q.Encode(context.Background(), src, input, outDir, l, nil)
				return err
			})
			cpu := (childCPU(b) - before).Seconds() / float64(b.N)
			b.ReportMetric(cpu/(float64(src.DurationMS)/1000), "cpu/src")
		})
	}
}

// childCPU is the user and system time of this process's finished children.
func childCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
