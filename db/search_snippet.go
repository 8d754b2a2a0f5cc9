package db

import (
	"strings"
	"unicode/utf8"

	"github.com/lectern/lectern"
)

// Snippet sizes, in words and characters: a caption cue or a title is
// shown whole; a longer text is cut to a window around its first match.
const (
	snippetWords  = 18
	snippetBefore = 5
	snippetChars  = 220
)

// buildSnippet cuts text to a short window around the first word that is
// one of terms (folded, see foldToken) and splits it into parts, marking
// each word of terms. Whitespace runs become single spaces; a cut end is
// shown with "…". When no word matches (the database matched a form this
// folding does not know), the window is the start of the text.
func buildSnippet(text string, terms map[string]bool) []lectern.SnippetPart {
	text = strings.Join(strings.Fields(text), " ")
	toks := searchTokens(text)
	match := make([]bool, len(toks))
	first := -1
	for i, tok := range toks {
		if terms[foldToken(text[tok[0]:tok[1]])] {
			match[i] = true
			if first < 0 {
				first = i
			}
		}
	}
	from, to := 0, len(toks)
	if len(toks) > snippetWords {
		from = max(0, first-snippetBefore)
		to = min(len(toks), from+snippetWords)
		from = max(0, to-snippetWords)
	}
	start, end := 0, len(text)
	if from > 0 {
		start = toks[from][0]
	}
	if to < len(toks) {
		end = toks[to-1][1]
	}
	var parts []lectern.SnippetPart
	plain := func(s string) {
		if s == "" {
			return
		}
		if n := len(parts); n > 0 && !parts[n-1].Match {
			parts[n-1].Text += s
			return
		}
		parts = append(parts, lectern.SnippetPart{Text: s})
	}
	if start > 0 {
		plain("…")
	}
	at := start
	for i := from; i < to; i++ {
		if !match[i] {
			continue
		}
		plain(text[at:toks[i][0]])
		parts = append(parts, lectern.SnippetPart{Text: text[toks[i][0]:toks[i][1]], Match: true})
		at = toks[i][1]
	}
	plain(text[at:end])
	if end < len(text) {
		plain("…")
	}
	return clipSnippet(parts, snippetChars)
}

// clipSnippet cuts parts to at most n characters (a window of very long
// words), ending with "…" when it cut.
func clipSnippet(parts []lectern.SnippetPart, n int) []lectern.SnippetPart {
	total := 0
	for i, p := range parts {
		l := utf8.RuneCountInString(p.Text)
		if total+l <= n {
			total += l
			continue
		}
		out := parts[:i:i]
		if keep := []rune(p.Text)[:n-total]; len(keep) > 0 {
			out = append(out, lectern.SnippetPart{Text: string(keep), Match: p.Match})
		}
		return append(out, lectern.SnippetPart{Text: "…"})
	}
	return parts
}
