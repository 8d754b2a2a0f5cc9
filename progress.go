package lectern

import (
	"encoding/json"
	"math/bits"
	"strings"
	"time"
)

// Watch progress rules. Coverage is kept per second of a lesson; the
// thresholds are percentages of the lesson's duration.
const (
	// DefaultCompletionThreshold is the share of a lesson's seconds a
	// student must have watched for it to count as completed, unless the
	// course sets another.
	DefaultCompletionThreshold = 90
	// ResumeStartPercent and ResumeEndPercent bound where a student resumes:
	// a position before the first or after the second restarts at 0, as
	// viewers expect of a lesson they barely began or already finished.
	ResumeStartPercent = 5
	ResumeEndPercent   = 90
	// MaxBeatRanges is the most played ranges one heartbeat may carry.
	MaxBeatRanges = 32
	// MaxBeatPlayedMS is the most media one heartbeat may claim to have
	// played, all ranges together. Players send a beat every few seconds, so
	// two minutes is generous even at double speed; more is a client lying
	// about what was watched, and the beat is refused.
	MaxBeatPlayedMS = 2 * 60 * 1000
	// MaxSessionIDLen bounds a heartbeat's session id.
	MaxSessionIDLen = 64
)

// Range is a span of a lesson in milliseconds, from StartMS (included) to
// EndMS (excluded). In JSON it is a two-element array [start_ms, end_ms].
type Range struct {
	StartMS int64
	EndMS   int64
}

// MarshalJSON encodes r as [start_ms, end_ms].
func (r Range) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]int64{r.StartMS, r.EndMS})
}

// UnmarshalJSON decodes exactly two integers, [start_ms, end_ms].
func (r *Range) UnmarshalJSON(b []byte) error {
	var v []int64
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return Errorf(EINVALID, "a range must be [start_ms, end_ms], two integers")
	}
	r.StartMS, r.EndMS = v[0], v[1]
	return nil
}

// Heartbeat is one progress report from a player: what it played since its
// previous beat and where it is now. A player makes up SessionID once per
// page load and numbers its beats with Seq, increasing.
type Heartbeat struct {
	SessionID  string  `json:"session_id"`
	Seq        int64   `json:"seq"`
	PositionMS int64   `json:"position_ms"`
	Ranges     []Range `json:"ranges"`
}

// Validate checks the shape of b: a session id, a non-negative sequence
// number and position, and at most MaxBeatRanges well-formed ranges that
// together claim at most MaxBeatPlayedMS. Ranges beyond the lesson's end
// are not an error here; they are clipped against the lesson.
func (b *Heartbeat) Validate() error {
	switch {
	case strings.TrimSpace(b.SessionID) == "":
		return Errorf(EINVALID, "session_id is required")
	case len(b.SessionID) > MaxSessionIDLen:
		return Errorf(EINVALID, "session_id must be at most %d bytes", MaxSessionIDLen)
	case b.Seq < 0:
		return Errorf(EINVALID, "seq must not be negative")
	case b.PositionMS < 0:
		return Errorf(EINVALID, "position_ms must not be negative")
	case len(b.Ranges) > MaxBeatRanges:
		return Errorf(EINVALID, "a heartbeat may carry at most %d ranges", MaxBeatRanges)
	}
	var played int64
	for _, r := range b.Ranges {
		if r.StartMS < 0 || r.EndMS < r.StartMS {
			return Errorf(EINVALID, "range [%d, %d] must have 0 <= start_ms <= end_ms", r.StartMS, r.EndMS)
		}
		played += r.EndMS - r.StartMS
		if played > MaxBeatPlayedMS {
			return Errorf(EINVALID, "ranges claim more than %d s of playing in one heartbeat", MaxBeatPlayedMS/1000)
		}
	}
	return nil
}

// CoverageSlots is the number of seconds of a lesson tracked in its
// coverage: one per started second of its duration.
func CoverageSlots(durationMS int64) int {
	if durationMS <= 0 {
		return 0
	}
	return int((durationMS + 999) / 1000)
}

// PlayedSeconds returns the seconds [lo, hi) of a lesson that r counts as
// watched: those whose midpoint lies in r. Counting midpoints makes
// adjacent ranges ([0,4980) then [4980,10000)) add up to exactly what the
// single range [0,10000) gives, so splitting play into beats neither loses
// nor double-counts a second. The last second of a lesson whose duration
// is not whole is shorter, and its midpoint is the middle of what is left.
func PlayedSeconds(r Range, durationMS int64) (lo, hi int) {
	slots := CoverageSlots(durationMS)
	start, end := max(r.StartMS, 0), min(r.EndMS, durationMS)
	if slots == 0 || start >= end {
		return 0, 0
	}
	mid := func(s int) int64 {
		from := int64(s) * 1000
		return (from + min(from+1000, durationMS)) / 2
	}
	// Seconds before the last have midpoints s*1000+500: the first one
	// counted has its midpoint >= start, the first one not counted >= end.
	last := slots - 1
	lo = int(max(ceilDiv(start-500, 1000), 0))
	hi = int(min(ceilDiv(end-500, 1000), int64(last)))
	if m := mid(last); m >= start && m < end {
		hi = slots
	}
	if hi <= lo {
		return 0, 0
	}
	return lo, hi
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}

