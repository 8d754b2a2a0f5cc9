package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// How ffmpeg and ffprobe are confined (docs/operations.md, "How ffmpeg is
// confined"): every run gets a minimal environment (childEnv), resource
// limits (Resources), inputs that are local files read through both
// allowlists (checkedInputs) and, where bubblewrap is installed and
// allowed to make namespaces, no network and a view of the file system
// reduced to the system's programs and libraries plus the job's own files
// (Sandbox).

// childEnv is the whole environment of an ffmpeg or ffprobe run whose
// job works in dir: nothing of the worker's own (its secrets, database
// URL and storage keys live there) reaches ffmpeg, which has no use for
// them; HOME and TMPDIR point into the job's directory.
func childEnv(dir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + dir, "LANG=C"}
}

// checkedInputs returns the files args opens as inputs ("-i file:PATH"),
// after checking that each is an absolute local path opened with both
// allowlists among its options: -protocol_whitelist file (no network, no
// pipes, nothing but files) and a -format_whitelist (no playlist demuxer
// that would open further files or URLs). Every ffmpeg and ffprobe run
// passes through it, so an input without them is a bug that fails the job
// as a set-up error rather than a risk.
func checkedInputs(args []string) ([]string, error) {
	var files []string
	protocol, format := false, false
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-protocol_whitelist":
			protocol = args[i+1] == "file"
		case "-format_whitelist":
			format = args[i+1] != ""
		case "-i":
			path, ok := strings.CutPrefix(args[i+1], "file:")
			if !ok || !filepath.IsAbs(path) {
				return nil, fmt.Errorf("input %q is not a file: URL with an absolute path", args[i+1])
			}
			if !protocol || !format {
				return nil, fmt.Errorf("input %s is opened without -protocol_whitelist file and a -format_whitelist", path)
			}
			files = append(files, path)
			protocol, format = false, false
			i++
		}
	}
	return files, nil
}

// launch is how one command starts: the program and its arguments
// (prlimit and bwrap in front of ffmpeg, where they are used), the job's
// directory it runs in, and its limits, which run sets just after the
// start when nothing in front of ffmpeg does.
type launch struct {
	name            string
	args            []string
	dir             string
	limits          []rlimit
	limitAfterStart bool
}

// confine works out how c is started: its program resolved (so that a
// missing one is reported as missing, whatever runs in front of it), its
// inputs checked, its limits, its sandbox.
func (p *Pipeline) confine(ctx context.Context, c command) (launch, error) {
	bin, err := exec.LookPath(c.bin)
	if err != nil {
		return launch{}, setupIfMissing(&RunError{Op: c.op, Err: err})
	}
	inputs := c.inputs
	if inputs == nil {
		if inputs, err = checkedInputs(c.args); err != nil {
			return launch{}, setupErrorf("%s: %v", c.op, err)
		}
	}
	// The job's directory: the output directory, else the input's.
	l := launch{name: bin, args: c.args, dir: c.dir}
	if l.dir == "" && len(inputs) > 0 {
		l.dir = filepath.Dir(inputs[0])
	}
	if l.dir == "" {
		l.dir = os.TempDir()
	}
	memory := c.memory
	if memory <= 0 {
		memory = p.Resources.withDefaults().FFmpegMemory
	}
	l.limits = clampLimits(p.Resources.rlimits(ctx, memory))
	if p.Sandbox != nil {
		// Its real place is what the sandbox must show.
		if real, err := filepath.EvalSymlinks(bin); err == nil {
			bin = real
		}
		l.args = append(append(p.Sandbox.args(bin, inputs, c.dir, l.dir), bin), l.args...)
		l.name = p.Sandbox.Bwrap
	}
	var limited bool
	l.name, l.args, limited = withLimits(l.name, l.args, l.limits)
	l.limitAfterStart = !limited && rlimitsSupported
	return l, nil
}

// withLimits returns the program to start to run name with args under
// limits, and whether that sets them: util-linux's prlimit in front where
// it is installed, so that the limits hold from the first instruction
// (and pass to what bwrap starts); else name itself, whose limits run
// sets just after it starts.
func withLimits(name string, args []string, limits []rlimit) (string, []string, bool) {
	if !rlimitsSupported {
		return name, args, false
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return name, args, false
	}
	return prlimit, append(append(prlimitArgs(limits), name), args...), true
}

