package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/lectern/lectern/bench/internal/benchkit"
)

// Summary is what a run measured.
type Summary struct {
	Teachers int
	Size     int64
	Limit    int
	// When the uploads began and ended, counted from the first reading,
	// and how long until the last upload was answered.
	UploadStart, UploadEnd, UploadWall time.Duration
	// JobsAtUploadEnd counts the lessons' jobs by state as the admin jobs
	// API listed them once every upload was answered ("missing": none).
	JobsAtUploadEnd map[string]int
	TranscodeWall   time.Duration
	Failures        []error
	Samples         []benchkit.Sample
}

// phase returns the readings taken before the uploads, while they ran,
// and after.
func (s *Summary) phase() (idle, uploading, after []benchkit.Sample) {
	for _, x := range s.Samples {
		switch {
		case x.At < s.UploadStart:
			idle = append(idle, x)
		case x.At <= s.UploadEnd:
			uploading = append(uploading, x)
		default:
			after = append(after, x)
		}
	}
	return idle, uploading, after
}

// Memory is the server's Go heap and resident memory: the most read while
// idle before the uploads, and while they ran.
func (s *Summary) Memory() (idleHeap, peakHeap, idleRSS, peakRSS float64) {
	idle, uploading, _ := s.phase()
	for _, x := range idle {
		idleHeap, idleRSS = max(idleHeap, x.HeapInuse), max(idleRSS, x.RSS)
	}
	for _, x := range uploading {
		peakHeap, peakRSS = max(peakHeap, x.HeapInuse), max(peakRSS, x.RSS)
	}
	return idleHeap, peakHeap, idleRSS, peakRSS
}

// MaxRunning is the most transcodes seen running at once, by the admin
// jobs API and by the ffmpeg processes under the server; unread is how
// many readings of the jobs API failed.
func (s *Summary) MaxRunning() (jobs, ffmpeg, unread int) {
	for _, x := range s.Samples {
		if x.Running < 0 {
			unread++
		}
		jobs, ffmpeg = max(jobs, x.Running), max(ffmpeg, x.FFmpeg)
	}
	return jobs, ffmpeg, unread
}

// Print writes the summary for a person.
func (s *Summary) Print(w io.Writer) {
	total := float64(s.Size) * float64(s.Teachers)
	fmt.Fprintf(w, "%d uploads of %s at once: all answered in %v (%.0f MiB/s together), %d failures\n",
		s.Teachers, benchkit.MiB(float64(s.Size)), s.UploadWall.Round(time.Millisecond),
		total/(1<<20)/s.UploadWall.Seconds(), len(s.Failures))
	idleHeap, peakHeap, idleRSS, peakRSS := s.Memory()
	fmt.Fprintf(w, "server heap: %s idle, %s at most while uploading; RSS %s idle, %s at most\n",
		benchkit.MiB(idleHeap), benchkit.MiB(peakHeap), benchkit.MiB(idleRSS), benchkit.MiB(peakRSS))
	states := []string{}
	for _, k := range slices.Sorted(maps.Keys(s.JobsAtUploadEnd)) {
		states = append(states, fmt.Sprintf("%d %s", s.JobsAtUploadEnd[k], k))
	}
	fmt.Fprintf(w, "jobs when the last upload was answered: %v\n", states)
	jobs, ffmpeg, unread := s.MaxRunning()
	fmt.Fprintf(w, "transcodes at once (limit %d): at most %d running jobs, %d ffmpeg processes, over %d readings (%d unread); all done in %v\n",
		s.Limit, jobs, ffmpeg, len(s.Samples), unread, s.TranscodeWall.Round(time.Second))
	for i, err := range s.Failures {
		if i == 5 {
			fmt.Fprintf(w, "… and %d more failures\n", len(s.Failures)-5)
			break
		}
		fmt.Fprintf(w, "failure: %v\n", err)
	}
}
