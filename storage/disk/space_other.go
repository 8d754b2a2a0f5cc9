//go:build !unix

package disk

import (
	"errors"
	"fmt"
)

// FreeSpace is not implemented off Unix; it reports
// errors.ErrUnsupported, and CheckFreeSpace then checks nothing.
func FreeSpace(dir string) (int64, error) {
	return 0, fmt.Errorf("disk: free space is only measured on Unix systems: %w", errors.ErrUnsupported)
}
