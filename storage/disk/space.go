package disk

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/lectern/lectern"
)

// noSpaceMessage is what a user is told when a write fails because the
// disk is full. It names no path.
const noSpaceMessage = "The server has run out of disk space, so this could not be saved. Please tell your administrator."

// isNoSpace reports a write refused because the filesystem (or the
// user's disk quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// noSpace turns a full-disk error into ENOSPACE, keeping err in the chain
// for the log.
func noSpace(err error) error {
	return fmt.Errorf("%w (%w)", lectern.Errorf(lectern.ENOSPACE, noSpaceMessage), err)
}

// CheckFreeSpace reports an ENOSPACE error, whose message says how much is
// free and names no path, when the filesystem holding dir has less than
// min bytes available to unprivileged writers. min <= 0 turns the check
// off, as does a system where free space cannot be measured. It is the low-disk readiness check of the embedded setup.
func CheckFreeSpace(dir string, min int64) error {
	if min <= 0 {
		return nil
	}
	free, err := FreeSpace(dir)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	if free < min {
		return lectern.Errorf(lectern.ENOSPACE, "low disk space: %s free, below the %s minimum",
			FormatBytes(free), FormatBytes(min))
	}
	return nil
}

// FormatBytes writes a byte count for people, in decimal units as disks
// are sold: "512 B", "3.4 MB", "1.2 GB".
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}
