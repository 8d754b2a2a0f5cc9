package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lectern/lectern/internal/testenv"
)

// The rough edges a newcomer met (issue 10), in the browser: counts that
// update themselves, a join link that survives the login, analytics and
// the player on a phone, the account pages, and a queue UI that works
// without the internet.

// apiCall sends a JSON request with c and decodes the answer into out,
// failing the test unless the status is want.
func apiCall(t *testing.T, c *http.Client, method, url string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, url, resp.Status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
}

// makeLongClip generates seconds of small video with a tone: long enough
// for re-watched parts and ±10 s jumps, small enough to transcode fast.
func makeLongClip(t *testing.T, seconds int) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	out := filepath.Join(t.TempDir(), "long.mp4")
	d := fmt.Sprint(seconds)
	cmd := exec.Command(ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=330:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate clip: %v\n%s", err, b)
	}
	return out
}

// uploadAndWait uploads clip as the lesson's recording and waits until the
// lesson is ready.
func (l *lectern) uploadAndWait(t *testing.T, teacher *http.Client, lessonID, clip string) {
	t.Helper()
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequest("PUT", l.URL+"/api/v1/lessons/"+lessonID+"/source", f)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "video/mp4")
	resp, err := teacher.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %s", resp.Status)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		var lesson struct{ Status string }
		apiCall(t, teacher, "GET", l.URL+"/api/v1/lessons/"+lessonID, nil, &lesson, http.StatusOK)
		switch lesson.Status {
		case "ready":
			return
		case "failed":
			t.Fatalf("transcode failed")
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("lesson not ready within 3 minutes")
}

// beat sends a progress heartbeat: ranges in seconds, as start, end pairs.
func (l *lectern) beat(t *testing.T, c *http.Client, lessonID, session string, seq int, ranges ...int) {
	t.Helper()
	rs := [][2]int{}
	for i := 0; i+1 < len(ranges); i += 2 {
		rs = append(rs, [2]int{ranges[i] * 1000, ranges[i+1] * 1000})
	}
	body := map[string]any{"session_id": session, "seq": seq, "position_ms": ranges[len(ranges)-1] * 1000, "ranges": rs}
	apiCall(t, c, "PUT", l.URL+"/api/v1/lessons/"+lessonID+"/progress", body, nil, http.StatusOK)
}

// loginTo logs in through the login page the browser is on and waits
// until it lands on path.
func (b *tab) loginTo(email, password, path string) {
	b.t.Helper()
	b.do(
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	b.waitFor("landing on "+path+" after logging in", `location.pathname === `+jsString(path), stepTimeout)
}

// phone makes the browser a 390×844 phone.
func (b *tab) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile,
		chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// desktop makes the browser a 1280×860 desktop again.
func (b *tab) desktop() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(1280, 860))
}

// topShot saves a full-page screenshot taken from the top of the page,
// so that the sticky header is where a person sees it.
func (b *tab) topShot(name string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(name)
}

// openEventStreams opens n live event streams at url with c and checks
// that each was accepted; the function it returns closes them.
func openEventStreams(t *testing.T, c *http.Client, url string, n int) (closeAll func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// The client's timeout would end a stream mid-test.
	sc := *c
	sc.Timeout = 0
	for range n {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := sc.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("open event stream: %v", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			t.Fatalf("open event stream: %s", resp.Status)
		}
		go func() { io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
	}
	t.Cleanup(cancel)
	return cancel
}

// waitMetric waits until the server's /metrics has series with a value
// of at least 1.
func waitMetric(t *testing.T, base, series string) {
	t.Helper()
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok && v != "0" {
				return
			}
		}
	}
	t.Fatalf("no %s in /metrics within %s", series, stepTimeout)
}

