//go:build linux

package transcode

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dieWithParent has the kernel kill the child when the worker dies, even
// by SIGKILL: ffmpeg runs in a process group of its own, so nothing else
// would stop an encode nobody will collect. (The signal follows the exit
// of the OS thread that started the child; Go only ends threads that a
// goroutine left locked, which nothing here does.)
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// resource is the kernel's number for a limit named as prlimit names it.
func resource(name string) int {
	switch name {
	case "as":
		return unix.RLIMIT_AS
	case "cpu":
		return unix.RLIMIT_CPU
	case "fsize":
		return unix.RLIMIT_FSIZE
	case "nofile":
		return unix.RLIMIT_NOFILE
	case "core":
		return unix.RLIMIT_CORE
	}
	return -1
}

// clampLimits lowers each limit to the worker's own hard limit: an
// unprivileged process cannot raise a hard limit, and prlimit would then
// refuse to start ffmpeg at all.
func clampLimits(ls []rlimit) []rlimit {
	out := make([]rlimit, len(ls))
	for i, l := range ls {
		var cur unix.Rlimit
		if err := unix.Getrlimit(resource(l.name), &cur); err == nil && cur.Max != unix.RLIM_INFINITY {
			l.hard = min(l.hard, cur.Max)
			l.soft = min(l.soft, l.hard)
		}
		out[i] = l
	}
	return out
}

// setLimits sets ls on the running process pid. It is the fallback where
// util-linux's prlimit is not installed: the process has then run for a
// moment without them.
func setLimits(pid int, ls []rlimit) error {
	for _, l := range ls {
		if err := unix.Prlimit(pid, resource(l.name), &unix.Rlimit{Cur: l.soft, Max: l.hard}, nil); err != nil {
			return err
		}
	}
	return nil
}

// rlimitsSupported: resource limits are set on Linux.
const rlimitsSupported = true

// maxRSS is the peak resident memory of a finished process and of the
// processes it waited for, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}
