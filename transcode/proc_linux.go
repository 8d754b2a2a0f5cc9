//go:build linux

package transcode

import "syscall"

// dieWithParent has the kernel kill the child when the worker dies, even
// by SIGKILL: ffmpeg runs in a process group of its own, so nothing else
// would stop an encode nobody will collect. (The signal follows the exit
// of the OS thread that started the child; Go only ends threads that a
// goroutine left locked, which nothing here does.)
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
