package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/lectern/lectern/bench/internal/benchkit"
)

// ServerSamples is the server's memory before, during and after the
// viewers, from readings every half second.
type ServerSamples struct {
	// Idle before the viewers: medians.
	BaselineHeap, BaselineRSS, BaselineGoroutines float64
	// EarlyHeap and LateHeap are the Go heap's medians over the first and
	// the last third of the time after the ramp, when every viewer is
	// watching: equal but for noise when memory is flat.
	EarlyHeap, LateHeap float64
	// The largest readings while the viewers watched.
	PeakHeap, PeakRSS, PeakGoroutines float64
	// Idle after the viewers left: medians.
	AfterHeap, AfterGoroutines float64
	Readings                   int
}

// serverSamples sorts readings into the run's phases by when they were taken.
func serverSamples(samples []benchkit.Sample, cfg config) ServerSamples {
	var base, during, steady, after []benchkit.Sample
	end := cfg.settle + cfg.duration
	for _, s := range samples {
		switch {
		case s.At < cfg.settle:
			base = append(base, s)
		case s.At < end:
			during = append(during, s)
			if s.At >= cfg.settle+cfg.ramp {
				steady = append(steady, s)
			}
		default:
			after = append(after, s)
		}
	}
	heap := func(s benchkit.Sample) float64 { return s.HeapInuse }
	rss := func(s benchkit.Sample) float64 { return s.RSS }
	gor := func(s benchkit.Sample) float64 { return s.Goroutines }
	third := len(steady) / 3
	out := ServerSamples{
		BaselineHeap: median(base, heap), BaselineRSS: median(base, rss), BaselineGoroutines: median(base, gor),
		PeakHeap: peak(during, heap), PeakRSS: peak(during, rss), PeakGoroutines: peak(during, gor),
		AfterHeap: median(after, heap), AfterGoroutines: median(after, gor), Readings: len(samples),
	}
	if third > 0 {
		out.EarlyHeap, out.LateHeap = median(steady[:third], heap), median(steady[len(steady)-third:], heap)
	}
	return out
}

// HeapFlat reports whether the heap held steady while every viewer
// watched: its late median at most a quarter, and 8 MiB, above its early
// one (the garbage collector's cycles make it saw-tooth).
func (s ServerSamples) HeapFlat() bool {
	return s.EarlyHeap > 0 && s.LateHeap <= s.EarlyHeap*1.25+8<<20
}

// Print writes the readings for a person.
func (s ServerSamples) Print(w io.Writer) {
	fmt.Fprintf(w, "server heap: idle %s, watching %s early and %s late (flat: %v), peak %s, idle after %s\n",
		benchkit.MiB(s.BaselineHeap), benchkit.MiB(s.EarlyHeap), benchkit.MiB(s.LateHeap), s.HeapFlat(),
		benchkit.MiB(s.PeakHeap), benchkit.MiB(s.AfterHeap))
	fmt.Fprintf(w, "server RSS: idle %s, peak %s; goroutines: idle %.0f, peak %.0f, after %.0f (%d readings)\n",
		benchkit.MiB(s.BaselineRSS), benchkit.MiB(s.PeakRSS), s.BaselineGoroutines, s.PeakGoroutines, s.AfterGoroutines, s.Readings)
}

func median(s []benchkit.Sample, f func(benchkit.Sample) float64) float64 {
	if len(s) == 0 {
		return 0
	}
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func peak(s []benchkit.Sample, f func(benchkit.Sample) float64) float64 {
	m := 0.0
	for _, x := range s {
		m = max(m, f(x))
	}
	return m
}
