package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

// TestLTIInAnIframeWithoutThirdPartyCookies is LTI 1.3 as teachers and
// students meet it: the LMS's pages (another site: 127.0.0.2, while
// Lectern is localhost) embed Lectern in an iframe, in Chromiums that block
// third-party cookies. The teacher's "add an activity" opens Lectern's
// picker, where a recording uploaded on the spot joins the list and goes
// back to the LMS with a ready lesson (Deep Linking); the student's click
// on the added activity gets through (its state comes back through the
// LMS's postMessage storage, and the session rides on the page's launch
// token, no cookie kept), the lesson plays to its end inside the iframe,
// and its grade arrives in the LMS's gradebook.
func TestLTIInAnIframeWithoutThirdPartyCookies(t *testing.T) {
	const adminEmail, adminPassword = "admin@lti.example", "lti admin password 1"
	l := startLectern(t, adminEmail, adminPassword)
	// Lectern's public URL is http://localhost:<port> (LECTERN_PUBLIC_URL
	// unset): launches must target it.
	tool := strings.Replace(l.URL, "127.0.0.1", "localhost", 1)
	p := ltiplatform.New(t, ltiplatform.Options{Host: "127.0.0.2"})
	p.SetTool(ltiplatform.Tool{LoginURL: tool + "/lti/login", RedirectURL: tool + "/lti/launch", JWKSURL: tool + "/lti/jwks"})
	admin := l.apiLogin(t, adminEmail, adminPassword)
	reg := fmt.Sprintf(`{"name":"Test LMS","issuer":%q,"client_id":%q,"deployment_ids":[%q],"auth_login_url":%q,"token_url":%q,"jwks_url":%q}`,
		p.URL, p.ClientID, p.DeploymentID, p.AuthURL(), p.TokenURL(), p.JWKSURL())
	if resp, err := admin.Post(l.URL+"/api/v1/admin/lti/platforms", "application/json", strings.NewReader(reg)); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register the platform: %v %v", resp.Status, err)
	}
	p.AddUser(ltiplatform.User{Sub: "t1", Name: "Tess Teacher", Email: "tess@school.example"})
	p.AddUser(ltiplatform.User{Sub: "s1", Name: "Sam Student", Email: "sam@school.example"})
	p.AddContext(ltiplatform.Context{ID: "c1", Title: "Biology", Members: []ltiplatform.Member{
		{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}}, {Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}}})
	p.AddLink(ltiplatform.Link{ID: "l1", ContextID: "c1", Title: "Lectern"}, 0)

	// The teacher's first launch makes the course; the lesson is uploaded
	// with the launch's token, as the course page inside the LMS does.
	teacher := newLaunchClient(t, tool, p, p.ResourceLinkMessage("t1", "l1"))
	clip := makeClipOf(t, 3)
	lessonID := teacher.readyLesson(t, clip)
	shots := artifactsDir(t)
	browser := []chromedp.ExecAllocatorOption{
		chromedp.Flag("test-third-party-cookie-phaseout", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// The iframe stays in the page's process (see frameTab). Blocking
		// third-party cookies does not depend on the process model.
		chromedp.Flag("disable-features", "SitePerProcess,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true),
	}

	// The teacher adds activities from the LMS's "add an activity" page:
	// in Lectern's picker inside it, a recording uploaded on the spot
	// joins the list, chosen, beside the ready lesson, and both go back.
	editor := newTab(t, tool, "teacher", shots, browser...)
	editor.blockThirdPartyCookies()
	editor.do(chromedp.Navigate(p.AddPageURL("c1", "t1")))
	picker := editor.frame(tool + "/")
	picker.waitFor("the lesson picker inside the LMS", `document.body.classList.contains("page-lti_deeplink") && document.querySelector('#dl-lessons input[value="`+lessonID+`"]')`, time.Minute)
	picker.eval(`document.getElementById("dl-new-title").value = "Uploaded from the LMS"`)
	picker.setFile("#dl-new-file", clip)
	picker.eval(`document.getElementById("dl-new-upload").click()`)
	picker.waitFor("the uploaded lesson in the list, chosen", `[...document.querySelectorAll("#dl-lessons input:checked")].some(i => i.closest("li").textContent.includes("Uploaded from the LMS"))`, time.Minute)
	picker.eval(`document.querySelector('#dl-lessons input[value="` + lessonID + `"]').checked = true`)
	editor.shot("lti-picker")
	picker.eval(`document.getElementById("dl-add").click()`)
	var added []ltiplatform.ReturnedItem
	for deadline := time.Now().Add(time.Minute); len(added) == 0; time.Sleep(100 * time.Millisecond) {
		if got := p.Returned(); len(got) > 0 {
			added = got[0]
		} else if time.Now().After(deadline) {
			t.Fatal("the picker's answer did not reach the LMS within a minute")
		}
	}
	linkID := ""
	for _, it := range added {
		if it.Custom[lti.CustomLesson] == lessonID {
			linkID = it.LinkID
		}
	}
	if len(added) != 2 || linkID == "" || added[0].Title != "Cells in three seconds" || added[1].Title != "Uploaded from the LMS" {
		t.Fatalf("the LMS got %+v, want the ready lesson and the one uploaded from the picker", added)
	}

	// A student opens the added activity from the LMS's course page.
	student := newTab(t, tool, "student", shots, browser...)
	student.blockThirdPartyCookies()
	student.do(chromedp.Navigate(p.LaunchPageURL("c1", linkID, "s1")))
	frame := student.frame(tool + "/")
	frame.waitFor("the lesson's page inside the LMS", `document.body.classList.contains("page-watch") && !document.getElementById("big-play").hidden`, time.Minute)
	frame.eval(`document.getElementById("big-play").click()`)
	frame.waitFor("the video to play to its end", `document.getElementById("video").ended`, time.Minute)
	student.shot("lti-iframe")

	if log := eval[[]string](student, `window.ltiStorageLog`); !contains(log, "lti.get_data") {
		t.Errorf("the LMS page saw storage messages %v: the launch must have read its state back from platform storage", log)
	}
	cookies := student.cookies(tool + "/")
	for _, c := range cookies {
		if c.Name == "lectern_session" {
			t.Errorf("the browser kept Lectern's session cookie inside the LMS (%+v): third-party cookies were not blocked", c)
		}
	}

	deadline := time.Now().Add(time.Minute)
	for {
		var got *ltiplatform.Score
		for _, sc := range p.Scores() {
			if sc.UserID == "s1" {
				got = &sc
			}
		}
		if got != nil {
			if got.ScoreGiven < 90 || got.ScoreMaximum != 100 || got.ActivityProgress != lti.ActivityCompleted || got.GradingProgress != lti.GradingFullyGraded {
				t.Errorf("the gradebook got %+v, want a completed, fully graded score of at least 90/100", *got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no grade arrived at the LMS within a minute; scores: %+v", p.Scores())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// frameTab is the iframe of a tab whose URL starts with a prefix. Its
// scripts run in an isolated world of the frame (they share its DOM, not
// its globals), made through the page's own target: the test browser
// keeps iframes in the page's process (see newTab's flags there), because
// chromedp loses track of an out-of-process iframe's target once it has
// navigated.
type frameTab struct {
	tab    *tab
	prefix string
}

// frame is the tab's iframe whose URL starts with prefix.
func (b *tab) frame(prefix string) *frameTab { return &frameTab{tab: b, prefix: prefix} }

// context makes an isolated world in the frame and returns its execution
// context.
func (f *frameTab) context(ctx context.Context, tg *chromedp.Target) (runtime.ExecutionContextID, error) {
	tree, err := cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return 0, err
	}
	for _, child := range tree.FrameTree.ChildFrames {
		if strings.HasPrefix(child.Frame.URL, f.prefix) {
			w, err := cdp.Call(ctx, tg, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: child.Frame.ID, WorldName: "lectern-test"})
			return w.ExecutionContextID, err
		}
	}
	return 0, fmt.Errorf("no iframe at %s yet", f.prefix)
}

// try evaluates js in the frame and reports whether its value is truthy.
func (f *frameTab) try(js string) (bool, error) {
	ctx, cancel := context.WithTimeout(f.tab.ctx, 5*time.Second)
	defer cancel()
	var ok bool
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		id, err := f.context(ctx, tg)
		if err != nil {
			return err
		}
		yes := true
		res, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{ContextID: id,
			Expression: `Promise.resolve(` + js + `).then(v => !!v)`, AwaitPromise: &yes, ReturnByValue: &yes})
		switch {
		case err != nil:
			return err
		case res.ExceptionDetails != nil:
			return fmt.Errorf("%s: %s", js, res.ExceptionDetails.Text)
		}
		return json.Unmarshal(res.Result.Value, &ok)
	}))
	return ok, err
}

