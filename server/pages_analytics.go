package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/player"
)

// Size of the analytics chart's drawing, in SVG user units; it scales to
// the page's width.
const (
	chartW      = 800.0
	chartH      = 260.0
	chartLeft   = 44.0 // room for the y labels
	chartRight  = 8.0
	chartTop    = 12.0
	chartBottom = 28.0 // room for the time labels
	// chartBarBand is the share of the plot's height the question bars
	// may use, along its bottom.
	chartBarBand = 0.35
)

// retentionChart is the analytics page's inline SVG: the share of the
// class that watched each part of the lesson, as an area, with the
// questions asked there as bars.
type retentionChart struct {
	W, H      float64
	Area      string // path of the filled area under the curve
	Line      string // path of the curve itself
	Bars      []chartBar
	YTicks    []chartTick
	XTicks    []chartTick
	PlotLeft  float64
	PlotRight float64
	PlotTop   float64
	Baseline  float64
	Empty     bool
	// Summary says in words what the chart shows, for screen readers.
	Summary string
}

type chartBar struct {
	X, Y, W, H float64
	Label      string
}

type chartTick struct {
	X, Y  float64
	Label string
}

// f formats a coordinate with one decimal.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newRetentionChart lays out the chart for a's buckets. The curve's 100%
// is the class size (at least the number of viewers), so that a lesson
// half the class skipped looks like it.
func newRetentionChart(a *lectern.LessonAnalytics) retentionChart {
	ch := retentionChart{W: chartW, H: chartH, PlotLeft: chartLeft, PlotRight: chartW - chartRight,
		PlotTop: chartTop, Baseline: chartH - chartBottom}
	n := len(a.Buckets)
	if n == 0 || a.DurationMS <= 0 {
		ch.Empty = true
		ch.Summary = "No one has watched this lesson yet."
		return ch
	}
	class := max(a.Enrolled, a.Viewers, 1)
	maxQ := 0
	for _, b := range a.Buckets {
		class = max(class, b.Viewers)
		maxQ = max(maxQ, b.Questions)
	}
	plotW, plotH := ch.PlotRight-ch.PlotLeft, ch.Baseline-ch.PlotTop
	x := func(ms int64) float64 { return ch.PlotLeft + plotW*float64(ms)/float64(a.DurationMS) }
	y := func(viewers int) float64 { return ch.Baseline - plotH*float64(viewers)/float64(class) }
	var line strings.Builder
	fmt.Fprintf(&line, "M%s %s", f(ch.PlotLeft), f(y(a.Buckets[0].Viewers)))
	for _, b := range a.Buckets {
		mid := (b.StartMS + min(b.EndMS, a.DurationMS)) / 2
		fmt.Fprintf(&line, " L%s %s", f(x(mid)), f(y(b.Viewers)))
		if maxQ > 0 && b.Questions > 0 {
			h := plotH * chartBarBand * float64(b.Questions) / float64(maxQ)
			w := math.Max(2, x(min(b.EndMS, a.DurationMS))-x(b.StartMS)-2)
			ch.Bars = append(ch.Bars, chartBar{X: x(b.StartMS) + 1, Y: ch.Baseline - h, W: w, H: h,
				Label: fmt.Sprintf("%d question%s at %s", b.Questions, plural(b.Questions), player.Clock(b.StartMS))})
		}
	}
	last := a.Buckets[n-1]
	fmt.Fprintf(&line, " L%s %s", f(ch.PlotRight), f(y(last.Viewers)))
	ch.Line = line.String()
	ch.Area = ch.Line + fmt.Sprintf(" L%s %s L%s %s Z", f(ch.PlotRight), f(ch.Baseline), f(ch.PlotLeft), f(ch.Baseline))
	for _, p := range []int{0, 50, 100} {
		ch.YTicks = append(ch.YTicks, chartTick{X: ch.PlotLeft - 6, Y: ch.Baseline - plotH*float64(p)/100, Label: strconv.Itoa(p) + "%"})
	}
	step := tickStep(a.DurationMS)
	for ms := int64(0); ms <= a.DurationMS; ms += step {
		ch.XTicks = append(ch.XTicks, chartTick{X: x(ms), Y: ch.Baseline + 18, Label: player.Clock(ms)})
	}
	ch.Summary = fmt.Sprintf("Retention over %s: %d of %d students watched; %d questions asked.",
		player.Clock(a.DurationMS), a.Viewers, a.Enrolled, totalQuestions(a))
	return ch
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func totalQuestions(a *lectern.LessonAnalytics) int {
	n := 0
	for _, b := range a.Buckets {
		n += b.Questions
	}
	return n
}

// tickStep picks a time-axis step giving at most about eight labels.
func tickStep(durationMS int64) int64 {
	for _, s := range []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if durationMS/(s*1000) <= 8 {
			return s * 1000
		}
	}
	return 7200 * 1000
}

// handleAnalyticsPage shows a lesson's teachers how it was watched: the
// counts, the retention chart with questions, the most rewatched parts and
// one row per student.
func (s *Server) handleAnalyticsPage(c echo.Context, u *lectern.User) error {
	l, course, err := s.lessonForPage(c, u)
	if err != nil {
		return err
	}
	c.Set(userKey, u)
	a, err := s.lessonAnalytics(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "analytics", Title: "Analytics · " + l.Title, User: u, Nav: "courses",
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, "/courses/" + course.ID}, {l.Title, "/watch/" + l.ID}, {"Analytics", ""}},
		View: struct {
			Lesson *lectern.Lesson
			A      *lectern.LessonAnalytics
			Chart  retentionChart
		}{l, a, newRetentionChart(a)},
	})
}
