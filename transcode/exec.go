package transcode

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// waitDelay bounds how long Wait waits for a killed process's pipes to
// close: ffmpeg children holding them must not keep a worker busy.
const waitDelay = 5 * time.Second

// command is one ffmpeg or ffprobe run.
type command struct {
	op   string   // the step, for errors: "probe", "encode", "poster", …
	bin  string   // executable
	args []string // arguments, never through a shell
	// dir is the directory the command writes into, writable in the
	// sandbox; "" for one that only reads (the probe).
	dir string
	// memory is the address space the process may use; 0 is
	// Resources.FFmpegMemory.
	memory int64
	// inputs, when set, are the files and directories a program other
	// than ffmpeg reads (the speech recognizer); nil means the inputs are
	// ffmpeg's, found and checked in args (checkedInputs).
	inputs []string
	// stdout, when set, reads the process's standard output until EOF in
	// the calling goroutine.
	stdout func(io.Reader) error
	// nice, when above 0, lowers the process's CPU priority (its whole
	// process group, every thread) by that much.
	nice int
}

// result is what a finished command left behind.
type result struct {
	stderr *tailBuffer
}

// run executes c in its own process group, killed as a whole when ctx ends.
// A failed run returns the context's error when ctx ended, else a
// *RunError carrying the tail of stderr, together with the result so the
// caller can look for a known cause in stderr. The RunError is wrapped in
// a *SetupError when the program cannot be started at all (missing, not
// executable) or ffmpeg lacks an encoder it was asked for.
func (p *Pipeline) run(ctx context.Context, c command) (result, error) {
	res := result{stderr: newTailBuffer(64 << 10)}
	l, err := p.confine(ctx, c)
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, l.name, l.args...)
	cmd.Dir = l.dir
	cmd.Env = childEnv(l.dir)
	cmd.Stderr = res.stderr
	cmd.WaitDelay = waitDelay
	killProcessGroup(cmd)
	p.logger().DebugContext(ctx, "transcode: run", "op", c.op, "cmd", l.name+" "+strings.Join(l.args, " "))

	var stdout io.ReadCloser
	if c.stdout != nil {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return res, fmt.Errorf("%s: %w", c.op, err)
		}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, setupIfMissing(&RunError{Op: c.op, Err: err})
	}
	if l.limitAfterStart {
		if err := setLimits(cmd.Process.Pid, l.limits); err != nil {
			p.logger().WarnContext(ctx, "transcode: set resource limits", "op", c.op, "error", err)
		}
	}
	if c.nice > 0 {
		if err := lowerPriority(cmd.Process.Pid, c.nice); err != nil {
			p.logger().WarnContext(ctx, "transcode: lower CPU priority", "op", c.op, "error", err)
		}
	}
	var readErr error
	if stdout != nil {
		readErr = c.stdout(stdout)
		// Drain whatever is left so ffmpeg never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}
	err = cmd.Wait()
	p.logger().DebugContext(ctx, "transcode: ran", "op", c.op, "took", time.Since(start),
		"max_rss_bytes", maxRSS(cmd.ProcessState), "exit", cmd.ProcessState.String())
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s: %w", c.op, context.Cause(ctx))
	}
	if err != nil {
		re := &RunError{Op: c.op, Err: err, Stderr: res.stderr.Lines(tailLines)}
		if missingEncoder(re.Stderr) {
			return res, &SetupError{Err: re}
		}
		return res, re
	}
	if readErr != nil {
		return res, fmt.Errorf("%s: read output: %w", c.op, readErr)
	}
	return res, nil
}
