package db

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// searchQuery is what a person typed into a search box, read the way
// PostgreSQL's websearch_to_tsquery reads it: every word and "quoted
// phrase" must appear, "or" between them offers alternatives, and a
// leading minus excludes a word or phrase. Parsing it here rather than
// handing the text to a database's own query syntax means that no input
// is ever a syntax error (FTS5's MATCH has operators, column filters and
// prefixes of its own), that both databases read a query alike, and that
// snippets mark the words the query asked for.
type searchQuery struct {
	// clauses are alternatives: an entry matches when one clause does.
	clauses []searchClause
}

// searchClause matches an entry that has every item of must and none of
// not. Items are words or phrases as typed, without the quotes.
type searchClause struct {
	must []searchItem
	not  []searchItem
}

type searchItem struct {
	text   string
	phrase bool
}

// parseSearchQuery reads q. Items with no letter or digit ("***", "()")
// are dropped, as are clauses with nothing they require: "-word" alone
// asks for everything except a word, which a search box never means.
// A query left with no clause finds nothing.
func parseSearchQuery(q string) searchQuery {
	var (
		out    searchQuery
		cur    searchClause
		negate bool
	)
	flush := func() {
		if len(cur.must) > 0 {
			out.clauses = append(out.clauses, cur)
		}
		cur = searchClause{}
	}
	add := func(it searchItem) {
		if len(searchTokens(it.text)) == 0 {
			negate = false
			return
		}
		if negate {
			cur.not = append(cur.not, it)
		} else {
			cur.must = append(cur.must, it)
		}
		negate = false
	}
	for i := 0; i < len(q); {
		r, size := utf8.DecodeRuneInString(q[i:])
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			negate = false
			i += size
		case r == '"':
			end := strings.IndexByte(q[i+1:], '"')
			text := q[i+1:]
			if end >= 0 {
				text = q[i+1 : i+1+end]
				i += end + 2
			} else {
				i = len(q)
			}
			add(searchItem{text: strings.Join(strings.Fields(text), " "), phrase: true})
		case r == '-' && !negate:
			negate = true
			i += size
		default:
			j := i
			for j < len(q) {
				r, size := utf8.DecodeRuneInString(q[j:])
				if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' {
					break
				}
				j += size
			}
			word := strings.TrimLeft(q[i:j], "-")
			i = j
			if strings.EqualFold(word, "or") && !negate {
				flush()
				continue
			}
			add(searchItem{text: word})
		}
	}
	flush()
	return out
}

// empty reports whether q can match nothing.
func (q searchQuery) empty() bool { return len(q.clauses) == 0 }

// fts5 writes q as an FTS5 query over the columns cols of search_fts
// (an FTS5 column filter such as "caption" or "{title description}").
// Every item is a quoted string, in which FTS5 sees no operator at all;
// its tokenizer splits it as it split the text.
func (q searchQuery) fts5(cols string) string {
	var b strings.Builder
	b.WriteString(cols + " : (")
	for i, c := range q.clauses {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("((")
		for j, it := range c.must {
			if j > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(fts5String(it.text))
		}
		b.WriteString(")")
		if len(c.not) > 0 {
			b.WriteString(" NOT (")
			for j, it := range c.not {
				if j > 0 {
					b.WriteString(" OR ")
				}
				b.WriteString(fts5String(it.text))
			}
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// fts5String quotes s as an FTS5 string: a phrase of its tokens.
func fts5String(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// websearch writes q back in websearch_to_tsquery's syntax, which reads
// it as parseSearchQuery did: the query PostgreSQL runs is the one SQLite
// runs, whatever was typed.
func (q searchQuery) websearch() string {
	var parts []string
	for i, c := range q.clauses {
		if i > 0 {
			parts = append(parts, "or")
		}
		for _, it := range c.must {
			parts = append(parts, websearchItem(it))
		}
		for _, it := range c.not {
			parts = append(parts, "-"+websearchItem(it))
		}
	}
	return strings.Join(parts, " ")
}

func websearchItem(it searchItem) string {
	if it.phrase || strings.EqualFold(it.text, "or") {
		return `"` + it.text + `"`
	}
	return it.text
}

// terms returns the folded tokens of every item the query asks for: the
// words a snippet marks.
func (q searchQuery) terms() map[string]bool {
	terms := map[string]bool{}
	for _, c := range q.clauses {
		for _, it := range c.must {
			for _, tok := range searchTokens(it.text) {
				terms[foldToken(it.text[tok[0]:tok[1]])] = true
			}
		}
	}
	return terms
}

// searchTokens returns the byte ranges of the words of s: runs of letters,
// digits and combining marks, as FTS5's unicode61 tokenizer splits text.
func searchTokens(s string) [][2]int {
	var toks [][2]int
	start := -1
	for i, r := range s {
		in := unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			toks = append(toks, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, [2]int{start, len(s)})
	}
	return toks
}

// foldToken is a word as both databases compare it: lowercase, without
// diacritics ("Café" and "cafe" are one word).
func foldToken(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}