// eval runs js in the frame.
func (f *frameTab) eval(js string) {
	f.tab.t.Helper()
	if _, err := f.try(js); err != nil {
		f.tab.fail("in the iframe: %v", err)
	}
}

// waitFor waits up to d for js to be truthy in the frame.
func (f *frameTab) waitFor(what, js string, d time.Duration) {
	f.tab.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		ok, err := f.try(`document.readyState === "complete" && (` + js + `)`)
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	f.tab.fail("waiting in the iframe for %s: %v", what, last)
}

// blockThirdPartyCookies turns Chromium's third-party cookie restriction on
// for the tab's page.
func (b *tab) blockThirdPartyCookies() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true})
		return err
	}))
}

// setFile chooses file in the frame's file input sel.
func (f *frameTab) setFile(sel, file string) {
	f.tab.t.Helper()
	ctx, cancel := context.WithTimeout(f.tab.ctx, stepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		id, err := f.context(ctx, tg)
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{ContextID: id,
			Expression: fmt.Sprintf(`document.querySelector(%q)`, sel)})
		if err != nil {
			return err
		}
		if res.Result == nil || res.Result.ObjectID == "" {
			return fmt.Errorf("no %s in the frame", sel)
		}
		_, err = cdp.Call(ctx, tg, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{file}, ObjectID: res.Result.ObjectID})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{ContextID: id,
			Expression: fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change", {bubbles: true}))`, sel)})
		return err
	}))
	if err != nil {
		f.tab.fail("choose %s in the iframe: %v", file, err)
	}
}

