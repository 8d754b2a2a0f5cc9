package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's browser build, vendored by testdata/axe/refresh.sh
// at the version testdata/axe/VERSION names.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

//go:embed testdata/axe/VERSION
var axeVersionLine string

// axeFinding is one element that breaks one axe rule.
type axeFinding struct {
	Rule    string   `json:"rule"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Target  []string `json:"target"`
	Summary string   `json:"summary"`
	HTML    string   `json:"html"`
}

func (f axeFinding) String() string {
	summary := strings.ReplaceAll(strings.TrimSpace(f.Summary), "\n", "\n      ")
	return fmt.Sprintf("%s (%s) at %s: %s\n      %s\n      %s\n      %s",
		f.Rule, f.Impact, strings.Join(f.Target, " > "), f.Help, f.HTML, summary, f.HelpURL)
}

// axeRun is a script that runs axe on the page, with every rule it has
// but the experimental ones, and gives the serious and critical findings
// element by element.
const axeRun = `axe.run(document, { resultTypes: ["violations"] }).then(r => r.violations.flatMap(v => v.nodes
	.filter(n => ["serious", "critical"].includes(n.impact || v.impact))
	.map(n => ({ rule: v.id, impact: n.impact || v.impact, help: v.help, helpUrl: v.helpUrl,
		target: n.target.map(String), summary: n.failureSummary || "",
		html: n.html.length > 300 ? n.html.slice(0, 299) + "…" : n.html }))))`

// axeCheck injects axe into the page (once per document) and returns its
// serious and critical findings.
func axeCheck(tb *tab) []axeFinding {
	tb.t.Helper()
	if !eval[bool](tb, `typeof window.axe === "object"`) {
		tb.do(chromedp.Evaluate[chromedp.Void](axeSource))
	}
	return eval[[]axeFinding](tb, axeRun)
}

// axeVersion is the version of axe in the page.
func axeVersion(tb *tab) string {
	tb.t.Helper()
	if !eval[bool](tb, `typeof window.axe === "object"`) {
		tb.do(chromedp.Evaluate[chromedp.Void](axeSource))
	}
	return eval[string](tb, `axe.version`)
}

// colorScheme makes the browser prefer a light or a dark colour scheme.
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// axePage is one state of a page that axe checks.
type axePage struct {
	name   string
	tab    *tab
	before func(tb *tab) // runs before the page opens
	path   string        // opened first; "" stays on the page as it is
	ready  string        // a script that is true once the page has drawn what it shows
	setup  func(tb *tab) // runs once it has, before axe
}

// checkPages runs axe on every page in the light and the dark scheme and
// reports, per page, each serious or critical finding.
func checkPages(t *testing.T, pages []axePage) {
	for _, scheme := range []string{"light", "dark"} {
		for _, p := range pages {
			t.Run(p.name+"/"+scheme, func(t *testing.T) {
				tb := p.tab.use(t)
				tb.colorScheme(scheme)
				if p.before != nil {
					p.before(tb)
				}
				if p.path != "" {
					tb.open(p.path)
				}
				tb.waitFor(p.name, p.ready, stepTimeout)
				if p.setup != nil {
					p.setup(tb)
				}
				// The scheme's colours are in place (dark has a dark page).
				dark := eval[bool](tb, `matchMedia("(prefers-color-scheme: dark)").matches`)
				if dark != (scheme == "dark") {
					t.Fatalf("the browser prefers dark = %v in the %s scheme", dark, scheme)
				}
				found := axeCheck(tb)
				if len(found) == 0 {
					return
				}
				tb.shot("axe-" + strings.ReplaceAll(p.name, " ", "-") + "-" + scheme)
				var b strings.Builder
				for _, f := range found {
					b.WriteString("\n  - " + f.String())
				}
				t.Errorf("axe %s: %d serious or critical finding(s) on %s (%s):%s",
					strings.TrimSpace(axeVersionLine), len(found), p.name, scheme, b.String())
			})
		}
	}
}
