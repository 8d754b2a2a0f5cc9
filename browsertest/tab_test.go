package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step; waits for transcoding pass their own.
const stepTimeout = 30 * time.Second

// tab is one person's browser: a chromium of its own, so cookies and
// focus are never shared (a second tab in one headless browser is a
// background tab, whose page loads can stall).
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	who   string
	shots string
}

func newTab(t *testing.T, base, who, shots string, extra ...chromedp.ExecAllocatorOption) *tab {
	t.Helper()
	ctx := newBrowser(t, extra...)
	tb := &tab{t: t, ctx: ctx, base: base, who: who, shots: shots}
	// Report what the page logs, to explain a failure.
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == "error" || m.Type == chromedp.ConsoleException || m.Type == "warning" {
				t.Logf("%s's browser console %s: %s", who, m.Type, m.Text)
			}
		}
	}()
	return tb
}

// use sets the test that failures are reported to (a subtest).
func (b *tab) use(t *testing.T) *tab { b.t = t; return b }

// fail reports err with a screenshot of the page as it was.
func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	name := fmt.Sprintf("failed-%s-%d.png", b.who, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(b.shots, name), png, 0o644)
		format += " (screenshot " + name + ")"
	}
	b.t.Fatalf("%s: "+format, append([]any{b.who}, args...)...)
}

// do runs steps, failing the test on error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%v", err)
	}
}

// open navigates to a path of the server.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// eval evaluates js (awaiting a promise) and decodes its value.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor evaluates js every 100 ms until the page has loaded and js is
// truthy, for at most d. Errors while the page navigates (the context it
// ran in is gone) are retried.
func (b *tab) waitFor(what, js string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`document.readyState === "complete" && Promise.resolve(`+js+`).then(v => !!v)`, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		b.fail("waiting for %s: %v", what, last)
	}
	b.fail("gave up waiting for %s after %s", what, d)
}

// text is the text content of the first element sel matches.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

// shot saves a screenshot of the whole page as name.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// login logs in through the login page.
func (b *tab) login(email, password string) {
	b.t.Helper()
	b.open("/login")
	b.do(
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	b.waitFor("the courses page after logging in", `location.pathname === "/courses"`, stepTimeout)
}

// path is the page's current path.
func (b *tab) path() string {
	b.t.Helper()
	return eval[string](b, "location.pathname")
}

// jsString quotes s for JavaScript (JSON strings are JavaScript strings).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
