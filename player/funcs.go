package player

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// funcs are the helpers templates may call.
func (p *Pages) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":    p.asset,
		"clock":    Clock,
		"percent":  Percent,
		"date":     func(t any) string { return formatTime(t, "2 Jan 2006") },
		"datetime": func(t any) string { return formatTime(t, "2 Jan 2006 15:04 UTC") },
		"iso":      func(t any) string { return formatTime(t, time.RFC3339) },
		"div":      func(a, b int64) int64 { return a / b },
		"pct":      Step5,
		"initials": Initials,
		"label":    Label,
		"add":      func(a, b int) int { return a + b },
		"count":    Count,
		"navCount": newNavBadge,
	}
}

// asset is the URL of a static file, carrying the static files' version.
func (p *Pages) asset(name string) string {
	return "/static/" + strings.TrimPrefix(name, "/") + "?v=" + p.version
}

// Count says how many of something there are, in the singular for one:
// "1 question", "3 questions", "0 questions".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// navBadge is a count beside a navigation link: Key names it for the
// script that refreshes it, One and Many are its words (for the script
// too), Text says it in words for screen readers. (The page gives the words
// to the script in data-singular and data-plural: html/template reads any
// attribute whose name, past "data-", starts with "on" as an event
// handler, and would quote them.)
type navBadge struct {
	Key       string
	N         int
	One, Many string
	Text      string
}

func newNavBadge(key string, n int, one, many string) navBadge {
	return navBadge{Key: key, N: n, One: one, Many: many, Text: Count(n, one, many)}
}

// Clock formats a position in milliseconds as m:ss, or h:mm:ss from an
// hour on, the way video players do.
func Clock(ms int64) string {
	if ms < 0 {
		ms = 0
	}
	s := ms / 1000
	h, m, sec := s/3600, (s/60)%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// Percent formats a fraction in [0, 100] as a whole percentage.
func Percent(v float64) string {
	if math.IsNaN(v) {
		v = 0
	}
	return fmt.Sprintf("%d%%", int(math.Round(math.Max(0, math.Min(100, v)))))
}

// Initials returns up to two capital letters for an avatar.
func Initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			out = append(out, []rune(strings.ToUpper(string(r)))...)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// Label turns an identifier such as "awaiting_upload" into words a person
// reads: "Awaiting upload".
func Label(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// formatTime formats a time.Time or a non-nil *time.Time in UTC; anything
// else is "".
func formatTime(v any, layout string) string {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format(layout)
	case *time.Time:
		if t != nil {
			return t.UTC().Format(layout)
		}
	}
	return ""
}

// Step5 rounds a percentage to a multiple of 5 in [0, 100], for the w-N
// width classes of the stylesheet (inline styles are refused by the
// Content-Security-Policy).
func Step5(v float64) int {
	if math.IsNaN(v) {
		return 0
	}
	return int(math.Round(math.Max(0, math.Min(100, v))/5)) * 5
}