// Coverage is a set of seconds of a lesson, one bit per second: bit s%8 of
// byte s/8 is second s. Sets merge with OR, so adding the same seconds
// twice, or in any order, gives the same set. An hour is 450 bytes.
type Coverage []byte

// Has reports whether second s is in c.
func (c Coverage) Has(s int) bool {
	return s >= 0 && s/8 < len(c) && c[s/8]&(1<<(s%8)) != 0
}

// Add returns c with seconds [lo, hi) added, growing it as needed.
func (c Coverage) Add(lo, hi int) Coverage {
	if lo < 0 {
		lo = 0
	}
	if hi <= lo {
		return c
	}
	if need := (hi + 7) / 8; need > len(c) {
		c = append(c, make([]byte, need-len(c))...)
	}
	for s := lo; s < hi; s++ {
		c[s/8] |= 1 << (s % 8)
	}
	return c
}

// Merge returns the union of c and o (bitwise OR) as a new Coverage.
func (c Coverage) Merge(o Coverage) Coverage {
	out := make(Coverage, max(len(c), len(o)))
	copy(out, c)
	for i, b := range o {
		out[i] |= b
	}
	return out
}

// Truncate returns a copy of c without the seconds from slots on, for a
// lesson whose duration has become shorter.
func (c Coverage) Truncate(slots int) Coverage {
	slots = max(slots, 0)
	n := min(len(c), (slots+7)/8)
	out := make(Coverage, n)
	copy(out, c[:n])
	if n > 0 && n == (slots+7)/8 && slots%8 != 0 {
		out[n-1] &= byte(1<<(slots%8)) - 1
	}
	return out
}

// Count returns the number of seconds in c.
func (c Coverage) Count() int {
	n := 0
	for _, b := range c {
		n += bits.OnesCount8(b)
	}
	return n
}

// CountIn returns the number of seconds of [lo, hi) in c.
func (c Coverage) CountIn(lo, hi int) int {
	n := 0
	for s := max(lo, 0); s < hi && s/8 < len(c); s++ {
		if c.Has(s) {
			n++
		}
	}
	return n
}

// Spans returns c as ordered, non-overlapping runs of seconds, each as a
// Range in milliseconds ([2000, 5000) is seconds 2, 3 and 4).
func (c Coverage) Spans() []Range {
	var out []Range
	start := -1
	for s := 0; s <= len(c)*8; s++ {
		in := c.Has(s)
		switch {
		case in && start < 0:
			start = s
		case !in && start >= 0:
			out = append(out, Range{StartMS: int64(start) * 1000, EndMS: int64(s) * 1000})
			start = -1
		}
	}
	return out
}

// CoveragePercent is the share of a lesson's seconds that were watched, as
// a percentage rounded down to one decimal, so that a lesson shows 90.0 %
// only when 90 % has really been reached. Zero for a lesson of no duration.
func CoveragePercent(watched, slots int) float64 {
	if slots <= 0 {
		return 0
	}
	return float64(int64(watched)*1000/int64(slots)) / 10
}

// ReachesThreshold reports whether watched seconds out of slots reach
// threshold percent. It is exact (no rounding), and agrees with
// CoveragePercent(watched, slots) >= threshold.
func ReachesThreshold(watched, slots, threshold int) bool {
	return slots > 0 && int64(watched)*100 >= int64(threshold)*int64(slots)
}

// ResumePosition is where a student continues a lesson last left at
// positionMS: there, unless that is in the first ResumeStartPercent or
// past ResumeEndPercent of the lesson, where the lesson restarts at 0.
func ResumePosition(positionMS, durationMS int64) int64 {
	if durationMS <= 0 || positionMS <= 0 {
		return 0
	}
	if positionMS*100 < ResumeStartPercent*durationMS || positionMS*100 > ResumeEndPercent*durationMS {
		return 0
	}
	return min(positionMS, durationMS)
}

// ValidateCompletionThreshold checks a course's completion threshold, a
// whole percentage from 1 to 100.
func ValidateCompletionThreshold(pct int) error {
	if pct < 1 || pct > 100 {
		return Errorf(EINVALID, "completion_threshold must be a whole percentage from 1 to 100")
	}
	return nil
}

