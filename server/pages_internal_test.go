package server

import (
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/player"
)

func step(durationMS int64, size chartSize) int64 { return tickStep(durationMS, size.MaxXLabels) }

func TestRetentionChart(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		ch := newRetentionChart(&lectern.LessonAnalytics{DurationMS: 6000}, chartWide)
		if !ch.Empty || ch.Line != "" {
			t.Errorf("chart of a lesson nobody watched = %+v, want empty", ch)
		}
	})
	t.Run("CurveAndQuestionBars", func(t *testing.T) {
		a := &lectern.LessonAnalytics{DurationMS: 4000, Enrolled: 2, Viewers: 2, BucketMS: 2000, Buckets: []lectern.AnalyticsBucket{
			{StartMS: 0, EndMS: 2000, Viewers: 2},
			{StartMS: 2000, EndMS: 4000, Viewers: 1, Questions: 3},
		}}
		ch := newRetentionChart(a, chartWide)
		top, mid := f(ch.PlotTop), f((ch.PlotTop+ch.Baseline)/2)
		// The whole class watched the first half: the curve starts at 100%.
		if !strings.HasPrefix(ch.Line, "M"+f(ch.PlotLeft)+" "+top) {
			t.Errorf("line %q does not start at the top left (y=%s)", ch.Line, top)
		}
		// Half the class watched the second half: the curve ends at 50%.
		if !strings.HasSuffix(ch.Line, "L"+f(ch.PlotRight)+" "+mid) {
			t.Errorf("line %q does not end at half height (y=%s)", ch.Line, mid)
		}
		if len(ch.Bars) != 1 || !strings.Contains(ch.Bars[0].Label, "3 questions at 0:02") {
			t.Errorf("bars = %+v, want one for 3 questions at 0:02", ch.Bars)
		}
		if got := ch.XTicks[len(ch.XTicks)-1].Label; got != "0:04" {
			t.Errorf("last time label = %q, want 0:04", got)
		}
	})
	t.Run("LabelsStayInsideTheDrawing", func(t *testing.T) {
		for _, duration := range []int64{6000, 59_000, 754_000, 3_905_000, 4 * 3600_000} {
			a := &lectern.LessonAnalytics{DurationMS: duration, Enrolled: 1, Viewers: 1, BucketMS: duration,
				Buckets: []lectern.AnalyticsBucket{{StartMS: 0, EndMS: duration, Viewers: 1}}}
			for _, size := range []chartSize{chartWide, chartNarrow} {
				ch := newRetentionChart(a, size)
				if n := int64(len(ch.XTicks)); n < 2 || n > size.MaxXLabels+1 {
					t.Errorf("%d ms at %v wide: %d time labels", duration, size.W, n)
				}
				prevRight := -1.0
				for _, tk := range append(ch.XTicks, ch.YTicks...) {
					w, left := labelWidth(tk.Label), tickLeft(tk)
					if left < 0 || left+w > ch.W || tk.Y-chartFontSize/2 < 0 || tk.Y+chartFontSize/3 > ch.H {
						t.Errorf("%d ms at %v wide: label %q (%s at %.1f, %.1f) leaves the %vx%v drawing",
							duration, size.W, tk.Label, tk.Anchor, tk.X, tk.Y, ch.W, ch.H)
					}
				}
				if last := ch.XTicks[len(ch.XTicks)-1].Label; last != player.Clock(duration/step(duration, size)*step(duration, size)) {
					t.Errorf("%d ms at %v wide: last time label %q", duration, size.W, last)
				}
				for _, tk := range ch.XTicks {
					w, left := labelWidth(tk.Label), tickLeft(tk)
					if left < prevRight+4 {
						t.Errorf("%d ms at %v wide: label %q overlaps the one before", duration, size.W, tk.Label)
					}
					prevRight = left + w
				}
			}
		}
	})
}
