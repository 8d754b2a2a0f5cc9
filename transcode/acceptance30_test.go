package transcode

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// workerSecrets are what a scaled worker's environment holds (the signing
// key, the admin's password, the database URL, the storage keys); none may
// reach ffmpeg.
var workerSecrets = map[string]string{
	"LECTERN_ADMIN_PASSWORD": "admin-password-canary-7f3a",
	"LECTERN_SECRET":         "signing-secret-canary-0c9d2e7b5a41f6c3d8e9b0a1",
	"LECTERN_DATABASE_URL":   "postgres://lectern:db-password-canary-51e0@db:5432/lectern",
	"LECTERN_S3_ACCESS_KEY":  "s3-access-canary-9b2c",
	"LECTERN_S3_SECRET_KEY":  "s3-secret-canary-44d1",
	"AWS_SECRET_ACCESS_KEY":  "aws-secret-canary-e8a0",
}

// RELIABILITY 30: while the worker's environment holds secrets, every
// ffmpeg and ffprobe of a transcode (probe, encode, poster, thumbnails),
// read from /proc/PID while it runs, has only PATH, HOME and TMPDIR (in
// the job's directory) and LANG=C in its environment (and under bwrap
// PWD, the job's directory); runs under its
// resource limits (address space, CPU time, file size, open files, no
// core); and, under bubblewrap, in a network namespace of its own that
// sees no file of the worker's. A program run the same way cannot reach
// a canary listening on loopback, which it reaches without the sandbox.
func TestAcceptance30_FFmpegConfined(t *testing.T) {
	for k, v := range workerSecrets {
		t.Setenv(k, v)
	}
	p := newPipeline(t)
	testenv.Bwrap(t)
	sb, err := DetectSandbox(context.Background(), SandboxRequired, p.ffmpeg(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("bwrap is installed but cannot run ffmpeg: %v", err)
	}
	clip := makeClip(t, p, "lesson.mp4",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=20",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=20",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")

	for _, tt := range []struct {
		name    string
		sandbox *Sandbox
	}{{"Sandboxed", sb}, {"WithoutSandbox", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			p := *p
			p.Sandbox = tt.sandbox
			job := t.TempDir()
			procs := transcodeWatched(t, &p, clip, job)
			seen := map[string]bool{}
			for _, pr := range procs {
				seen[pr.op] = true
				checkConfined(t, &p, pr, job)
			}
			for _, op := range []string{"probe", "encode", "poster", "thumbnails"} {
				if !seen[op] {
					t.Errorf("no running %s process was seen; seen %v", op, seen)
				}
			}
			t.Logf("%d ffmpeg/ffprobe processes read while running: %v", len(procs), seen)
		})
	}

	t.Run("NoNetwork", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addr := ln.Addr().(*net.TCPAddr)
		connect := command{op: "canary", bin: "/bin/bash", args: []string{"-c", "exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(addr.Port)}}
		for _, tt := range []struct {
			name    string
			sandbox *Sandbox
			reached bool
		}{{"WithoutSandbox", nil, true}, {"Sandboxed", sb, false}} {
			p := *p
			p.Sandbox = tt.sandbox
			_, runErr := p.run(context.Background(), connect)
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(500 * time.Millisecond))
			c, err := ln.Accept()
			if c != nil {
				c.Close()
			}
			if reached := err == nil; reached != tt.reached {
				t.Errorf("%s: the canary on %s was reached: %v, want %v (run: %v)", tt.name, ln.Addr(), reached, tt.reached, runErr)
			}
			// The program did run and try: its connection failed.
			var re *RunError
			if !tt.reached && (!errors.As(runErr, &re) || !strings.Contains(re.Stderr, "connect:")) {
				t.Errorf("%s: run = %v; want bash's own failure to connect", tt.name, runErr)
			}
		}
	})
}

// proc is what was read of a running ffmpeg or ffprobe.
type proc struct {
	pid            int
	op, exe        string
	env            []string
	limits, netns  string
	sawJobFiles    bool
	sawWorkerFiles bool
}

// transcodeWatched probes, encodes and makes the images of clip in the
// job directory job, as the handler does, while a watcher reads every
// ffmpeg and ffprobe process that works on job from /proc.
func transcodeWatched(t *testing.T, p *Pipeline, clip, job string) []proc {
	t.Helper()
	input := filepath.Join(job, "source")
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(job, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stop := watchProcs(job)
	src, err := p.Probe(ctx, input)
	if err == nil {
		_, err = p.Encode(ctx, src, input, out, PlanLadder(src), nil)
	}
	if err == nil {
		_, err = p.Images(ctx, src, input, out)
	}
	procs := stop()
	if err != nil {
		t.Fatalf("transcode: %v", err)
	}
	return procs
}

// watchProcs reads every ffmpeg and ffprobe process whose command line
// names job from /proc, until the returned function is called; it
// returns one reading per process.
func watchProcs(job string) func() []proc {
	found := map[int]proc{}
	stop := testenv.WatchProcesses(time.Millisecond, func(pid int, cmdline []byte) {
		if _, known := found[pid]; known || !bytes.Contains(cmdline, []byte(job)) {
			return
		}
		if pr, ok := readProc(pid, job, cmdline); ok {
			found[pid] = pr
		}
	})
	return func() []proc {
		stop()
		var out []proc
		for _, pr := range found {
			out = append(out, pr)
		}
		return out
	}
}

// readProc reads process pid, whose command line is cmdline, when it is
// an ffmpeg or ffprobe.
func readProc(pid int, job string, cmdline []byte) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	exe, err := os.Readlink(dir + "/exe")
	if err != nil || (filepath.Base(exe) != "ffmpeg" && filepath.Base(exe) != "ffprobe") {
		return proc{}, false
	}
	environ, err1 := os.ReadFile(dir + "/environ")
	limits, err2 := os.ReadFile(dir + "/limits")
	netns, err3 := os.Readlink(dir + "/ns/net")
	if err1 != nil || err2 != nil || err3 != nil {
		return proc{}, false // gone meanwhile
	}
	pr := proc{pid: pid, exe: exe, limits: string(limits), netns: netns, op: opOf(exe, string(cmdline))}
	for kv := range strings.SplitSeq(strings.TrimRight(string(environ), "\x00"), "\x00") {
		pr.env = append(pr.env, kv)
	}
	// Its view of the file system: the job's source, and a file of the
	// worker's it has no business with.
	_, err = os.Stat(dir + "/root" + filepath.Join(job, "source"))
	pr.sawJobFiles = err == nil
	_, err = os.Stat(dir + "/root/etc/passwd")
	pr.sawWorkerFiles = err == nil
	return pr, true
}

// opOf names the pipeline step a command line belongs to.
func opOf(exe, cmdline string) string {
	switch {
	case filepath.Base(exe) == "ffprobe":
		return "probe"
	case strings.Contains(cmdline, "-progress"):
		return "encode"
	case strings.Contains(cmdline, "%06d.jpg"):
		return "thumbnails"
	case strings.Contains(cmdline, PosterFile):
		return "poster"
	}
	return "other"
}

// checkConfined checks one running process against what Lectern sets.
func checkConfined(t *testing.T, p *Pipeline, pr proc, job string) {
	t.Helper()
	var keys []string
	for _, kv := range pr.env {
		k, v, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
		for name, secret := range workerSecrets {
			if strings.Contains(v, secret) {
				t.Errorf("%s (pid %d): %s carries the worker's %s", pr.op, pr.pid, k, name)
			}
		}
		if (k == "HOME" || k == "TMPDIR" || k == "PWD") && !strings.HasPrefix(v, job) {
			t.Errorf("%s (pid %d): %s=%s, want a directory of the job (%s)", pr.op, pr.pid, k, v, job)
		}
		if k == "LANG" && v != "C" {
			t.Errorf("%s (pid %d): LANG=%s, want C", pr.op, pr.pid, v)
		}
	}
	// bwrap adds PWD, the directory it starts ffmpeg in: the job's.
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "PWD" && p.Sandbox != nil })
	slices.Sort(keys)
	if want := []string{"HOME", "LANG", "PATH", "TMPDIR"}; !slices.Equal(keys, want) {
		t.Errorf("%s (pid %d): environment has %v, want only %v", pr.op, pr.pid, keys, want)
	}

	r := p.Resources.withDefaults()
	memory := r.FFmpegMemory
	if pr.op == "probe" {
		memory = r.ProbeMemory
	}
	wantLimits := map[string]string{
		"Max address space":  strconv.FormatInt(memory, 10),
		"Max file size":      strconv.FormatInt(r.MaxFileSize, 10),
		"Max open files":     strconv.Itoa(r.MaxOpenFiles),
		"Max core file size": "0",
		"Max cpu time":       "", // at most the 5-minute deadline on every CPU
	}
	seen := 0
	for _, line := range strings.Split(pr.limits, "\n") {
		for name, want := range wantLimits {
			if !strings.HasPrefix(line, name+" ") {
				continue
			}
			seen++
			soft := strings.Fields(strings.TrimPrefix(line, name))[0]
			switch {
			case name == "Max cpu time":
				secs, err := strconv.Atoi(soft)
				if limit := 5*60*runtime.NumCPU() + cpuSlack; err != nil || secs <= 0 || secs > limit {
					t.Errorf("%s (pid %d): CPU time limit %q, want at most %d s", pr.op, pr.pid, soft, limit)
				}
			case soft != want:
				t.Errorf("%s (pid %d): %s %q, want %s", pr.op, pr.pid, name, soft, want)
			}
		}
	}

	if seen != len(wantLimits) {
		t.Errorf("%s (pid %d): read %d of the %d limits from:\n%s", pr.op, pr.pid, seen, len(wantLimits), pr.limits)
	}

	own, _ := os.Readlink("/proc/self/ns/net")
	if sandboxed := p.Sandbox != nil; sandboxed != (pr.netns != own) {
		t.Errorf("%s (pid %d): network namespace %s, the worker's %s; sandboxed: %v", pr.op, pr.pid, pr.netns, own, sandboxed)
	}
	if p.Sandbox != nil && (!pr.sawJobFiles || pr.sawWorkerFiles) {
		t.Errorf("%s (pid %d): sees the job's source: %v, /etc/passwd: %v; want only the job's files", pr.op, pr.pid, pr.sawJobFiles, pr.sawWorkerFiles)
	}
}
