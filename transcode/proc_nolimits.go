//go:build !linux

package transcode

import "os"

// Resource limits are set on Linux only: elsewhere ffmpeg runs unbounded.

func clampLimits(ls []rlimit) []rlimit     { return ls }
func setLimits(pid int, ls []rlimit) error { return nil }
func maxRSS(ps *os.ProcessState) int64     { return 0 }

const rlimitsSupported = false
