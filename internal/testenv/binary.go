package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// lecternBin is the lectern binary built for this test process.
var lecternBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// LecternBinary builds cmd/lectern once per test process and returns the
// path of the binary; Run removes it when the tests end. Linking the
// binary takes seconds, so tests that start many servers share one.
func LecternBinary(t testing.TB) string {
	t.Helper()
	lecternBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "lectern-bin-")
		if err != nil {
			lecternBin.err = err
			return
		}
		lecternBin.dir = dir
		bin := filepath.Join(dir, "lectern")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/lectern/lectern/cmd/lectern").CombinedOutput()
		if err != nil {
			lecternBin.err = fmt.Errorf("go build ./cmd/lectern: %v\n%s", err, out)
			return
		}
		lecternBin.path = bin
	})
	if lecternBin.err != nil {
		t.Fatal(lecternBin.err)
	}
	return lecternBin.path
}

// removeLecternBinary deletes the binary LecternBinary built, if any.
func removeLecternBinary() {
	if lecternBin.dir != "" {
		os.RemoveAll(lecternBin.dir)
	}
}