// cookies are the browser's cookies for url.
func (b *tab) cookies(url string) []*network.Cookie {
	b.t.Helper()
	var got []*network.Cookie
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		got = res.Cookies
		return err
	}))
	return got
}

// launchClient calls Lectern's API with the session token of a launch.
type launchClient struct {
	base, token string
}

var launchMeta = regexp.MustCompile(`<meta name="lectern-launch" content="([^"]+)">`)

func newLaunchClient(t *testing.T, base string, p *ltiplatform.Platform, m *ltiplatform.Message) *launchClient {
	t.Helper()
	pg, err := ltiplatform.NewBrowser(true).Launch(p, m)
	if err != nil {
		t.Fatal(err)
	}
	tok := launchMeta.FindSubmatch(pg.Body)
	if pg.Status != http.StatusOK || tok == nil {
		t.Fatalf("launch: status %d, no launch token: %.500s", pg.Status, pg.Body)
	}
	return &launchClient{base: base, token: string(tok[1])}
}

func (c *launchClient) do(t *testing.T, method, path, contentType string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Lectern-Launch", c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// readyLesson adds a lesson with clip to the teacher's course and waits
// until it can be watched.
func (c *launchClient) readyLesson(t *testing.T, clip string) string {
	t.Helper()
	var courses struct{ Courses []struct{ ID string } }
	c.do(t, "GET", "/api/v1/courses", "", nil, &courses)
	if len(courses.Courses) != 1 {
		t.Fatalf("the teacher's courses: %+v", courses)
	}
	var lesson struct{ ID string }
	c.do(t, "POST", "/api/v1/courses/"+courses.Courses[0].ID+"/lessons", "application/json",
		strings.NewReader(`{"title":"Cells in three seconds","publish_at":"now"}`), &lesson)
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c.do(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", "video/mp4", f, nil)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var l struct{ Playable bool }
		c.do(t, "GET", "/api/v1/lessons/"+lesson.ID, "", nil, &l)
		if l.Playable {
			return lesson.ID
		}
		if time.Now().After(deadline) {
			t.Fatal("the lesson was not ready within 3 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}
}
