package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// What a skipped integration test needed, as the summary names it.
const (
	needPostgres = "LECTERN_TEST_POSTGRES_URL"
	needRedis    = "LECTERN_TEST_REDIS_URL"
	needS3       = "LECTERN_TEST_S3_ENDPOINT"
	needChromium = "chromium"
	needBwrap    = "bwrap (Debian package bubblewrap)"
)

// skipLog counts the tests of this test binary skipped for a missing
// service. It is package state because tests reach testenv through plain
// functions, and one test binary is one package's run: Run reads it once
// every test has finished.
type skipLog struct {
	mu    sync.Mutex
	tests map[string]bool
	needs map[string]bool
}

var skips = &skipLog{tests: map[string]bool{}, needs: map[string]bool{}}

func (l *skipLog) add(test, need string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tests[test] = true
	l.needs[need] = true
}

// record is what one package's run left for the summary: how many of its
// tests were skipped, and what they needed.
type record struct {
	Dir     string   `json:"dir"`
	Skipped int      `json:"skipped"`
	Needs   []string `json:"needs"`
}

func (l *skipLog) record(dir string) record {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := record{Dir: dir, Skipped: len(l.tests), Needs: []string{}}
	for n := range l.needs {
		r.Needs = append(r.Needs, n)
	}
	slices.Sort(r.Needs)
	return r
}

// Run runs the package's tests and returns the exit code for os.Exit. Use
// it from TestMain in every package whose tests call this package:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// Besides running the tests, it keeps a note of how many integration tests
// were skipped for a missing service, and, when this package is the last
// one of a "go test" run, ends the run's output with one line that adds up
// every package's notes, so that a newcomer sees what was not tested. go
// test hides a passing package's own output, so the line is written to the
// go command's standard output (where the platform allows finding it; see
// announce). A package whose result go test took from its cache keeps the
// note of the run that produced that result.
func Run(m *testing.M) int {
	code := m.Run()
	removeLecternBinary()
	dir, err := os.Getwd()
	if err != nil {
		return code
	}
	r := skips.record(dir)
	if err := writeRecord(r); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: keep the skipped-test count: %v\n", err)
	}
	announce(dir)
	return code
}

// recordDir is where each package's note is kept between runs.
func recordDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "lectern", "test-skips")
}

func recordPath(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(recordDir(), hex.EncodeToString(sum[:8])+".json")
}

func writeRecord(r record) error {
	if err := os.MkdirAll(recordDir(), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Write then rename, so that a reader never sees half a note.
	tmp, err := os.CreateTemp(recordDir(), "record-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), recordPath(r.Dir))
}

// readRecord returns the note a package left, or a zero record when it
// left none (it has no integration tests, or has never run).
func readRecord(dir string) record {
	b, err := os.ReadFile(recordPath(dir))
	if err != nil {
		return record{Dir: dir}
	}
	var r record
	if json.Unmarshal(b, &r) != nil || r.Dir != dir {
		return record{Dir: dir}
	}
	return r
}

// summaryLine adds up the notes of the packages in dirs into one line.
func summaryLine(dirs []string) string {
	total := 0
	needs := map[string]bool{}
	for _, d := range dirs {
		r := readRecord(d)
		total += r.Skipped
		for _, n := range r.Needs {
			needs[n] = true
		}
	}
	if total == 0 {
		return "lectern: no integration test was skipped for a missing service"
	}
	var what []string
	for _, n := range []string{needPostgres, needRedis, needS3} {
		if needs[n] {
			what = append(what, n)
			delete(needs, n)
		}
	}
	var programs []string
	for n := range needs {
		programs = append(programs, n)
	}
	slices.Sort(programs)
	if len(programs) > 0 {
		what = append(what, strings.Join(programs, " and ")+" on PATH")
	}
	tests := "tests were"
	if total == 1 {
		tests = "test was"
	}
	return fmt.Sprintf("lectern: %d integration %s skipped; they need %s (see Tests in the README, or run bash .ci/run for everything)",
		total, tests, strings.Join(what, ", "))
}
