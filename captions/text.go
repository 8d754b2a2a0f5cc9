package captions

import (
	"html"
	"strings"
	"unicode"
)

// Styles a character of cue text can have; the order is the order their
// tags nest in when written.
const (
	styleItalic uint8 = 1 << iota
	styleBold
	styleUnderline
)

var styleTags = [...]struct {
	bit  uint8
	name string
}{{styleItalic, "i"}, {styleBold, "b"}, {styleUnderline, "u"}}

// styledRune is one character of cue text with its styles.
type styledRune struct {
	r  rune
	st uint8
}

// CueText cleans WebVTT cue text (or SubRip text) the way Parse cleans a
// file's: <i>, <b> and <u> are kept, other tags and {\…} codes dropped,
// character references decoded and written back escaped. It returns "" for
// text with nothing to show.
func CueText(text string) string {
	s, _ := cleanCueText(text)
	return s
}

// PlainCueText turns text as a person typed it into WebVTT cue text:
// every character is text (nothing is a tag or a character reference), so
// "a < b & c" shows as typed.
func PlainCueText(text string) string {
	runes := make([]styledRune, 0, len(text))
	for _, r := range text {
		runes = append(runes, styledRune{r: r})
	}
	return serialize(tidy(runes))
}

// cleanCueText returns the canonical form of cue text, and whether markup
// other than <i>, <b> and <u> (and timestamps) was dropped from it.
func cleanCueText(text string) (string, bool) {
	text, dropped := stripOverrideCodes(text)
	runes, tagsDropped := tokenize(text)
	return serialize(tidy(runes)), dropped || tagsDropped
}

