//go:build !linux

package testenv

import "testing"

// needRoot names what SmallDisk needs, for the summary of skipped tests.
const needRoot = "Linux and root (to mount a small filesystem)"

// SmallDisk mounts a small tmpfs on Linux (see smalldisk_linux.go); on
// other systems the test is skipped, or fails when
// LECTERN_TEST_REQUIRE_SERVICES=1.
func SmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	unavailable(tb, needRoot, "testenv: small filesystems are mounted on Linux only")
	return ""
}
