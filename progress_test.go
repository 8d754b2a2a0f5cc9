package lectern_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

func TestPlayedSeconds(t *testing.T) {
	for _, tc := range []struct {
		name           string
		r              lectern.Range
		duration       int64
		wantLo, wantHi int
	}{
		{"WholeSeconds", lectern.Range{StartMS: 0, EndMS: 5000}, 60000, 0, 5},
		{"Midpoints", lectern.Range{StartMS: 4500, EndMS: 6500}, 60000, 4, 6},
		{"JustMissesMidpoints", lectern.Range{StartMS: 4501, EndMS: 5500}, 60000, 0, 0},
		{"ShortRangeOverMidpoint", lectern.Range{StartMS: 7400, EndMS: 7600}, 60000, 7, 8},
		{"Empty", lectern.Range{StartMS: 3000, EndMS: 3000}, 60000, 0, 0},
		{"ClippedAtEnd", lectern.Range{StartMS: 55000, EndMS: 999999}, 60000, 55, 60},
		{"EntirelyAfterEnd", lectern.Range{StartMS: 70000, EndMS: 80000}, 60000, 0, 0},
		{"NegativeStartClipped", lectern.Range{StartMS: -5000, EndMS: 2000}, 60000, 0, 2},
		{"ShortLastSecondCounted", lectern.Range{StartMS: 9000, EndMS: 10400}, 10400, 9, 11},
		{"ShortLastSecondMidpointMissed", lectern.Range{StartMS: 10300, EndMS: 10400}, 10400, 0, 0},
		{"ShortLastSecondOnly", lectern.Range{StartMS: 10100, EndMS: 10400}, 10400, 10, 11},
		{"WholeShortLesson", lectern.Range{StartMS: 0, EndMS: 300}, 300, 0, 1},
		{"NoDuration", lectern.Range{StartMS: 0, EndMS: 5000}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := lectern.PlayedSeconds(tc.r, tc.duration)
			if lo != tc.wantLo || hi != tc.wantHi {
				t.Errorf("PlayedSeconds(%v, %d) = [%d, %d), want [%d, %d)", tc.r, tc.duration, lo, hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

// TestPlayedSecondsSplitAnywhere checks the property beats rely on: play
// split into adjacent ranges at any millisecond counts exactly the seconds
// the unsplit range counts, neither fewer nor more.
func TestPlayedSecondsSplitAnywhere(t *testing.T) {
	const duration = 12345
	whole := coverageOf(duration, lectern.Range{StartMS: 0, EndMS: duration})
	if got, want := whole.Count(), lectern.CoverageSlots(duration); got != want {
		t.Fatalf("whole lesson covers %d seconds, want %d", got, want)
	}
	for split := int64(1); split < duration; split += 37 {
		parts := coverageOf(duration, lectern.Range{StartMS: 0, EndMS: split}, lectern.Range{StartMS: split, EndMS: duration})
		if !cmp.Equal(parts, whole) {
			t.Fatalf("split at %d: covered %v, want %v", split, parts.Spans(), whole.Spans())
		}
		a, b := coverageOf(duration, lectern.Range{StartMS: 0, EndMS: split}), coverageOf(duration, lectern.Range{StartMS: split, EndMS: duration})
		if a.Count()+b.Count() != whole.Count() {
			t.Fatalf("split at %d: halves count %d + %d, want %d in all", split, a.Count(), b.Count(), whole.Count())
		}
	}
}

func coverageOf(duration int64, ranges ...lectern.Range) lectern.Coverage {
	var c lectern.Coverage
	for _, r := range ranges {
		c = c.Add(lectern.PlayedSeconds(r, duration))
	}
	return c
}

func TestCoverage(t *testing.T) {
	t.Run("AddAndSpans", func(t *testing.T) {
		c := lectern.Coverage{}.Add(2, 5).Add(9, 10).Add(4, 7)
		want := []lectern.Range{{StartMS: 2000, EndMS: 7000}, {StartMS: 9000, EndMS: 10000}}
		if diff := cmp.Diff(want, c.Spans()); diff != "" {
			t.Errorf("Spans (-want +got):\n%s", diff)
		}
		if got := c.Count(); got != 6 {
			t.Errorf("Count = %d, want 6", got)
		}
		if got := c.CountIn(4, 10); got != 4 {
			t.Errorf("CountIn(4, 10) = %d, want 4", got)
		}
	})
	t.Run("MergeIsOrderFreeAndIdempotent", func(t *testing.T) {
		a := lectern.Coverage{}.Add(0, 3)
		b := lectern.Coverage{}.Add(20, 30)
		ab, ba := a.Merge(b), b.Merge(a)
		if !cmp.Equal(ab, ba) {
			t.Errorf("a|b = %v, b|a = %v", ab.Spans(), ba.Spans())
		}
		if again := ab.Merge(b).Merge(a); !cmp.Equal(again, ab) {
			t.Errorf("merging again changed %v into %v", ab.Spans(), again.Spans())
		}
		if ab.Count() != 13 {
			t.Errorf("Count = %d, want 13", ab.Count())
		}
		if a.Count() != 3 {
			t.Errorf("Merge changed its receiver: %v", a.Spans())
		}
	})
	t.Run("Truncate", func(t *testing.T) {
		c := lectern.Coverage{}.Add(0, 20)
		for _, tc := range []struct{ slots, want int }{{20, 20}, {30, 20}, {13, 13}, {8, 8}, {0, 0}} {
			if got := c.Truncate(tc.slots).Count(); got != tc.want {
				t.Errorf("Truncate(%d).Count() = %d, want %d", tc.slots, got, tc.want)
			}
		}
		if c.Count() != 20 {
			t.Errorf("Truncate changed its receiver")
		}
	})
	t.Run("HourIs450Bytes", func(t *testing.T) {
		if got := len(lectern.Coverage{}.Add(0, lectern.CoverageSlots(3600*1000))); got != 450 {
			t.Errorf("an hour takes %d bytes, want 450", got)
		}
	})
}

func TestPercentAndThreshold(t *testing.T) {
	for _, tc := range []struct {
		watched, slots int
		percent        float64
		reaches90      bool
	}{
		{0, 100, 0, false},
		{90, 100, 90, true},
		{89, 100, 89, false},
		{179, 199, 89.9, false}, // 89.95 %: shown rounded down, not complete
		{180, 199, 90.4, true},
		{100, 100, 100, true},
		{0, 0, 0, false},
	} {
		if got := lectern.CoveragePercent(tc.watched, tc.slots); got != tc.percent {
			t.Errorf("CoveragePercent(%d, %d) = %v, want %v", tc.watched, tc.slots, got, tc.percent)
		}
		if got := lectern.ReachesThreshold(tc.watched, tc.slots, 90); got != tc.reaches90 {
			t.Errorf("ReachesThreshold(%d, %d, 90) = %v, want %v", tc.watched, tc.slots, got, tc.reaches90)
		}
	}
}

func TestResumePosition(t *testing.T) {
	const duration = 100000
	for _, tc := range []struct {
		name     string
		position int64
		want     int64
	}{
		{"Start", 0, 0},
		{"NearStart", 4999, 0},
		{"AtFivePercent", 5000, 5000},
		{"Middle", 42000, 42000},
		{"AtNinetyPercent", 90000, 90000},
		{"NearEnd", 90001, 0},
		{"PastEnd", 150000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lectern.ResumePosition(tc.position, duration); got != tc.want {
				t.Errorf("ResumePosition(%d, %d) = %d, want %d", tc.position, duration, got, tc.want)
			}
		})
	}
	if got := lectern.ResumePosition(5000, 0); got != 0 {
		t.Errorf("ResumePosition in a lesson without duration = %d, want 0", got)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Run("DecodeRanges", func(t *testing.T) {
		var b lectern.Heartbeat
		err := json.Unmarshal([]byte(`{"session_id":"s","seq":3,"position_ms":9000,"ranges":[[0,4000],[5000,9000]]}`), &b)
		if err != nil {
			t.Fatal(err)
		}
		want := lectern.Heartbeat{SessionID: "s", Seq: 3, PositionMS: 9000,
			Ranges: []lectern.Range{{StartMS: 0, EndMS: 4000}, {StartMS: 5000, EndMS: 9000}}}
		if diff := cmp.Diff(want, b); diff != "" {
			t.Errorf("decoded (-want +got):\n%s", diff)
		}
		out, _ := json.Marshal(b.Ranges)
		if string(out) != `[[0,4000],[5000,9000]]` {
			t.Errorf("ranges encode as %s", out)
		}
	})
	t.Run("RangeMustBePair", func(t *testing.T) {
		for _, body := range []string{`[[1]]`, `[[1,2,3]]`, `[{"start":1}]`, `[[1.5,2]]`} {
			var rs []lectern.Range
			if err := json.Unmarshal([]byte(body), &rs); err == nil {
				t.Errorf("%s decoded as %v, want an error", body, rs)
			}
		}
	})
	long := make([]lectern.Range, lectern.MaxBeatRanges+1)
	for _, tc := range []struct {
		name string
		beat lectern.Heartbeat
		ok   bool
	}{
		{"OK", lectern.Heartbeat{SessionID: "s", Seq: 1, Ranges: []lectern.Range{{StartMS: 0, EndMS: 5000}}}, true},
		{"NoRanges", lectern.Heartbeat{SessionID: "s", PositionMS: 70000}, true},
		{"NoSession", lectern.Heartbeat{Seq: 1}, false},
		{"LongSession", lectern.Heartbeat{SessionID: string(make([]byte, 65))}, false},
		{"NegativeSeq", lectern.Heartbeat{SessionID: "s", Seq: -1}, false},
		{"NegativePosition", lectern.Heartbeat{SessionID: "s", PositionMS: -1}, false},
		{"BackwardsRange", lectern.Heartbeat{SessionID: "s", Ranges: []lectern.Range{{StartMS: 5000, EndMS: 4000}}}, false},
		{"TooManyRanges", lectern.Heartbeat{SessionID: "s", Ranges: long}, false},
		{"HugeRange", lectern.Heartbeat{SessionID: "s", Ranges: []lectern.Range{{StartMS: 0, EndMS: 3600 * 1000}}}, false},
		{"ManyRangesTooLongTogether", lectern.Heartbeat{SessionID: "s", Ranges: []lectern.Range{
			{StartMS: 0, EndMS: 60000}, {StartMS: 100000, EndMS: 160001}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.beat.Validate()
			if tc.ok && err != nil {
				t.Errorf("Validate: %v", err)
			}
			if !tc.ok && lectern.ErrorCode(err) != lectern.EINVALID {
				t.Errorf("Validate = %v, want an invalid error", err)
			}
		})
	}
}
