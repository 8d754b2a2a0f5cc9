package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// requestKind sorts the requests a player makes.
type requestKind int

const (
	kindAPI      requestKind = iota // the playback URLs
	kindPlaylist                    // master and media playlists
	kindSegment                     // init segments and segments
)

// recorder collects what the viewers saw. It is safe for concurrent use.
type recorder struct {
	mu        sync.Mutex
	latencies [3][]time.Duration
	stalls    []time.Duration
	startups  []time.Duration
	failures  []error
}

func (r *recorder) request(k requestKind, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies[k] = append(r.latencies[k], d)
}

func (r *recorder) stall(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stalls = append(r.stalls, d)
}

func (r *recorder) startup(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startups = append(r.startups, d)
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, err)
}

// Summary is what a run measured.
type Summary struct {
	Viewers  int
	Duration time.Duration
	// Requests by kind, and the segments' latency percentiles (the time
	// to the last byte).
	APIRequests, PlaylistRequests, SegmentRequests int
	SegmentP50, SegmentP90, SegmentP99, SegmentMax time.Duration
	PlaylistP99                                    time.Duration
	// Stalls are the times a viewer's playhead waited for data after it
	// had started; StartupP99 is the time from asking for the playback URLs
	// to the first frame that could play.
	Stalls     int
	StallMax   time.Duration
	StartupP99 time.Duration
	StartupMax time.Duration
	Failures   []error
	// Server is what the server's own series and /proc said.
	Server ServerSamples
}

func (r *recorder) summary(viewers int, d time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Viewers: viewers, Duration: d, Failures: slices.Clone(r.failures),
		APIRequests: len(r.latencies[kindAPI]), PlaylistRequests: len(r.latencies[kindPlaylist]),
		SegmentRequests: len(r.latencies[kindSegment]), Stalls: len(r.stalls)}
	seg := sorted(r.latencies[kindSegment])
	s.SegmentP50, s.SegmentP90, s.SegmentP99 = pct(seg, 50), pct(seg, 90), pct(seg, 99)
	s.SegmentMax = pct(seg, 100)
	s.PlaylistP99 = pct(sorted(r.latencies[kindPlaylist]), 99)
	s.StallMax = pct(sorted(r.stalls), 100)
	st := sorted(r.startups)
	s.StartupP99, s.StartupMax = pct(st, 99), pct(st, 100)
	return s
}

func sorted(d []time.Duration) []time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c
}

// pct is the p-th percentile of sorted d (nearest rank); 0 for none.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	return d[min(max(i-1, 0), len(d)-1)]
}

// Print writes the summary for a person.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "%d viewers for %v: %d playback, %d playlist and %d segment requests (%.1f segments/s), %d failures\n",
		s.Viewers, s.Duration.Round(time.Second), s.APIRequests, s.PlaylistRequests, s.SegmentRequests,
		float64(s.SegmentRequests)/s.Duration.Seconds(), len(s.Failures))
	fmt.Fprintf(w, "segments: p50 %v, p90 %v, p99 %v, max %v; playlists p99 %v\n",
		ms(s.SegmentP50), ms(s.SegmentP90), ms(s.SegmentP99), ms(s.SegmentMax), ms(s.PlaylistP99))
	fmt.Fprintf(w, "start-up: p99 %v, max %v; stalls after start: %d, longest %v\n",
		ms(s.StartupP99), ms(s.StartupMax), s.Stalls, ms(s.StallMax))
	s.Server.Print(w)
	for i, err := range s.Failures {
		if i == 5 {
			fmt.Fprintf(w, "… and %d more failures\n", len(s.Failures)-5)
			break
		}
		fmt.Fprintf(w, "failure: %v\n", err)
	}
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
