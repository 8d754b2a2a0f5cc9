package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// hangGuard bounds every wait on a lectern process. It only turns a hang
// into a failure; nothing asserts on how fast anything is.
const hangGuard = 60 * time.Second

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// lines is a goroutine-safe, waitable record of a stream's lines.
type lines struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    bytes.Buffer
	closed bool
}

func newLines() *lines {
	l := &lines{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.cond.Broadcast()
	return len(p), nil
}

func (l *lines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.cond.Broadcast()
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor blocks until a complete line satisfies match and returns it;
// ok is false when the stream ended without one.
func (l *lines) waitFor(match func(string) bool) (line string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		text := l.buf.String()
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			for line := range strings.SplitSeq(text[:i], "\n") {
				if match(line) {
					return line, true
				}
			}
		}
		if l.closed {
			return "", false
		}
		l.cond.Wait()
	}
}

// logRecord is one JSON log line (LECTERN_LOG_FORMAT=json).
type logRecord map[string]any

func (r logRecord) str(key string) string { s, _ := r[key].(string); return s }

// proc is a running lectern binary.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *lines
	stderr *lines
	exited chan struct{}
	err    error // set before exited is closed
}

// lecternEnv is the environment of a lectern process: env plus PATH and
// HOME, nothing else inherited (in particular no LECTERN_* variable).
func lecternEnv(env map[string]string) []string {
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// startLectern starts the binary with args and env, killing it when the
// test ends if it is still running.
func startLectern(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	return startLecternIn(t, "", env, args...)
}

// startLecternIn is startLectern with dir as the working directory ("" is
// the test's).
func startLecternIn(t *testing.T, dir string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: newLines(), stderr: newLines(), exited: make(chan struct{})}
	p.cmd = exec.Command(testenv.LecternBinary(t), args...)
	p.cmd.Dir = dir
	p.cmd.Env = lecternEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.stdout.close()
		p.stderr.close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("lectern %s stderr:\n%s\nstdout:\n%s", strings.Join(args, " "), p.stderr, p.stdout)
		}
	})
	return p
}

// waitLog waits for a JSON log line with the given message.
func (p *proc) waitLog(msg string) logRecord {
	p.t.Helper()
	type result struct {
		rec logRecord
		ok  bool
	}
	done := make(chan result, 1)
	go func() {
		var rec logRecord
		_, ok := p.stderr.waitFor(func(line string) bool {
			rec = nil
			return json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg
		})
		done <- result{rec, ok}
	}()
	select {
	case r := <-done:
		if !r.ok {
			p.t.Fatalf("lectern exited (%v) without logging %q", p.err, msg)
		}
		return r.rec
	case <-time.After(hangGuard):
		p.t.Fatalf("gave up waiting for the log line %q", msg)
		return nil
	}
}

// waitStdout waits for a line of standard output containing s.
func (p *proc) waitStdout(s string) string {
	p.t.Helper()
	done := make(chan string, 1)
	go func() {
		line, _ := p.stdout.waitFor(func(line string) bool { return strings.Contains(line, s) })
		done <- line
	}()
	select {
	case line := <-done:
		if line == "" {
			p.t.Fatalf("lectern exited (%v) without printing %q", p.err, s)
		}
		return line
	case <-time.After(hangGuard):
		p.t.Fatalf("gave up waiting for %q on stdout", s)
		return ""
	}
}

// ready waits until the process is listening and serving, and returns its
// base URL (on the loopback address it listens on).
func (p *proc) ready() string {
	p.t.Helper()
	base := "http://" + p.waitLog("listening").str("addr")
	p.waitLog("lectern ready")
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		p.t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /healthz: %s", resp.Status)
	}
	return base
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(hangGuard):
		p.t.Fatal("gave up waiting for lectern to exit")
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("lectern: %v", p.err)
	}
	return 0
}

// stop sends SIGTERM and checks that the process exits 0.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		p.t.Fatalf("lectern exited with status %d after SIGTERM, want 0", code)
	}
}

// runLectern runs a command that exits by itself, with stdin as input.
func runLectern(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(testenv.LecternBinary(t), args...)
	cmd.Env = lecternEnv(env)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	timer := time.AfterFunc(hangGuard, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("lectern %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}
