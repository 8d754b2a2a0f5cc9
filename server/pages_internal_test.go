package server

import (
	"strings"
	"testing"

	"github.com/lectern/lectern"
)

func TestRetentionChart(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		ch := newRetentionChart(&lectern.LessonAnalytics{DurationMS: 6000})
		if !ch.Empty || ch.Line != "" {
			t.Errorf("chart of a lesson nobody watched = %+v, want empty", ch)
		}
	})
	t.Run("CurveAndQuestionBars", func(t *testing.T) {
		a := &lectern.LessonAnalytics{DurationMS: 4000, Enrolled: 2, Viewers: 2, BucketMS: 2000, Buckets: []lectern.AnalyticsBucket{
			{StartMS: 0, EndMS: 2000, Viewers: 2},
			{StartMS: 2000, EndMS: 4000, Viewers: 1, Questions: 3},
		}}
		ch := newRetentionChart(a)
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
}