// Sandbox runs ffmpeg and ffprobe under bubblewrap (bwrap): in a network
// namespace of their own, where there is no network at all, and with a
// file system of the system's programs and libraries (read-only), the
// run's input files (read-only) and its output directory (writable); the
// worker's data directory, other jobs' files and /tmp are not there.
// A nil *Sandbox runs them directly. Use DetectSandbox to make one.
type Sandbox struct {
	// Bwrap is the bwrap executable.
	Bwrap string
}

// sandboxCheckTimeout bounds DetectSandbox's trial run.
const sandboxCheckTimeout = 20 * time.Second

// Sandbox modes, as LECTERN_FFMPEG_SANDBOX takes them.
const (
	// SandboxAuto uses bwrap when it is installed and works, and logs
	// why not otherwise.
	SandboxAuto = "auto"
	// SandboxRequired fails when bwrap is missing or does not work.
	SandboxRequired = "bwrap"
	// SandboxOff never uses bwrap.
	SandboxOff = "off"
)

// DetectSandbox returns the sandbox to run ffmpeg (at path ffmpeg) under,
// according to mode: with SandboxAuto, one when bwrap is on PATH and can
// run ffmpeg without network here (a container may forbid the namespaces
// it needs), else nil after logging a warning that says why; with
// SandboxRequired, an error in that case; with SandboxOff, nil.
func DetectSandbox(ctx context.Context, mode, ffmpeg string, log *slog.Logger) (*Sandbox, error) {
	if mode == SandboxOff {
		log.Info("ffmpeg runs without a sandbox (LECTERN_FFMPEG_SANDBOX=off): it shares the worker's network")
		return nil, nil
	}
	sb, err := trySandbox(ctx, ffmpeg)
	if err == nil {
		log.Info("ffmpeg runs under bubblewrap, without network", "bwrap", sb.Bwrap)
		return sb, nil
	}
	if mode == SandboxRequired {
		return nil, err
	}
	log.Warn("ffmpeg runs without a sandbox: it shares the worker's network (its allowlists still keep it to local files)",
		"reason", err.Error())
	return nil, nil
}

// trySandbox finds bwrap and runs "ffmpeg -version" under it.
func trySandbox(ctx context.Context, ffmpeg string) (*Sandbox, error) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, errors.New("bwrap is not installed (Debian and Ubuntu: apt-get install bubblewrap)")
	}
	if _, err := exec.LookPath("prlimit"); err != nil && rlimitsSupported {
		// Set after start, limits would miss what bwrap has already started.
		return nil, errors.New("prlimit (util-linux) is not installed, and without it the resource limits would not reach ffmpeg under bwrap")
	}
	bin, err := exec.LookPath(ffmpeg)
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	sb := &Sandbox{Bwrap: bwrap}
	ctx, cancel := context.WithTimeout(ctx, sandboxCheckTimeout)
	defer cancel()
	dir := os.TempDir()
	cmd := exec.CommandContext(ctx, bwrap, append(sb.args(bin, nil, "", dir), bin, "-hide_banner", "-version")...)
	cmd.Env = childEnv(dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bwrap cannot run ffmpeg here (%v): %s", err, firstLine(string(out)))
	}
	return sb, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// args are bwrap's arguments, up to and including "--", to run bin with
// read-only inputs and, when writable is set, that directory writable,
// starting in dir.
func (s *Sandbox) args(bin string, inputs []string, writable, dir string) []string {
	args := []string{
		// No network: a namespace with nothing in it, not even loopback up.
		"--unshare-net", "--unshare-ipc",
		"--die-with-parent",
		"--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr",
	}
	// Merged-/usr systems link these into /usr; older ones have them.
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if target, err := os.Readlink(d); err == nil {
			args = append(args, "--symlink", target, d)
		} else if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			args = append(args, "--ro-bind", d, d)
		}
	}
	// What the dynamic linker reads (Debian links some libraries through
	// /etc/alternatives); nothing else of /etc.
	for _, f := range []string{"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"} {
		args = append(args, "--ro-bind-try", f, f)
	}
	args = append(args, "--dev", "/dev", "--tmpfs", "/tmp")
	if d := filepath.Dir(bin); !strings.HasPrefix(d, "/usr/") {
		args = append(args, "--ro-bind", d, d)
	}
	// The output directory first: an input inside it stays read-only.
	if writable != "" {
		args = append(args, "--bind", writable, writable)
	}
	for _, in := range inputs {
		args = append(args, "--ro-bind", in, in)
	}
	return append(args, "--chdir", dir, "--")
}