// Progress is one user's watching of one lesson, as the API shows it.
type Progress struct {
	LessonID   string `json:"lesson_id"`
	DurationMS int64  `json:"duration_ms"`
	// PositionMS is where to resume (see ResumePosition); LastPositionMS is
	// where the newest session last was.
	PositionMS     int64 `json:"position_ms"`
	LastPositionMS int64 `json:"last_position_ms"`
	// WatchedMS is the watched seconds in milliseconds, at most DurationMS;
	// Percent is the watched share of the lesson's seconds.
	WatchedMS int64   `json:"watched_ms"`
	Percent   float64 `json:"percent"`
	// Completed stays true once the course's threshold has been reached,
	// and CompletedAt is when that first happened.
	Completed           bool       `json:"completed"`
	CompletedAt         *time.Time `json:"completed_at"`
	CompletionThreshold int        `json:"completion_threshold"`
	// LastSeenAt is the time of the newest heartbeat; nil before any.
	LastSeenAt *time.Time `json:"last_seen_at"`
}

// StudentProgress is one student's row in a lesson's analytics.
type StudentProgress struct {
	UserID      string     `json:"user_id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	WatchedMS   int64      `json:"watched_ms"`
	Percent     float64    `json:"percent"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
	// WatchByStatus is on_time, late or not_yet for a lesson with a
	// watch-by date (see WatchByStatus), absent otherwise.
	WatchByStatus string `json:"watch_by_status,omitempty"`
}

// AnalyticsBucket is one stretch of a lesson in its analytics.
type AnalyticsBucket struct {
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Viewers counts the students who watched at least half of the
	// bucket's seconds (with one-second buckets: who watched that second).
	Viewers int `json:"viewers"`
	// Rewatchers counts the students who went back and watched some second
	// of the bucket again.
	Rewatchers int `json:"rewatchers"`
	// Questions counts the questions asked at a moment of the bucket.
	Questions int `json:"questions"`
}

// LessonAnalytics is what a lesson's teachers see of how it was watched.
// Only the course's students count; teachers previewing do not.
type LessonAnalytics struct {
	LessonID            string `json:"lesson_id"`
	DurationMS          int64  `json:"duration_ms"`
	CompletionThreshold int    `json:"completion_threshold"`
	// Enrolled is the number of students in the course; Viewers, those who
	// watched at least one second; Completed, those who completed it.
	Enrolled  int `json:"enrolled"`
	Viewers   int `json:"viewers"`
	Completed int `json:"completed"`
	// CompletionRate is Completed as a percentage of Enrolled, and
	// AveragePercent the mean coverage over Enrolled (a student who never
	// opened the lesson counts as 0 %).
	CompletionRate float64 `json:"completion_rate"`
	AveragePercent float64 `json:"average_percent"`
	// BucketMS is the width of each bucket of Buckets, the retention curve.
	BucketMS int64             `json:"bucket_ms"`
	Buckets  []AnalyticsBucket `json:"buckets"`
	// MostRewatched are the parts of the lesson that mattered most to
	// students going back: runs of seconds that at least RewatchThreshold
	// students watched again, most rewatchers first (then the longer, then
	// the earlier), at most MostRewatchedLimit of them.
	MostRewatched []RewatchedRange `json:"most_rewatched"`
	// RewatchThreshold is how many students must have watched a second
	// again for it to count in MostRewatched: it grows with Viewers.
	RewatchThreshold int               `json:"rewatch_threshold"`
	Students         []StudentProgress `json:"students"`
	// WatchBy is the lesson's watch-by date; null for none.
	WatchBy *time.Time `json:"watch_by"`
}

// Watch-by statuses of a student, for a lesson with a watch-by date.
const (
	WatchedOnTime = "on_time"
	WatchedLate   = "late"
	NotWatchedYet = "not_yet"
)

// WatchByStatus says whether a student who completed a lesson at
// completedAt (nil: not yet) did so by watchBy.
func WatchByStatus(completedAt *time.Time, watchBy time.Time) string {
	switch {
	case completedAt == nil:
		return NotWatchedYet
	case completedAt.After(watchBy):
		return WatchedLate
	}
	return WatchedOnTime
}

// RewatchedRange is a stretch of a lesson that students went back over:
// [StartMS, EndMS), whole seconds.
type RewatchedRange struct {
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Rewatchers counts the students who watched some second of the range
	// again.
	Rewatchers int `json:"rewatchers"`
	// Questions counts the questions asked at a moment of the range.
	Questions int `json:"questions"`
}

// MostRewatchedLimit bounds LessonAnalytics.MostRewatched.
const MostRewatchedLimit = 5
