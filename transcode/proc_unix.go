//go:build unix

package transcode

import (
	"os/exec"
	"syscall"
)

// lowerPriority sets the nice value of the process group led by pid
// (ffmpeg, or the sandbox around it) to n: every thread there is then,
// and the threads they start later inherit it. It runs right after the
// start, while ffmpeg is still reading its input.
func lowerPriority(pid, n int) error {
	return syscall.Setpriority(syscall.PRIO_PGRP, pid, n)
}

// killProcessGroup starts cmd in a process group of its own and makes
// cancellation kill the whole group, so that nothing ffmpeg spawned
// outlives the job; where the kernel can, cmd is also killed when the
// worker dies without canceling it (dieWithParent).
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
