package captions

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lectern/lectern"
)

// parsed is what reading a file's blocks gives: its cues as written, and
// notes on what was dropped on the way.
type parsed struct {
	cues  []rawCue
	notes notes
}

// parser reads a file line by line. Lines are numbered from 1, as a text
// editor shows them.
type parser struct {
	lines  []string
	i      int
	format Format
	out    parsed
	// firstJunk is the line number of the first block that was neither a
	// cue nor a known WebVTT block, 0 if none: the line to name when the
	// file turns out to have no cue at all.
	firstJunk int
}

// parseText splits decoded text into cues.
func parseText(text string) (parsed, Format, error) {
	p := &parser{lines: strings.Split(text, "\n"), format: SubRip}
	p.skipBlank()
	if p.i < len(p.lines) && isWebVTTSignature(p.lines[p.i]) {
		p.format = WebVTT
		p.skipHeader()
	}
	if err := p.blocks(); err != nil {
		return parsed{}, "", err
	}
	if len(p.out.cues) == 0 && p.firstJunk > 0 {
		return parsed{}, "", p.expectedRange(p.firstJunk)
	}
	return p.out, p.format, nil
}

// isWebVTTSignature reports whether line is a WebVTT file's first line:
// WEBVTT (in any case, people type it) alone or followed by white space
// and header text.
func isWebVTTSignature(line string) bool {
	if len(line) < 6 || !strings.EqualFold(line[:6], "WEBVTT") {
		return false
	}
	rest := line[6:]
	return rest == "" || rest[0] == ' ' || rest[0] == '\t' || strings.TrimSpace(rest) == ""
}

func (p *parser) skipBlank() {
	for p.i < len(p.lines) && isBlank(p.lines[p.i]) {
		p.i++
	}
}

// skipHeader passes the WEBVTT line and the header text under it, up to a
// blank line or, in a file that forgot that blank line, a time range.
func (p *parser) skipHeader() {
	p.i++
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) && !strings.Contains(p.lines[p.i], "-->") {
		p.i++
	}
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

// blocks reads the blocks after the header.
func (p *parser) blocks() error {
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return nil
		}
		if len(p.out.cues) > MaxCues {
			return lectern.Errorf(lectern.EINVALID, "the file has more than %d cues", MaxCues)
		}
		line := p.lines[p.i]
		if p.format == WebVTT && !strings.Contains(line, "-->") {
			if kind := blockKeyword(line); kind != "" {
				p.skipBlock(kind)
				continue
			}
		}
		if err := p.block(); err != nil {
			return err
		}
	}
}

// blockKeyword names the WebVTT block that line opens: "NOTE", "STYLE",
// "REGION", or "" for none.
func blockKeyword(line string) string {
	t := strings.TrimRight(line, " \t")
	switch {
	case t == "NOTE" || strings.HasPrefix(t, "NOTE ") || strings.HasPrefix(t, "NOTE\t"):
		return "NOTE"
	case t == "STYLE":
		return "STYLE"
	case t == "REGION":
		return "REGION"
	}
	return ""
}

// skipBlock passes a NOTE, STYLE or REGION block.
func (p *parser) skipBlock(kind string) {
	switch kind {
	case "STYLE":
		p.out.notes.styles++
	case "REGION":
		p.out.notes.regions++
	}
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
		p.i++
	}
}

// block reads one block that is not a WebVTT NOTE, STYLE or REGION: a cue
// (an optional identifier line, a time range, text lines), or lines
// without a time range.
func (p *parser) block() error {
	id := ""
	if !strings.Contains(p.lines[p.i], "-->") {
		if p.i+1 >= len(p.lines) || !strings.Contains(p.lines[p.i+1], "-->") {
			return p.orphan()
		}
		id = strings.TrimSpace(p.lines[p.i])
		p.i++
	}
	c, err := p.timeRange(p.i)
	if err != nil {
		return err
	}
	c.id = id
	p.i++
	var text []string
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
		if strings.Contains(p.lines[p.i], "-->") {
			// The blank line before the next cue is missing. A line of
			// digits just above its time range is that cue's number.
			if n := len(text); n > 0 && isDigits(text[n-1]) {
				text = text[:n-1]
			}
			break
		}
		text = append(text, p.lines[p.i])
		p.i++
	}
	c.lines = text
	p.out.cues = append(p.out.cues, c)
	return nil
}