// stripOverrideCodes removes SubStation Alpha override codes such as
// {\an8} or {\i1}, which SubRip files (and WebVTT files converted from
// them) carry over from the tools that made them: "{\" is never text. The result has none left even where removing one joins two halves
// of another.
func stripOverrideCodes(s string) (string, bool) {
	if !strings.Contains(s, `{\`) {
		return s, false
	}
	out := make([]byte, 0, len(s))
	var opens []int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '}' && len(opens) > 0 {
			out = out[:opens[len(opens)-1]]
			opens = opens[:len(opens)-1]
			continue
		}
		out = append(out, c)
		if c == '\\' && len(out) >= 2 && out[len(out)-2] == '{' {
			opens = append(opens, len(out)-2)
		}
	}
	return string(out), len(out) != len(s)
}

// tokenize reads cue text into styled characters: tags open and close
// styles, character references are decoded, and a "<" that does not start
// a tag is a character. It reports whether tags other than i, b, u, br and
// timestamps were dropped.
func tokenize(s string) ([]styledRune, bool) {
	out := make([]styledRune, 0, len(s))
	var open openTags
	dropped := false
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			st := open.style()
			for _, r := range html.UnescapeString(s[i : i+j]) {
				out = append(out, styledRune{r: r, st: st})
			}
			i += j
			continue
		}
		end, name, closing, ok := readTag(s[i:])
		if !ok {
			out = append(out, styledRune{r: '<', st: open.style()})
			i++
			continue
		}
		i += end
		switch bit := styleBit(name); {
		case name == "":
			// a timestamp tag: karaoke timing, nothing to show
		case name == "br":
			out = append(out, styledRune{r: '\n'})
		case bit != 0 && !closing:
			open.push(bit)
		case bit != 0:
			open.close(bit)
		default:
			dropped = true
		}
	}
	return out, dropped
}

// openTags are the style elements open at a point of cue text, innermost
// last. Every operation takes constant time (amortised), whatever the
// nesting a hostile file builds.
type openTags struct {
	stack []uint8
	// at holds, per style, the stack positions of its open elements.
	at [len(styleTags)][]int
}

func (o *openTags) style() uint8 {
	var st uint8
	for k, t := range styleTags {
		if len(o.at[k]) > 0 {
			st |= t.bit
		}
	}
	return st
}

func (o *openTags) push(bit uint8) {
	k := styleIndex(bit)
	o.at[k] = append(o.at[k], len(o.stack))
	o.stack = append(o.stack, bit)
}

// close ends the innermost open element of the style and every element
// left open inside it; with none open it does nothing.
func (o *openTags) close(bit uint8) {
	at := o.at[styleIndex(bit)]
	if len(at) == 0 {
		return
	}
	from := at[len(at)-1]
	for j := len(o.stack) - 1; j >= from; j-- {
		k := styleIndex(o.stack[j])
		o.at[k] = o.at[k][:len(o.at[k])-1]
	}
	o.stack = o.stack[:from]
}

func styleIndex(bit uint8) int {
	for k, t := range styleTags {
		if t.bit == bit {
			return k
		}
	}
	return 0
}

// readTag reads the tag at the start of s ("<" is s[0]): its length up to
// and including ">", its lower-case name ("" for a timestamp tag such as
// <00:01.000>), and whether it is an end tag. ok is false when s does not
// start with a tag: no ">" on the same line, or no tag name.
func readTag(s string) (end int, name string, closing, ok bool) {
	j := strings.IndexAny(s[1:], "<>\n")
	if j < 0 || s[1+j] != '>' {
		return 0, "", false, false
	}
	body := s[1 : 1+j]
	end = j + 2
	if body != "" && body[0] >= '0' && body[0] <= '9' {
		if strings.Trim(body, "0123456789:.,") == "" && strings.Contains(body, ":") {
			return end, "", false, true
		}
		return 0, "", false, false
	}
	if strings.HasPrefix(body, "/") {
		closing, body = true, body[1:]
	}
	n := 0
	for n < len(body) && (isASCIILetter(body[n]) || (n > 0 && body[n] >= '0' && body[n] <= '9')) {
		n++
	}
	if n == 0 {
		return 0, "", false, false
	}
	if n < len(body) && !strings.ContainsRune(". \t/", rune(body[n])) {
		return 0, "", false, false
	}
	return end, strings.ToLower(body[:n]), closing, true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func styleBit(name string) uint8 {
	for _, t := range styleTags {
		if t.name == name {
			return t.bit
		}
	}
	return 0
}

// tidy turns tabs into spaces, removes other control characters and byte
// order marks, trims each line and drops empty lines. Line breaks carry no
// style.
func tidy(in []styledRune) []styledRune {
	var out, line []styledRune
	flush := func() {
		first, last := 0, len(line)
		for first < last && unicode.IsSpace(line[first].r) {
			first++
		}
		for last > first && unicode.IsSpace(line[last-1].r) {
			last--
		}
		if first < last {
			if len(out) > 0 {
				out = append(out, styledRune{r: '\n'})
			}
			out = append(out, line[first:last]...)
		}
		line = line[:0]
	}
	for _, sr := range in {
		switch {
		case sr.r == '\n' || sr.r == '\u2028' || sr.r == '\u2029':
			flush()
		case sr.r == '\t':
			line = append(line, styledRune{r: ' ', st: sr.st})
		case unicode.IsControl(sr.r) || sr.r == '\uFEFF':
		default:
			line = append(line, sr)
		}
	}
	flush()
	return out
}

// serialize writes styled characters as WebVTT cue text: tags opened in a
// fixed order and closed as soon as a character lacks their style, and
// &, < and > escaped. The same characters always give the same text.
func serialize(runes []styledRune) string {
	var b strings.Builder
	var open []uint8
	for _, sr := range runes {
		k := len(open)
		for idx, bit := range open {
			if sr.st&bit == 0 {
				k = idx
				break
			}
		}
		for j := len(open) - 1; j >= k; j-- {
			b.WriteString("</" + tagName(open[j]) + ">")
		}
		open = open[:k]
		var have uint8
		for _, bit := range open {
			have |= bit
		}
		for _, t := range styleTags {
			if sr.st&t.bit != 0 && have&t.bit == 0 {
				b.WriteString("<" + t.name + ">")
				open = append(open, t.bit)
			}
		}
		switch sr.r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(sr.r)
		}
	}
	for j := len(open) - 1; j >= 0; j-- {
		b.WriteString("</" + tagName(open[j]) + ">")
	}
	return b.String()
}

func tagName(bit uint8) string {
	for _, t := range styleTags {
		if t.bit == bit {
			return t.name
		}
	}
	return ""
}

// plainText is cue text without its tags, references decoded.
func plainText(text string) string {
	runes, _ := tokenize(text)
	var b strings.Builder
	for _, sr := range runes {
		b.WriteRune(sr.r)
	}
	return b.String()
}
