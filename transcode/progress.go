package transcode

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// progressReader returns a reader of ffmpeg's -progress output that calls
// report with the percent of durationMS encoded whenever it grows. ffmpeg
// writes blocks of key=value lines, each ending with "progress=continue"
// or, at the very end, "progress=end".
func progressReader(durationMS int64, report func(percent float64)) func(io.Reader) error {
	return func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		outUS, last := int64(-1), -1.0
		for sc.Scan() {
			key, val, _ := strings.Cut(sc.Text(), "=")
			switch key {
			case "out_time_us":
				if n, err := strconv.ParseInt(val, 10, 64); err == nil {
					outUS = n
				}
			case "out_time_ms":
				// Despite its name ffmpeg writes microseconds here too; it is
				// the only key older versions write.
				if n, err := strconv.ParseInt(val, 10, 64); err == nil && outUS < 0 {
					outUS = n
				}
			case "progress":
				pct := percentDone(outUS, durationMS)
				if val == "end" {
					pct = 100
				}
				if report != nil && pct > last {
					report(pct)
					last = pct
				}
				outUS = -1
			}
		}
		return sc.Err()
	}
}

// percentDone is the share of durationMS covered by outUS, to a tenth of a
// percent, short of 100 until ffmpeg says it has ended.
func percentDone(outUS, durationMS int64) float64 {
	if outUS <= 0 || durationMS <= 0 {
		return 0
	}
	pct := float64(outUS) / 1000 / float64(durationMS) * 100
	return math.Min(99.9, math.Floor(pct*10)/10)
}
