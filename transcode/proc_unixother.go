//go:build unix && !linux

package transcode

import "syscall"

// dieWithParent does nothing where the kernel cannot signal a child when
// its parent dies: a killed worker leaves its ffmpeg to finish.
func dieWithParent(*syscall.SysProcAttr) {}
