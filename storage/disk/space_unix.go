//go:build unix

package disk

import (
	"fmt"
	"syscall"
)

// FreeSpace returns the bytes available to unprivileged writers on the
// filesystem that holds dir.
func FreeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("disk: free space: %w", err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // field types differ by OS
}
