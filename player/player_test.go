package player

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewPagesParsesEveryPage(t *testing.T) {
	p, err := NewPages()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"account", "admin_jobs", "admin_lti", "admin_user", "admin_users", "analytics", "captions", "confirm_email", "course", "courses", "error", "forgot", "inbox", "invitation", "join", "login", "lti_deeplink", "lti_deeplink_return", "lti_login", "lti_refused", "lti_verify", "reset", "search", "tokens", "trash", "unsubscribe", "upload", "watch"}
	if diff := cmp.Diff(want, p.Names()); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	err = p.Render(&buf, "error", map[string]any{"Name": "error", "Title": "Oops",
		"View": map[string]string{"Heading": "<b>Oops</b>", "Message": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "&lt;b&gt;Oops&lt;/b&gt;") {
		t.Errorf("heading not escaped in %s", out)
	}
	if !strings.Contains(out, `/static/js/common.js?v=`+p.Version()) {
		t.Errorf("page without a script of its own does not load common.js with the version")
	}
	if err := p.Render(&buf, "nope", nil); err == nil {
		t.Errorf("rendering an unknown page succeeded")
	}
}

// TestModuleImportsResolve checks that every relative import of the page
// scripts names a file that is embedded.
func TestModuleImportsResolve(t *testing.T) {
	static := Static()
	imp := regexp.MustCompile(`(?m)^import (?:[^'"]+ from )?'\./([^']+)';`)
	files, err := fs.Glob(static, "js/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(static, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			if _, err := fs.Stat(static, "js/"+m[1]); err != nil {
				t.Errorf("%s imports ./%s, which is not embedded", f, m[1])
			}
		}
	}
	for _, v := range []string{"vendor/hls.min.js", "vendor/tus.min.js", "css/app.css"} {
		if _, err := fs.Stat(static, v); err != nil {
			t.Errorf("%s is not embedded", v)
		}
	}
}

func TestFormatting(t *testing.T) {
	clocks := map[int64]string{-5: "0:00", 0: "0:00", 999: "0:00", 61000: "1:01", 3599000: "59:59", 3600000: "1:00:00", 3725000: "1:02:05"}
	for ms, want := range clocks {
		if got := Clock(ms); got != want {
			t.Errorf("Clock(%d) = %q, want %q", ms, got, want)
		}
	}
	steps := map[float64]int{-3: 0, 0: 0, 2.4: 0, 2.5: 5, 42.9: 45, 99: 100, 140: 100}
	for v, want := range steps {
		if got := Step5(v); got != want {
			t.Errorf("Step5(%v) = %d, want %d", v, got, want)
		}
	}
	if got := Initials("ada  lovelace byron"); got != "AL" {
		t.Errorf("Initials = %q, want AL", got)
	}
	if got := Label("awaiting_upload"); got != "Awaiting upload" {
		t.Errorf("Label = %q", got)
	}
}