// navBadge is the navigation badge key's number, or "" when it is hidden.
func navBadge(b *tab, key string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector('[data-nav-count=%q]');
		return e && !e.hidden ? e.querySelector('.nav-count-n').textContent : ''; })()`, key))
}

// TestRoughEdgesClass is a class's first hour, where the newcomer met the
// rough edges: a student joins with a link from the course page (logged
// out, through the login); the teacher's inbox and navigation count the
// open questions and update in place as they are answered, while the
// student's navigation counts the new answer live; the analytics name
// the re-watched part and read well on a phone; the player's ±10 s
// buttons are there on a phone. A watch page whose live update stream was
// refused (the account had its most open) connects again by itself.
func TestRoughEdgesClass(t *testing.T) {
	const (
		adminEmail, adminPassword     = "admin@example.org", "admin password 1"
		teacherEmail, teacherPassword = "ada@example.org", "teacher password 1"
		annEmail, annPassword         = "ann@example.org", "student password 1"
		bobEmail, bobPassword         = "bob@example.org", "student password 2"
		cidEmail, cidPassword         = "cid@example.org", "student password 3"
		clipSeconds                   = 30
	)
	shots := artifactsDir(t)
	clip := makeLongClip(t, clipSeconds)
	l := startLectern(t, adminEmail, adminPassword)
	admin := l.apiLogin(t, adminEmail, adminPassword)
	l.createUser(t, admin, teacherEmail, "Ada Lovelace", teacherPassword, "teacher")
	l.createUser(t, admin, annEmail, "Ann Archer", annPassword, "student")
	l.createUser(t, admin, bobEmail, "Bob Baker", bobPassword, "student")
	l.createUser(t, admin, cidEmail, "Cid Cole", cidPassword, "student")
	teacherAPI := l.apiLogin(t, teacherEmail, teacherPassword)
	var course struct {
		ID       string `json:"id"`
		JoinCode string `json:"join_code"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses", map[string]string{"title": "Waves and optics"}, &course, http.StatusCreated)
	var lesson struct {
		ID string `json:"id"`
	}
	apiCall(t, teacherAPI, "POST", l.URL+"/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Interference"}, &lesson, http.StatusCreated)
	l.uploadAndWait(t, teacherAPI, lesson.ID, clip)
	pretty := course.JoinCode[:4] + "-" + course.JoinCode[4:]

	teacher := newTab(t, l.URL, "teacher", shots)
	ann := newTab(t, l.URL, "ann", shots)
	var annAPI, bobAPI *http.Client
	var annQuestion string
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"CoursePageOffersCodeAndLinkToCopy", func(t *testing.T) {
			tb := teacher.use(t)
			tb.open("/login")
			tb.loginTo(teacherEmail, teacherPassword, "/courses")
			tb.open("/courses/" + course.ID)
			if got := strings.TrimSpace(tb.text("#join-code-value")); got != pretty {
				t.Errorf("join code shown as %q, want %q", got, pretty)
			}
			tb.waitFor("the full join link", `document.getElementById("join-link").textContent === location.origin + "/join/`+pretty+`"`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS(`[data-copy="join-link"]`)))
			tb.waitFor("the copy to be confirmed", `[...document.querySelectorAll("[data-copy]")].some(b => b.textContent === "Copied") && !document.querySelector(".toast").hidden`, stepTimeout)
			tb.topShot("course-join-code")
		}},
		{"LoggedOutStudentJoinsByLink", func(t *testing.T) {
			tb := ann.use(t)
			link := "/join/" + strings.ToLower(pretty)
			tb.open(link)
			tb.waitFor("the login page", `location.pathname === "/login"`, stepTimeout)
			tb.loginTo(annEmail, annPassword, link)
			tb.waitFor("the offer to join", `document.getElementById("join-heading")?.textContent === "Waves and optics"`, stepTimeout)
			tb.topShot("join-offer")
			tb.do(chromedp.Click(chromedp.CSS("#join-link-form button[type=submit]")))
			tb.waitFor("the course page", `location.pathname === "/courses/`+course.ID+`"`, stepTimeout)
			if eval[bool](tb, `!!document.querySelector('.mainnav a[href="/inbox"]')`) {
				t.Errorf("a student's navigation offers the teachers' inbox")
			}
		}},
		{"ClassWatchesAndAsks", func(t *testing.T) {
			annAPI = l.apiLogin(t, annEmail, annPassword)
			bobAPI = l.apiLogin(t, bobEmail, bobPassword)
			cidAPI := l.apiLogin(t, cidEmail, cidPassword)
			// Typed as people type: lower case, spaces, with or without the hyphen.
			apiCall(t, bobAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": " " + strings.ToLower(pretty) + " "}, nil, http.StatusOK)
			apiCall(t, cidAPI, "POST", l.URL+"/api/v1/courses/join", map[string]string{"code": strings.ToLower(course.JoinCode)}, nil, http.StatusOK)
			for _, c := range []*http.Client{annAPI, bobAPI, cidAPI} {
				l.beat(t, c, lesson.ID, "first", 1, 0, clipSeconds)
			}
			// Ann and Bob both go back over 12–17 s; Cid alone over 25–27 s.
			l.beat(t, annAPI, lesson.ID, "again", 1, 8, 18)
			l.beat(t, bobAPI, lesson.ID, "again", 1, 12, 22)
			l.beat(t, cidAPI, lesson.ID, "again", 1, 25, 28)
			var q struct {
				ID string `json:"id"`
			}
			apiCall(t, annAPI, "POST", l.URL+"/api/v1/lessons/"+lesson.ID+"/comments",
				map[string]any{"kind": "question", "visibility": "class", "at_ms": 15000, "body": "Why do the fringes move?"}, &q, http.StatusCreated)
			annQuestion = q.ID
			apiCall(t, bobAPI, "POST", l.URL+"/api/v1/lessons/"+lesson.ID+"/comments",
				map[string]any{"kind": "question", "visibility": "teachers", "at_ms": 5000, "body": "Is this on the exam?"}, nil, http.StatusCreated)
		}},
		{"StudentWatches", func(t *testing.T) {
			// Ann has every live update stream her account may open
			// (other tabs, say), so the watch page's stream is refused;
			// once they close, the page connects again by itself and the
			// answer below still arrives live.
			closeStreams := openEventStreams(t, annAPI, l.URL+"/api/v1/lessons/"+lesson.ID+"/events", 5)
			tb := ann.use(t)
			tb.open("/watch/" + lesson.ID)
			tb.waitFor("the player", `!document.getElementById("big-play").hidden || !document.getElementById("resume-prompt").hidden`, stepTimeout)
			waitMetric(t, l.URL, `lectern_http_requests_total{method="GET",route="/api/v1/lessons/:id/events",status="429"}`)
			closeStreams()
			if got := navBadge(tb, "unread_answers"); got != "" {
				t.Errorf("unread answers before any answer: %q", got)
			}
		}},
		{"InboxUpdatesInPlace", func(t *testing.T) {
			tb := teacher.use(t)
			tb.open("/inbox")
			tb.waitFor("two questions", `document.querySelectorAll(".question-card").length === 2`, stepTimeout)
			if got := navBadge(tb, "open_questions"); got != "2" {
				t.Errorf("navigation shows %q open questions, want 2", got)
			}
			lessonCount := `document.querySelector('#lesson-counts li[data-lesson-id="` + lesson.ID + `"] .count [aria-hidden]')?.textContent`
			if got := eval[string](tb, lessonCount+` ?? ""`); got != "2" {
				t.Errorf("the lesson's open count is %q, want 2", got)
			}
			card := `#q-` + annQuestion
			tb.do(chromedp.SendKeys(chromedp.CSS(card+" textarea"), "The path difference changes as the slit moves."),
				chromedp.Click(chromedp.CSS(card+" .answer-form button[type=submit]")))
			tb.waitFor("the card's status to read Answered", `document.querySelector("`+card+` .question-status").textContent === "Answered"`, stepTimeout)
			tb.waitFor("the lesson's open count to drop to 1", lessonCount+` === "1"`, stepTimeout)
			tb.waitFor("the navigation's count to drop to 1", `document.querySelector('[data-nav-count="open_questions"] .nav-count-n').textContent === "1"`, stepTimeout)
			tb.topShot("inbox-answered")
			other := `.question-card:not(` + card + `)`
			tb.do(chromedp.Click(chromedp.CSS(other + ` [data-action="resolve"]`)))
			tb.waitFor("the other card to read Resolved", `document.querySelector("`+other+` .question-status").textContent === "Resolved"`, stepTimeout)
			tb.waitFor("no lesson with open questions", `!document.getElementById("lesson-counts-empty").hidden && document.getElementById("lesson-counts").hidden`, stepTimeout)
			tb.waitFor("the navigation's count to go", `document.querySelector('[data-nav-count="open_questions"]').hidden`, stepTimeout)
			tb.topShot("inbox-all-done")
		}},
		{"StudentSeesTheNewAnswerCounted", func(t *testing.T) {
			tb := ann.use(t)
			tb.waitFor("the navigation to count one new answer", `!document.querySelector('[data-nav-count="unread_answers"]').hidden`, stepTimeout)
			if got := tb.text(`[data-nav-count="unread_answers"]`); got != "1, 1 new answer" {
				t.Errorf("the navigation's badge reads %q, want 1 (1 new answer, singular)", got)
			}
			tb.topShot("watch-new-answer")
			tb.open("/inbox")
			if body := tb.text("main"); !strings.Contains(body, "The path difference changes") || strings.Contains(body, "Question inbox") {
				t.Errorf("a student's /inbox: %q", body)
			}
		}},
		{"AnalyticsOnAPhone", func(t *testing.T) {
			tb := teacher.use(t)
			tb.phone()
			tb.open("/lessons/" + lesson.ID + "/analytics")
			tb.waitFor("the narrow chart", `getComputedStyle(document.querySelector(".chart-narrow")).display !== "none" &&
				getComputedStyle(document.querySelector(".chart-wide")).display === "none"`, stepTimeout)
			// Every label is inside its drawing, and nothing is wider than the screen.
			clipped := eval[[]string](tb, `[...document.querySelectorAll(".chart-narrow text")].filter(t => {
				const b = t.getBBox(), v = t.ownerSVGElement.viewBox.baseVal;
				return b.x < 0 || b.y < 0 || b.x + b.width > v.width || b.y + b.height > v.height;
			}).map(t => t.textContent)`)
			if len(clipped) > 0 {
				t.Errorf("chart labels outside the drawing on a phone: %v", clipped)
			}
			if small := eval[float64](tb, `Math.min(...[...document.querySelectorAll(".chart-narrow text")].map(t => t.getBoundingClientRect().height))`); small < 10 {
				t.Errorf("chart labels are %.1f px tall on a phone, too small to read", small)
			}
			if w := eval[[]float64](tb, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
				t.Errorf("page is %v px wide on a %v px screen", w[0], w[1])
			}
			if d := eval[string](tb, `getComputedStyle(document.querySelector(".table-cards td")).display`); d != "flex" {
				t.Errorf("student rows on a phone: cells display %q, want cards (flex)", d)
			}
			rewatched := tb.text(".chips")
			for _, want := range []string{"0:12–0:18", "re-watched by 2 students", "1 question asked here"} {
				if !strings.Contains(rewatched, want) {
					t.Errorf("most re-watched %q lacks %q", rewatched, want)
				}
			}
			if strings.Contains(rewatched, "0:25") {
				t.Errorf("most re-watched lists Cid's solo re-watch: %q", rewatched)
			}
			tb.topShot("phone-analytics")
			tb.desktop()
			tb.open("/lessons/" + lesson.ID + "/analytics")
			tb.waitFor("the wide chart", `getComputedStyle(document.querySelector(".chart-wide")).display !== "none"`, stepTimeout)
			clipped = eval[[]string](tb, `[...document.querySelectorAll(".chart-wide text")].filter(t => {
				const b = t.getBBox(), v = t.ownerSVGElement.viewBox.baseVal;
				return b.x < 0 || b.y < 0 || b.x + b.width > v.width || b.y + b.height > v.height;
			}).map(t => t.textContent)`)
			if len(clipped) > 0 {
				t.Errorf("chart labels outside the drawing on a desktop: %v", clipped)
			}
			tb.topShot("analytics-rewatched")
		}},
		{"PlayerOnAPhone", func(t *testing.T) {
			tb := ann.use(t)
			tb.phone()
			tb.open("/watch/" + lesson.ID + "?t=0")
			tb.waitFor("the play button", `!document.getElementById("big-play").hidden`, stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS("#big-play")))
			tb.waitFor("the video to play", `document.getElementById("video").currentTime > 1`, time.Minute)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
			reach := `(() => {
				const p = document.getElementById("player").getBoundingClientRect();
				return ["back10", "fwd10", "play", "fullscreen"].filter(id => {
					const r = document.getElementById(id).getBoundingClientRect();
					return !(r.width >= 30 && r.height >= 30 && r.left >= p.left && r.right <= p.right && r.right <= innerWidth);
				});
			})()`
			if bad := eval[[]string](tb, reach); len(bad) > 0 {
				t.Errorf("controls not reachable on a phone: %v", bad)
			}
			before := eval[float64](tb, `document.getElementById("video").currentTime`)
			tb.do(chromedp.Click(chromedp.CSS("#fwd10")))
			tb.waitFor("the video 10 s further on", fmt.Sprintf(`document.getElementById("video").currentTime >= %f`, before+9), stepTimeout)
			tb.do(chromedp.Click(chromedp.CSS("#back10")))
			tb.waitFor("the video 10 s back", fmt.Sprintf(`document.getElementById("video").currentTime <= %f`, before+1.5), stepTimeout)
			tb.topShot("phone-watch")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}

// requestLog records the URL of every request a browser sends.
type requestLog struct {
	mu   sync.Mutex
	urls []string
}

// logRequests starts recording b's requests.
func logRequests(b *tab) *requestLog {
	log := &requestLog{}
	events := chromedp.Events(b.ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			log.mu.Lock()
			log.urls = append(log.urls, ev.Request.URL)
			log.mu.Unlock()
		}
	}()
	return log
}

