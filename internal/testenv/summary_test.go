package testenv

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPatternsOf(t *testing.T) {
	for _, tc := range []struct {
		argv   []string
		want   []string
		wantOK bool
	}{
		{[]string{"go", "test", "./..."}, []string{"./..."}, true},
		{[]string{"/usr/local/go/bin/go", "test", "-count=1", "-run", "TestX", "./db", "./server"}, []string{"./db", "./server"}, true},
		{[]string{"go", "test", "-v", "-short", "./db", "-args", "-x"}, []string{"./db"}, true},
		{[]string{"go", "test"}, nil, true},
		{[]string{"go", "test", "-json", "./..."}, nil, false},
		{[]string{"go", "build", "./..."}, nil, false},
	} {
		got, ok := patternsOf(tc.argv)
		if ok != tc.wantOK || !cmp.Equal(got, tc.want) {
			t.Errorf("patternsOf(%q) = %q, %v; want %q, %v", tc.argv, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, r := range []record{
		{Dir: "/src/a", Skipped: 2, Needs: []string{needChromium, needPostgres}},
		{Dir: "/src/b", Skipped: 1, Needs: []string{"ffmpeg", needS3}},
	} {
		if err := writeRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	got := summaryLine([]string{"/src/a", "/src/b", "/src/none"})
	want := "lectern: 3 integration tests were skipped; they need LECTERN_TEST_POSTGRES_URL, LECTERN_TEST_S3_ENDPOINT, chromium and ffmpeg on PATH (see Tests in the README, or run bash .ci/run for everything)"
	if got != want {
		t.Errorf("summary line:\n got %s\nwant %s", got, want)
	}
	if got := summaryLine([]string{"/src/none"}); !strings.Contains(got, "no integration test was skipped") {
		t.Errorf("summary line without skips: %s", got)
	}
}

// TestGoTestEndsWithSummary runs "go test" on two fixture packages, as a
// newcomer without any service would, and reads what it printed.
func TestGoTestEndsWithSummary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the summary line is written through /proc, on Linux only")
	}
	if testing.Short() {
		t.Skip("builds and runs two test binaries")
	}
	// The notes go to a cache directory of the test's own; the build cache
	// stays where it is, or every package would be compiled again.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", append([]string{"test", "-count=1"}, args...)...)
		cmd.Env = []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache))}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LECTERN_") && !strings.HasPrefix(kv, "XDG_CACHE_HOME=") && !strings.HasPrefix(kv, "GOCACHE=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go test %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	out := run("./testdata/skipper", "./testdata/runner")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := "lectern: 3 integration tests were skipped; they need LECTERN_TEST_POSTGRES_URL, LECTERN_TEST_REDIS_URL, LECTERN_TEST_S3_ENDPOINT"
	if len(lines) < 3 || !strings.HasPrefix(lines[len(lines)-2], want) ||
		!strings.Contains(lines[len(lines)-1], "testdata/runner") {
		t.Errorf("go test output does not end with the summary (before the last package's ok line):\n%s", out)
	}
	if n := strings.Count(out, "lectern: "); n != 1 {
		t.Errorf("summary printed %d times:\n%s", n, out)
	}

	if out := run("-json", "./testdata/skipper", "./testdata/runner"); strings.Contains(out, "\nlectern: ") {
		t.Errorf("go test -json got a plain summary line in its stream:\n%s", out)
	}
}
