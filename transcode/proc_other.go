//go:build !unix

package transcode

import "os/exec"

// lowerPriority does nothing: there are no process groups to lower.
func lowerPriority(pid, n int) error { return nil }

// killProcessGroup leaves exec's default: only the process itself is
// killed on cancellation, as there are no process groups to kill.
func killProcessGroup(cmd *exec.Cmd) {}