// offSite returns the recorded requests that left origin.
func (r *requestLog) offSite(origin string) (off []string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.urls {
		if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			off = append(off, u)
		}
	}
	return off, len(r.urls)
}

// TestRoughEdgesAdmin is the admin's first minutes: logging in lands on
// the admin page; the new-account form says what a password needs before
// anything goes wrong, and says so, lastingly, when an account is created;
// the queue UI makes no request off this site, shows its Redis page of the
// embedded queue without "undefined" or "NaN", and leads back to Lectern.
func TestRoughEdgesAdmin(t *testing.T) {
	const adminEmail, adminPassword = "root@example.org", "admin password 1"
	shots := artifactsDir(t)
	l := startLectern(t, adminEmail, adminPassword)
	admin := newTab(t, l.URL, "admin", shots)
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"AdminLandsOnTheAdminPage", func(t *testing.T) {
			tb := admin.use(t)
			tb.open("/login")
			tb.loginTo(adminEmail, adminPassword, "/admin")
		}},
		{"PasswordRulesBeforeTheFirstError", func(t *testing.T) {
			tb := admin.use(t)
			if !eval[bool](tb, `(() => { const h = document.getElementById("user-password-hint");
				return !!h && h.offsetParent !== null && h.textContent.includes("At least 8 characters")
					&& document.getElementById("user-password").getAttribute("aria-describedby") === "user-password-hint"; })()`) {
				t.Errorf("the password rules are not shown beside the password field")
			}
			tb.do(chromedp.SendKeys(chromedp.CSS("#user-name"), "Tess Short"),
				chromedp.SendKeys(chromedp.CSS("#user-email"), "tess@example.org"),
				chromedp.SendKeys(chromedp.CSS("#user-password"), "short"),
				chromedp.Click(chromedp.CSS("#user-form button[type=submit]")))
			tb.waitFor("the error", `!document.querySelector("#user-form .form-error").hidden`, stepTimeout)
		}},
		{"CreatingAnAccountSaysSo", func(t *testing.T) {
			tb := admin.use(t)
			tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("user-password").value = ""`),
				chromedp.SendKeys(chromedp.CSS("#user-password"), "a long enough password"),
				chromedp.SetValue(chromedp.CSS("#user-role"), "teacher"),
				chromedp.Click(chromedp.CSS("#user-form button[type=submit]")))
			tb.waitFor("the confirmation", `!document.getElementById("user-created").hidden`, stepTimeout)
			tb.waitFor("the new account in the list", `!!document.querySelector('#user-rows tr.is-new[data-email="tess@example.org"]')`, stepTimeout)
			// The toast is gone after 4 s; the confirmation stays.
			time.Sleep(5 * time.Second)
			msg := tb.text("#user-created")
			if !strings.Contains(msg, "Tess Short") || !strings.Contains(msg, "tess@example.org") || !strings.Contains(msg, "teacher") ||
				!eval[bool](tb, `!document.getElementById("user-created").hidden && document.querySelector("#user-form .form-error").hidden`) {
				t.Errorf("confirmation %q does not stay or does not say who was created", msg)
			}
			if v := eval[string](tb, `document.getElementById("user-email").value`); v != "" {
				t.Errorf("the form keeps %q after creating the account", v)
			}
			tb.topShot("admin-user-created")
		}},
		{"QueueUIStaysOnThisSite", func(t *testing.T) {
			tb := admin.use(t)
			log := logRequests(tb)
			tb.do(chromedp.Click(chromedp.CSS(`.tabs a[href="/admin/queues"]`)))
			tb.waitFor("the queue UI", `location.pathname.startsWith("/admin/queues") && document.querySelectorAll("#root *").length > 20`, stepTimeout)
			tb.waitFor("the queues page", `document.body.innerText.includes("Queue Size") && document.body.innerText.includes("Latency")`, stepTimeout)
			tb.topShot("queue-ui")
			tb.open("/admin/queues/redis")
			tb.waitFor("the Redis page", `document.body.innerText.includes("Uptime") && document.body.innerText.includes("Used Memory")`, stepTimeout)
			time.Sleep(time.Second) // let it draw the values
			text := tb.text("#root")
			for _, bad := range []string{"undefined", "NaN"} {
				if strings.Contains(text, bad) {
					t.Errorf("Redis page shows %q: %s", bad, text)
				}
			}
			if !strings.Contains(text, "miniredis") || !strings.Contains(text, "0 days") {
				t.Errorf("Redis page does not describe the embedded queue: %s", text)
			}
			tb.topShot("queue-ui-redis")
			if off, n := log.offSite(l.URL); len(off) > 0 || n == 0 {
				t.Errorf("the queue UI sent %d requests, %d off this site: %v", n, len(off), off)
			}
			if font := eval[string](tb, `getComputedStyle(document.body).fontFamily`); !strings.Contains(font, "system-ui") {
				t.Errorf("queue UI body font %q, want the system font stack", font)
			}
		}},
		{"QueueUILeadsBack", func(t *testing.T) {
			tb := admin.use(t)
			if !eval[bool](tb, `(() => { const a = document.querySelector('.lectern-back a[href="/admin"]'); if (!a) return false;
				const r = a.getBoundingClientRect(); return r.width > 0 && r.bottom <= innerHeight && r.right <= innerWidth
					&& document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === a; })()`) {
				t.Errorf("no visible, unobstructed link back to /admin")
			}
			tb.do(chromedp.Click(chromedp.CSS(`.lectern-back a`)))
			tb.waitFor("the admin page", `location.pathname === "/admin"`, stepTimeout)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}
