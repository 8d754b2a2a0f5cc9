package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Waiting for the other packages of the run before adding up their notes.
const (
	// siblingsQuiet is how long the go command must have run nothing
	// besides this test binary before the summary is written: long enough
	// for it to print the "ok" lines of the packages that just finished.
	siblingsQuiet = 500 * time.Millisecond
	// siblingsPoll is how often the go command's children are looked at.
	siblingsPoll = 100 * time.Millisecond
	// siblingsMax bounds the wait, whatever the go command does.
	siblingsMax = 3 * time.Hour
	// listTimeout bounds the "go list" that finds the run's packages.
	listTimeout = time.Minute
)

// announce writes the summary line to the go command's standard output
// when dir is the last package (in go test's printing order) of the run,
// once every other package has finished. It does nothing when the parent
// is not the go command, when go test was asked for -json (a plain line
// would corrupt the stream), or when writing could clobber the go
// command's own output (a regular file opened without O_APPEND, whose
// offset this process cannot share).
func announce(dir string) {
	goPID := os.Getppid()
	exe, err := os.Readlink(procPath(goPID, "exe"))
	if err != nil || filepath.Base(exe) != "go" {
		return
	}
	args, ok := testPatterns(goPID)
	if !ok {
		return
	}
	cwd, err := os.Readlink(procPath(goPID, "cwd"))
	if err != nil {
		return
	}
	dirs, err := testPackageDirs(exe, cwd, args)
	if err != nil || len(dirs) == 0 || dirs[len(dirs)-1] != dir {
		return
	}
	waitForSiblings(goPID)
	out, err := os.OpenFile(procPath(goPID, "fd/1"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer out.Close()
	if !appendSafe(out, goPID) {
		return
	}
	fmt.Fprintln(out, summaryLine(dirs))
}

func procPath(pid int, name string) string {
	return filepath.Join("/proc", strconv.Itoa(pid), name)
}

// boolTestFlags are the go test and build flags that take no value; any
// other flag written without "=" takes the next argument.
var boolTestFlags = map[string]bool{
	"v": true, "short": true, "race": true, "cover": true, "failfast": true, "benchmem": true,
	"x": true, "n": true, "a": true, "work": true, "trimpath": true, "msan": true, "asan": true,
	"linkshared": true, "modcacherw": true, "json": true, "i": true, "fullpath": true,
}

// testPatterns returns the package arguments of the go command with pid,
// when it is "go test" without -json.
func testPatterns(pid int) ([]string, bool) {
	raw, err := os.ReadFile(procPath(pid, "cmdline"))
	if err != nil {
		return nil, false
	}
	return patternsOf(strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00"))
}

// patternsOf returns the package arguments of a go command line argv,
// when it is "go test" without -json.
func patternsOf(argv []string) ([]string, bool) {
	i := 1
	for i < len(argv) && argv[i] != "test" {
		i++
	}
	if i == len(argv) {
		return nil, false
	}
	var pkgs []string
	for i++; i < len(argv); i++ {
		a := argv[i]
		if a == "-args" || a == "--args" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			pkgs = append(pkgs, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "json" {
			return nil, false
		}
		if !hasValue && !boolTestFlags[name] {
			i++ // the flag's value
		}
	}
	return pkgs, true
}

// testPackageDirs lists, in go test's order, the directories of the
// packages named by patterns (in cwd) that have test files.
func testPackageDirs(goExe, cwd string, patterns []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	args := append([]string{"list", "-e", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}", "--"}, patterns...)
	cmd := exec.CommandContext(ctx, goExe, args...)
	cmd.Dir = cwd
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var dirs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if d := strings.TrimSpace(sc.Text()); d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs, sc.Err()
}

// waitForSiblings returns once the go command with pid has had no child
// but this process (no compiler, linker, vet or other test binary) for
// siblingsQuiet, or has exited.
func waitForSiblings(pid int) {
	self := os.Getpid()
	deadline := time.Now().Add(siblingsMax)
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		if _, err := os.Stat(procPath(pid, "")); err != nil {
			return
		}
		if hasOtherChild(pid, self) {
			quietSince = time.Now()
		} else if time.Since(quietSince) >= siblingsQuiet {
			return
		}
		time.Sleep(siblingsPoll)
	}
}

// hasOtherChild reports whether a process other than self has parent pid.
func hasOtherChild(pid, self int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == self {
			continue
		}
		stat, err := os.ReadFile(procPath(child, "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses and
		// may itself hold spaces: state, then the parent's pid.
		end := bytes.LastIndexByte(stat, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) >= 2 && fields[1] == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

// appendSafe reports whether writing to out, the go command's standard
// output reopened, lands after what the go command wrote and before what
// it writes next: true for terminals, pipes and sockets, and for a regular
// file only when the go command itself appends to it.
func appendSafe(out *os.File, pid int) bool {
	fi, err := out.Stat()
	if err != nil {
		return false
	}
	if !fi.Mode().IsRegular() {
		return true
	}
	info, err := os.ReadFile(procPath(pid, "fdinfo/1"))
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(info), "\n") {
		v, ok := strings.CutPrefix(line, "flags:")
		if !ok {
			continue
		}
		flags, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
		return err == nil && flags&syscall.O_APPEND != 0
	}
	return false
}
