//go:build unix

package transcode

import (
	"os/exec"
	"syscall"
)

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
