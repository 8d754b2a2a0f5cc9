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

// chartSize is one layout of the analytics chart, in SVG user units; the
// drawing scales to the page's width. The page draws a wide layout for
// screens and a narrow one for phones, so that its labels keep a readable
// size on both.
type chartSize struct {
	W, H float64
	// MaxXLabels bounds the time labels along the bottom.
	MaxXLabels int64
}

var (
	chartWide   = chartSize{W: 800, H: 260, MaxXLabels: 8}
	chartNarrow = chartSize{W: 320, H: 200, MaxXLabels: 4}
)

// Margins of the plot within the chart, and the labels' font size (the
// page's stylesheet sets the same).
const (
	chartLeft     = 44.0 // room for the y labels
	chartRight    = 8.0
	chartTop      = 12.0
	chartBottom   = 28.0 // room for the time labels
	chartFontSize = 12.0
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
	// Anchor is the label's text-anchor: middle, or start or end where a
	// centred label would stick out of the drawing.
	Anchor string
}

// labelWidth estimates how wide text is drawn at chartFontSize: digits
// and colons of the system font are at most about 0.6 em wide.
func labelWidth(text string) float64 { return float64(len(text)) * chartFontSize * 0.62 }

// tickLeft is where a label's text starts.
func tickLeft(tk chartTick) float64 {
	switch tk.Anchor {
	case "start":
		return tk.X
	case "end":
		return tk.X - labelWidth(tk.Label)
	}
	return tk.X - labelWidth(tk.Label)/2
}

// xTick places a time label centred on x, or against the edge of the
// drawing it would otherwise cross.
func xTick(x, y, width float64, label string) chartTick {
	half := labelWidth(label) / 2
	switch {
	case x-half < 0:
		return chartTick{X: math.Max(x, 0), Y: y, Label: label, Anchor: "start"}
	case x+half > width:
		return chartTick{X: math.Min(x, width), Y: y, Label: label, Anchor: "end"}
	}
	return chartTick{X: x, Y: y, Label: label, Anchor: "middle"}
}

// f formats a coordinate with one decimal.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newRetentionChart lays out the chart for a's buckets at size. The
// curve's 100% is the class size (at least the number of viewers), so that
// a lesson half the class skipped looks like it.
func newRetentionChart(a *lectern.LessonAnalytics, size chartSize) retentionChart {
	ch := retentionChart{W: size.W, H: size.H, PlotLeft: chartLeft, PlotRight: size.W - chartRight,
		PlotTop: chartTop, Baseline: size.H - chartBottom}
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
		ch.YTicks = append(ch.YTicks, chartTick{X: ch.PlotLeft - 6, Y: ch.Baseline - plotH*float64(p)/100,
			Label: strconv.Itoa(p) + "%", Anchor: "end"})
	}
	step := tickStep(a.DurationMS, size.MaxXLabels)
	for ms := int64(0); ms <= a.DurationMS; ms += step {
		tk := xTick(x(ms), ch.Baseline+18, ch.W, player.Clock(ms))
		// A label pushed against the right edge may run into the one
		// before it; the later time is the one worth keeping.
		for n := len(ch.XTicks); n > 0 && tickLeft(tk) < tickLeft(ch.XTicks[n-1])+labelWidth(ch.XTicks[n-1].Label)+4; n-- {
			ch.XTicks = ch.XTicks[:n-1]
		}
		ch.XTicks = append(ch.XTicks, tk)
	}
	ch.Summary = fmt.Sprintf("Retention over %s: %d of %s watched; %s asked.",
		player.Clock(a.DurationMS), a.Viewers, player.Count(a.Enrolled, "student", "students"),
		player.Count(totalQuestions(a), "question", "questions"))
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

// tickStep picks a time-axis step giving at most about maxLabels labels.
func tickStep(durationMS, maxLabels int64) int64 {
	for _, s := range []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if durationMS/(s*1000) <= maxLabels {
			return s * 1000
		}
	}
	return 7200 * 1000
}

// pageChart is one layout of the chart on the page; the stylesheet shows
// the one whose Class suits the screen.
type pageChart struct {
	Class string
	Chart retentionChart
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
			Charts []pageChart
		}{l, a, []pageChart{{"chart-wide", newRetentionChart(a, chartWide)}, {"chart-narrow", newRetentionChart(a, chartNarrow)}}},
	})
}