// orphan handles a block without a time range in its first two lines.
// Before the first cue it is not a caption file (in SubRip) or a block
// WebVTT tells readers to ignore. After a cue, a lone number is a cue
// number whose cue is missing or follows a stray blank line (dropped), a
// number followed by text is a cue whose time range is missing (refused),
// and other text is the previous cue's text after a stray blank line
// (joined to it).
func (p *parser) orphan() error {
	start := p.i
	var lines []string
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
		lines = append(lines, p.lines[p.i])
		p.i++
	}
	for k := range min(2, len(lines)) {
		if looksLikeTimeRange(lines[k]) {
			return p.expectedRange(start + k + 1)
		}
	}
	switch {
	case len(p.out.cues) == 0 && p.format == SubRip:
		return p.expectedRange(start + 1)
	case len(p.out.cues) == 0:
		if p.firstJunk == 0 {
			p.firstJunk = start + 1
		}
	case len(lines) == 1 && isDigits(lines[0]):
	case isDigits(lines[0]):
		return p.expectedRange(start + 2)
	default:
		last := &p.out.cues[len(p.out.cues)-1]
		last.lines = append(last.lines, lines...)
		p.out.notes.joined += len(lines)
	}
	return nil
}

// looksLikeTimeRange reports whether line is a time range gone wrong (a
// one-dash arrow, a dash, nothing at all between the times): it starts
// with a timestamp, and another follows. Such a line is an error to show,
// not text to keep.
func looksLikeTimeRange(line string) bool {
	fields := strings.FieldsFunc(line, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '-' || r == '>' || r == '=' || r == '→' || r == '–' || r == '—'
	})
	if len(fields) < 2 {
		return false
	}
	if _, ok := parseTimestamp(fields[0]); !ok {
		return false
	}
	for _, f := range fields[1:] {
		if _, ok := parseTimestamp(f); ok {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// timeRange reads the time range on line i: "start --> end", followed in
// WebVTT by cue settings (SubRip's X1:… coordinates are ignored).
func (p *parser) timeRange(i int) (rawCue, error) {
	line := p.lines[i]
	left, right, _ := strings.Cut(line, "-->")
	start, ok := parseTimestamp(strings.TrimSpace(left))
	if !ok {
		return rawCue{}, p.expectedRange(i + 1)
	}
	fields := strings.Fields(right)
	if len(fields) == 0 {
		return rawCue{}, p.expectedRange(i + 1)
	}
	end, ok := parseTimestamp(fields[0])
	if !ok {
		return rawCue{}, p.expectedRange(i + 1)
	}
	c := rawCue{start: start, end: end}
	if p.format == WebVTT {
		c.settings, c.regionDropped = canonicalSettings(strings.Join(fields[1:], " "))
	}
	return c, nil
}

// expectedRange is the error for line n, which should have been a time range.
func (p *parser) expectedRange(n int) error {
	example := "00:00:01.000 --> 00:00:04.000"
	if p.format == SubRip {
		example = "00:00:01,000 --> 00:00:04,000"
	}
	got := strings.TrimSpace(p.lines[n-1])
	if utf8.RuneCountInString(got) > 60 {
		got = string([]rune(got)[:60]) + "…"
	}
	return lectern.Errorf(lectern.EINVALID, "line %d: expected a time range like %s, got %s", n, example, strconv.Quote(got))
}

// parseTimestamp reads a timestamp leniently: [h:]mm:ss[.fff] with one or
// more hour digits, one or two minute and second digits, and "," or "."
// (or, as some tools write, ":") before one to nine fraction digits,
// of which the first three count.
func parseTimestamp(s string) (int64, bool) {
	var frac string
	clock := s
	if i := strings.LastIndexAny(s, ".,"); i >= 0 {
		clock, frac = s[:i], s[i+1:]
		if frac == "" {
			return 0, false
		}
	}
	parts := strings.Split(clock, ":")
	if frac == "" && len(parts) == 4 && len(parts[3]) == 3 {
		// 00:00:01:000
		frac, parts = parts[3], parts[:3]
	}
	if len(parts) < 2 || len(parts) > 3 || len(frac) > 9 {
		return 0, false
	}
	var h, m, sec int64
	var ok bool
	if len(parts) == 3 {
		if h, ok = number(parts[0], 1, 4); !ok {
			return 0, false
		}
		parts = parts[1:]
	}
	if m, ok = number(parts[0], 1, 2); !ok || m > 59 {
		return 0, false
	}
	if sec, ok = number(parts[1], 1, 2); !ok || sec > 59 {
		return 0, false
	}
	ms := int64(0)
	if frac != "" {
		f, ok := number(frac, 1, 9)
		if !ok {
			return 0, false
		}
		for i := len(frac); i < 3; i++ {
			f *= 10
		}
		for i := len(frac); i > 3; i-- {
			f /= 10
		}
		ms = f
	}
	return ((h*60+m)*60+sec)*1000 + ms, true
}

// number reads s as a decimal number of minDigits to maxDigits ASCII digits.
func number(s string, minDigits, maxDigits int) (int64, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}
