// Package captions reads caption files as people really make them
// (WebVTT and SubRip, in any of the encodings and with the mistakes found
// in the wild), normalises them to a list of cues, and writes clean WebVTT
// and plain-text transcripts.
//
// What Parse does with a messy file, so that the result is predictable:
//
//   - Encoding: a UTF-8 BOM is dropped; UTF-16 is decoded when a BOM (or a
//     clear pattern of NUL bytes) says so; a file that is not valid UTF-8 is
//     read as Windows-1252, with a warning. Line ends may be CRLF, LF or a
//     lone CR. A file with NUL bytes or many control characters is not text
//     and is refused.
//   - Format: a file whose first line starts with WEBVTT is WebVTT; anything
//     else is read as SubRip. Both readers are lenient in the same ways:
//     cue numbers may be missing or out of order, timestamps may use "," or
//     "." before the milliseconds, have one or two (or no) hour digits and
//     one to nine fraction digits, and a missing blank line between cues is
//     tolerated. Text after a stray blank line inside a cue is joined to
//     that cue; a time range written wrong ("00:00:01,000 -> 00:00:02,000")
//     is refused with its line, never kept as text.
//   - WebVTT blocks: the header text after WEBVTT, NOTE, STYLE and REGION
//     blocks are dropped (players style captions themselves, and regions
//     are too little supported to rely on); a cue's "region:" setting goes
//     with them. Other cue settings (vertical, line, position, size, align)
//     are kept when their values are valid, and dropped when not.
//   - Cue identifiers: a WebVTT identifier is kept unless it is only digits
//     (a cue number), is used twice, or would read as a NOTE, STYLE or
//     REGION block. SubRip cue numbers are dropped.
//   - Text: only <i>, <b> and <u> survive, as WebVTT tags, balanced;
//     <br> is a line break; <font>, voices, classes, SubRip {\an8} position
//     codes and every other tag are removed with their text kept. Character references are
//     decoded and the text is written back with &, < and > escaped, so cue
//     text is never markup beyond those three tags. Tabs become spaces,
//     other control characters are removed, lines are trimmed and empty
//     lines dropped.
//   - Cues: empty cues, cues that end before (or when) they start and exact
//     repeats are removed; the rest are sorted by start time (then end).
//     Overlapping cues are kept: WebVTT allows them and players show them
//     together. When the video's duration is known, cues that start at or
//     after its end are removed and cues that run past it are shortened.
//
// Each change that a teacher may want to know about is reported as a
// warning in Result.Warnings. A file that is not a caption file is refused
// with a lectern.Error of code EINVALID whose message names the line.
package captions

import (
	"cmp"
	"slices"
	"strings"

	"github.com/lectern/lectern"
)

// MaxCues is the most cues a track may have: more than a ten-hour lesson
// captioned a second at a time.
const MaxCues = 50_000

// Cue is one caption: a span of the video and the text shown during it.
type Cue struct {
	// ID is the WebVTT cue identifier; "" for none.
	ID string
	// StartMS and EndMS are the cue's span in milliseconds; EndMS > StartMS.
	StartMS, EndMS int64
	// Settings are the cue's WebVTT settings in canonical form ("line:0
	// align:start"); "" for none.
	Settings string
	// Text is WebVTT cue text: lines separated by "\n", never empty, with
	// &, < and > written as character references and <i>, <b> and <u> the
	// only tags, balanced.
	Text string
}

// Plain returns the cue's text as a reader sees it: tags removed and
// character references decoded, lines separated by "\n". It is text, not
// HTML: show it with textContent, never innerHTML.
func (c Cue) Plain() string { return plainText(c.Text) }

// Format is the kind of file a track was read from.
type Format string

// Formats Parse recognises.
const (
	WebVTT Format = "webvtt"
	SubRip Format = "srt"
)

// Options tune normalisation.
type Options struct {
	// DurationMS is the video's duration; zero when not known yet, which
	// keeps every cue whatever its time.
	DurationMS int64
}

// Result is a normalised track.
type Result struct {
	// Cues are in order of start time, then end time.
	Cues []Cue
	// Format is what the file was read as.
	Format Format
	// Encoding names the text encoding the file was read in: "UTF-8",
	// "UTF-16LE", "UTF-16BE" or "Windows-1252".
	Encoding string
	// Warnings say, in words for a teacher, what normalising changed.
	Warnings []string
}

// Parse reads a WebVTT or SubRip file and normalises it (see the package
// documentation). It returns an EINVALID lectern.Error when data is not a
// caption file or no cue is left after normalising.
func Parse(data []byte, opts Options) (*Result, error) {
	text, enc, err := decode(data)
	if err != nil {
		return nil, err
	}
	raw, format, err := parseText(text)
	if err != nil {
		return nil, err
	}
	if enc == encWindows1252 {
		raw.notes.windows1252 = true
	}
	res, err := normalize(raw.cues, raw.notes, opts)
	if err != nil {
		return nil, err
	}
	res.Format, res.Encoding = format, enc
	return res, nil
}

