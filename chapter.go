package lectern

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a lesson's chapters.
const (
	// MaxChapters is the most chapters a lesson may have.
	MaxChapters = 200
	// MaxChapterTitleLen is the longest chapter title, in characters.
	MaxChapterTitleLen = 200
)

// Chapter is a named part of a lesson, from StartMS to the next chapter's
// start (or the end of the lesson).
type Chapter struct {
	LessonID string `json:"-" db:"lesson_id"`
	StartMS  int64  `json:"start_ms" db:"start_ms"`
	Title    string `json:"title" db:"title"`
}

// NormalizeChapters checks a lesson's chapters and returns them sorted by
// start, with titles trimmed: every start at or after 0 and before
// durationMS, no two at the same moment, titles of 1 to MaxChapterTitleLen
// characters on one line, at most MaxChapters. The error (EINVALID) names
// the chapter in the order given, counting from 1, in words for a teacher.
// An empty list is valid: the lesson has no chapters.
func NormalizeChapters(chs []Chapter, durationMS int64) ([]Chapter, error) {
	if len(chs) > MaxChapters {
		return nil, Errorf(EINVALID, "a lesson can have at most %d chapters, not %d", MaxChapters, len(chs))
	}
	out := make([]Chapter, len(chs))
	for i, c := range chs {
		n := i + 1
		c.Title = strings.TrimSpace(c.Title)
		switch {
		case c.StartMS < 0:
			return nil, Errorf(EINVALID, "chapter %d starts before the beginning of the lesson", n)
		case c.StartMS >= durationMS:
			return nil, Errorf(EINVALID, "chapter %d starts at %s, after the end of the lesson (%s)",
				n, ClockText(c.StartMS), ClockText(durationMS))
		case c.Title == "":
			return nil, Errorf(EINVALID, "chapter %d needs a title", n)
		case titleFault(c.Title) != "":
			return nil, Errorf(EINVALID, "the title of chapter %d %s", n, titleFault(c.Title))
		}
		out[i] = c
	}
	// Stable, so that of two chapters at one moment the error names the
	// later one as given.
	slices.SortStableFunc(out, func(a, b Chapter) int { return cmp.Compare(a.StartMS, b.StartMS) })
	for i := 1; i < len(out); i++ {
		if out[i].StartMS == out[i-1].StartMS {
			return nil, Errorf(EINVALID, "two chapters start at %s (%q and %q): give each its own moment",
				ClockText(out[i].StartMS), out[i-1].Title, out[i].Title)
		}
	}
	return out, nil
}

// titleFault says what is wrong with a trimmed, non-empty chapter title,
// as the end of a sentence about it; "" when nothing is.
func titleFault(title string) string {
	switch {
	case utf8.RuneCountInString(title) > MaxChapterTitleLen:
		return fmt.Sprintf("is longer than %d characters", MaxChapterTitleLen)
	case strings.ContainsFunc(title, unicode.IsControl) || !utf8.ValidString(title):
		return "must be one line of text"
	}
	return ""
}

// CheckChapterTitle trims a chapter title and checks it as
// NormalizeChapters does, for one chapter: the error (EINVALID) says what
// is wrong with it.
func CheckChapterTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return "", Errorf(EINVALID, "the chapter needs a title")
	}
	if f := titleFault(title); f != "" {
		return "", Errorf(EINVALID, "the title %s", f)
	}
	return title, nil
}

// ClockText writes ms as people read a moment of a video: "4:05", "1:02:03".
func ClockText(ms int64) string {
	s := max(ms, 0) / 1000
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// ImportedChapters turns the chapters found in an uploaded file into a
// list NormalizeChapters accepts for a recording of durationMS: titles
// made one clean line (control and bidirectional-override characters
// dropped, runs of spaces collapsed, cut to MaxChapterTitleLen characters,
// "Chapter N" when nothing is left), starts before 0 moved to 0, chapters
// starting at or after the end dropped, of two at one moment the first
// kept, and at most MaxChapters. The file is not trusted: whatever it
// holds, the result is valid (and empty when nothing usable is left).
func ImportedChapters(chs []Chapter, durationMS int64) []Chapter {
	in := slices.Clone(chs)
	for i := range in {
		in[i].StartMS = max(in[i].StartMS, 0)
	}
	slices.SortStableFunc(in, func(a, b Chapter) int { return cmp.Compare(a.StartMS, b.StartMS) })
	out := make([]Chapter, 0, min(len(in), MaxChapters))
	for _, c := range in {
		if c.StartMS >= durationMS || len(out) == MaxChapters {
			break
		}
		if len(out) > 0 && out[len(out)-1].StartMS == c.StartMS {
			continue
		}
		c.Title = cleanChapterTitle(c.Title)
		if c.Title == "" {
			c.Title = fmt.Sprintf("Chapter %d", len(out)+1)
		}
		out = append(out, c)
	}
	return out
}

// cleanChapterTitle makes a title from a file one line a reader can trust:
// valid UTF-8, no control or bidirectional-override characters, single
// spaces, at most MaxChapterTitleLen characters.
func cleanChapterTitle(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.IsSpace(r):
			return ' '
		case unicode.Is(unicode.Bidi_Control, r):
			// Overrides and isolates can make a title read backwards.
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > MaxChapterTitleLen {
		s = strings.TrimSpace(string([]rune(s)[:MaxChapterTitleLen-1])) + "…"
	}
	return s
}

// ChapterSuggestion is a moment where a chapter might start, found by the
// transcoder where the picture changed as a slide does. Only the course's
// teachers see suggestions; accepting one makes it a chapter, and either
// way it is gone from the list.
type ChapterSuggestion struct {
	ID       string `json:"id" db:"id"`
	LessonID string `json:"-" db:"lesson_id"`
	StartMS  int64  `json:"start_ms" db:"start_ms"`
	// Title is the chapter's title should the teacher accept it as it is.
	Title string `json:"title" db:"-"`
}

// SuggestedChapterTitle is the title a suggested chapter starting at
// startMS takes when its teacher gives none: "Slide at 4:05".
func SuggestedChapterTitle(startMS int64) string { return "Slide at " + ClockText(startMS) }
