package testenv

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// needRoot names what SmallDisk needs, for the summary of skipped tests.
const needRoot = "root (to mount a small filesystem)"

// SmallDisk mounts a fresh tmpfs of size bytes on a new temporary
// directory and returns its path: a real filesystem that fills up, so that
// a test can see what the OS answers when the disk is full (ENOSPC). It is
// unmounted when the test ends. Mounting needs root (CAP_SYS_ADMIN), as
// the tests and CI run here; without it the test is skipped, or fails
// when LECTERN_TEST_REQUIRE_SERVICES=1.
func SmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	dir := tb.TempDir()
	opts := fmt.Sprintf("size=%d,mode=0700", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		unavailable(tb, needRoot, "testenv: cannot mount a %d-byte tmpfs on %s (uid %d): %v", size, dir, os.Getuid(), err)
	}
	tb.Cleanup(func() {
		// Lazy, so that a file a failed test left open does not keep the
		// mount (and the temporary directory's removal) from finishing.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("testenv: unmount %s: %v", dir, err)
		}
	})
	return dir
}