// Normalize normalises cues that did not come from a file (the caption
// editor's): their Text is WebVTT cue text (see CueText and PlainCueText
// to make it), their Settings WebVTT settings. Cue texts and settings are
// cleaned as Parse cleans a file's; cues are dropped, sorted and clamped
// the same way, with the same warnings.
func Normalize(cues []Cue, opts Options) (*Result, error) {
	in := make([]rawCue, 0, len(cues))
	var n notes
	for _, c := range cues {
		rc := rawCue{id: c.ID, start: c.StartMS, end: c.EndMS, lines: []string{c.Text}}
		rc.settings, rc.regionDropped = canonicalSettings(c.Settings)
		in = append(in, rc)
	}
	res, err := normalize(in, n, opts)
	if err != nil {
		return nil, err
	}
	res.Format, res.Encoding = WebVTT, encUTF8
	return res, nil
}

// rawCue is a cue as read, before normalising: its lines of cue text as
// the file has them.
type rawCue struct {
	id            string
	start, end    int64
	settings      string
	regionDropped bool
	lines         []string
}

// normalize cleans each cue's text, drops what cannot be shown, sorts the
// rest and applies the duration.
func normalize(in []rawCue, n notes, opts Options) (*Result, error) {
	if len(in) > MaxCues {
		return nil, lectern.Errorf(lectern.EINVALID, "the file has %d cues; at most %d are allowed", len(in), MaxCues)
	}
	cues := make([]Cue, 0, len(in))
	for _, rc := range in {
		text, markupDropped := cleanCueText(strings.Join(rc.lines, "\n"))
		if markupDropped {
			n.markup++
		}
		if rc.regionDropped {
			n.regionSettings++
		}
		switch {
		case text == "":
			n.empty++
			continue
		case rc.start < 0 || rc.end <= rc.start:
			n.badTimes++
			continue
		}
		cues = append(cues, Cue{ID: rc.id, StartMS: rc.start, EndMS: rc.end, Settings: rc.settings, Text: text})
	}
	if !slices.IsSortedFunc(cues, compareCues) {
		n.unordered = true
		slices.SortStableFunc(cues, compareCues)
	}
	// Shortening keeps the order (it is min(end, duration)) but can make
	// two cues repeats of each other, so it comes first.
	cues = applyDuration(cues, opts.DurationMS, &n)
	cues = dropRepeats(cues, &n)
	n.overlaps = countOverlaps(cues)
	cleanIDs(cues)
	if len(cues) == 0 {
		return nil, noCuesLeft(n)
	}
	return &Result{Cues: cues, Warnings: n.warnings(opts.DurationMS)}, nil
}

func compareCues(a, b Cue) int {
	return cmp.Or(cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.EndMS, b.EndMS))
}

// dropRepeats removes cues equal in time and text to an earlier one.
func dropRepeats(cues []Cue, n *notes) []Cue {
	type key struct {
		start, end int64
		text       string
	}
	seen := make(map[key]bool, len(cues))
	out := cues[:0]
	for _, c := range cues {
		k := key{c.StartMS, c.EndMS, c.Text}
		if seen[k] {
			n.repeats++
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}

// applyDuration drops cues that start at or after durationMS and shortens
// those that end after it; a zero duration keeps everything.
func applyDuration(cues []Cue, durationMS int64, n *notes) []Cue {
	if durationMS <= 0 {
		return cues
	}
	out := cues[:0]
	for _, c := range cues {
		if c.StartMS >= durationMS {
			n.pastEndDropped++
			continue
		}
		if c.EndMS > durationMS {
			c.EndMS = durationMS
			n.pastEndShortened++
		}
		out = append(out, c)
	}
	return out
}

// countOverlaps counts the cues that start before an earlier cue ends.
func countOverlaps(cues []Cue) int {
	count, maxEnd := 0, int64(-1)
	for _, c := range cues {
		if c.StartMS < maxEnd {
			count++
		}
		maxEnd = max(maxEnd, c.EndMS)
	}
	return count
}

// noCuesLeft is the error for a track with nothing to show, saying why.
func noCuesLeft(n notes) error {
	switch {
	case n.pastEndDropped > 0:
		return lectern.Errorf(lectern.EINVALID, "every cue starts after the end of the video: check that the file belongs to this lesson")
	case n.empty > 0 || n.badTimes > 0:
		return lectern.Errorf(lectern.EINVALID, "the file has no cue with text and a valid time range")
	}
	return lectern.Errorf(lectern.EINVALID, "the file has no cues: expected a time range like 00:00:01.000 --> 00:00:04.000 followed by the text")
}

// SearchCues are cues as the search index keeps them (lectern.CaptionCue):
// plain text, the lines of a cue joined by a space.
func SearchCues(cues []Cue) []lectern.CaptionCue {
	out := make([]lectern.CaptionCue, len(cues))
	for i, q := range cues {
		out[i] = lectern.CaptionCue{StartMS: q.StartMS, EndMS: q.EndMS, Text: strings.ReplaceAll(q.Plain(), "\n", " ")}
	}
	return out
}
