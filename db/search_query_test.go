package db

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

func TestParseSearchQuery(t *testing.T) {
	for _, tc := range []struct {
		in, fts5, websearch string
	}{
		{`cell`, `x : ((("cell")))`, `cell`},
		{`Cell  membrane`, `x : ((("Cell" AND "membrane")))`, `Cell membrane`},
		{`"cell membrane" water`, `x : ((("cell membrane" AND "water")))`, `"cell membrane" water`},
		{`a b or c`, `x : ((("a" AND "b")) OR (("c")))`, `a b or c`},
		{`light -dark`, `x : ((("light") NOT ("dark")))`, `light -dark`},
		{`light -"dark matter" -x`, `x : ((("light") NOT ("dark matter" OR "x")))`, `light -"dark matter" -x`},
		{`"unterminated phrase`, `x : ((("unterminated phrase")))`, `"unterminated phrase"`},
		{`say "he  said ""hi"""`, `x : ((("say" AND "he said" AND "hi")))`, `say "he said" "hi"`},
		{`or a or or b or`, `x : ((("a")) OR (("b")))`, `a or b`},
		{`"or" OR`, `x : ((("or")))`, `"or"`},
		{`NEAR(a b) col:x *`, `x : ((("NEAR(a" AND "b)" AND "col:x")))`, `NEAR(a b) col:x`},
		{`a or -b`, `x : ((("a")))`, `a`},
		{`--x y`, `x : ((("y") NOT ("x")))`, `y -x`},
		{"tab\there\nnow", `x : ((("tab" AND "here" AND "now")))`, `tab here now`},
		{`-only`, ``, ``},
		{`*** () "" -`, ``, ``},
	} {
		q := parseSearchQuery(tc.in)
		fts5 := ""
		if !q.empty() {
			fts5 = q.fts5("x")
		}
		if fts5 != tc.fts5 || q.websearch() != tc.websearch {
			t.Errorf("parseSearchQuery(%q):\n fts5 %s, want %s\n websearch %s, want %s", tc.in, fts5, tc.fts5, q.websearch(), tc.websearch)
		}
	}
}

func TestBuildSnippet(t *testing.T) {
	terms := parseSearchQuery(`café "formant frequencies"`).terms()
	long := strings.Repeat("one two three four five six seven eight nine ten ", 3) +
		"the FORMANT frequencies of a vowel\n\nshape its colour " + strings.Repeat("and so on ", 10)
	for _, tc := range []struct {
		name, text string
		want       []lectern.SnippetPart
	}{
		{"WholeCue", "The formant  frequencies\nshape each vowel", []lectern.SnippetPart{
			{Text: "The "}, {Text: "formant", Match: true}, {Text: " "}, {Text: "frequencies", Match: true}, {Text: " shape each vowel"}}},
		{"AccentsFolded", "Un Cafe, deux CAFÉS", []lectern.SnippetPart{{Text: "Un "}, {Text: "Cafe", Match: true}, {Text: ", deux CAFÉS"}}},
		{"WindowAroundFirstMatch", long, []lectern.SnippetPart{
			{Text: "…seven eight nine ten the "}, {Text: "FORMANT", Match: true}, {Text: " "}, {Text: "frequencies", Match: true},
			{Text: " of a vowel shape its colour and so on and so…"}}},
		{"NoMatchShowsTheStart", long, nil},
	} {
		got := buildSnippet(tc.text, terms)
		if tc.want == nil {
			got = buildSnippet(tc.text, map[string]bool{"absent": true})
			if len(got) != 1 || got[0].Match || !strings.HasPrefix(got[0].Text, "one two three") || !strings.HasSuffix(got[0].Text, "eight…") {
				t.Errorf("%s: %+v", tc.name, got)
			}
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if got := buildSnippet(strings.Repeat("x", 500)+" café", terms); len([]rune(got[0].Text)) != snippetChars || got[len(got)-1].Text != "…" {
		t.Errorf("a 500-character word is not cut to %d characters: %+v", snippetChars, got)
	}
}
