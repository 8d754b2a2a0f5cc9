//go:build !unix

package transcode

import "os/exec"

// killProcessGroup leaves exec's default: only the process itself is
// killed on cancellation, as there are no process groups to kill.
func killProcessGroup(cmd *exec.Cmd) {}
