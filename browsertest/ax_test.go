package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axNode is what the browser tells assistive technology about an element:
// its role, its accessible name, its value and its states (pressed,
// expanded, checked, focused, valuemin, live, …), from Chromium's
// accessibility tree. (Chromium's DevTools protocol reports valuetext
// empty whatever aria-valuetext says, so tests read that attribute.)
type axNode struct {
	Role, Name, Value string
	Props             map[string]string
}

func (n axNode) String() string {
	var props []string
	for k, v := range n.Props {
		props = append(props, k+"="+v)
	}
	return fmt.Sprintf("%s %q value=%q %s", n.Role, n.Name, n.Value, strings.Join(props, " "))
}

// axText turns an accessibility value into text ("" when absent).
func axText(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var x any
	if err := json.Unmarshal(v.Value, &x); err != nil {
		return string(v.Value)
	}
	return fmt.Sprint(x)
}

// ax reads the accessibility node of the element the script js gives.
func ax(tb *tab, js string) axNode {
	tb.t.Helper()
	var out axNode
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		r, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: js})
		if err != nil {
			return err
		}
		if r.ExceptionDetails != nil || r.Result == nil || r.Result.ObjectID == "" {
			return fmt.Errorf("%s is not an element", js)
		}
		id := r.Result.ObjectID
		defer cdp.Call(ctx, t, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: id})
		no := false
		res, err := cdp.Call(ctx, t, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: id, FetchRelatives: &no})
		if err != nil {
			return err
		}
		if len(res.Nodes) == 0 {
			return fmt.Errorf("%s has no accessibility node", js)
		}
		n := res.Nodes[0]
		out = axNode{Role: axText(n.Role), Name: axText(n.Name), Value: axText(n.Value), Props: map[string]string{}}
		if n.Ignored {
			out.Props["ignored"] = "true"
		}
		for _, p := range n.Properties {
			out.Props[string(p.Name)] = axText(p.Value)
		}
		return nil
	}))
	return out
}

// focused is the accessibility node of the element with the focus.
func focused(tb *tab) axNode {
	tb.t.Helper()
	return ax(tb, "document.activeElement")
}

// focusProblem is a script that says why the focused element cannot be
// seen ("" when it can): nothing focused, no :focus-visible, no outline or
// shadow drawn, no size, or a transparent ancestor (faded controls).
const focusProblem = `(() => {
	const a = document.activeElement;
	if (!a || a === document.body) return "nothing has the focus";
	const what = a.id ? "#" + a.id : a.tagName.toLowerCase() + (a.className ? "." + String(a.className).split(" ")[0] : "");
	if (!a.matches(":focus-visible")) return what + " is not :focus-visible";
	const cs = getComputedStyle(a);
	if (!((cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none")) return what + " draws no focus ring";
	const r = a.getBoundingClientRect();
	if (r.width < 1 || r.height < 1) return what + " has no size";
	for (let n = a; n && n.nodeType === 1; n = n.parentElement) {
		if (parseFloat(getComputedStyle(n).opacity) < 0.5) return what + " is faded out";
	}
	return "";
})()`

// key presses one key (a kb constant or a character), with modifiers.
func (b *tab) key(k string, mods ...chromedp.Modifier) {
	b.t.Helper()
	if len(mods) == 0 {
		b.do(chromedp.KeyEvent(k))
		return
	}
	b.do(chromedp.KeyEvent(k, chromedp.KeyModifiers(mods...)))
}

// tabTo presses Tab (Shift+Tab when back) until the element with id has
// the focus, at most max times, checking at every stop that the focus can
// be seen. It returns the ids (or tags) of the stops on the way.
func (b *tab) tabTo(id string, back bool, max int) []string {
	b.t.Helper()
	var stops []string
	for range max {
		if back {
			b.key(kb.Tab, chromedp.ModifierShift)
		} else {
			b.key(kb.Tab)
		}
		stop := eval[string](b, `(a => a.id || a.tagName.toLowerCase())(document.activeElement)`)
		stops = append(stops, stop)
		if p := eval[string](b, focusProblem); p != "" {
			b.fail("after Tab to %s: %s", stop, p)
		}
		if stop == id {
			return stops
		}
	}
	b.fail("%s not reached in %d presses of Tab (back %v): %v", id, max, back, stops)
	return nil
}
