//go:build !linux

package disk

import "os"

// openBeneath is for Linux only (openat2); elsewhere OpenFile opens
// through os.Root.
func openBeneath(*os.File, string) (*os.File, bool, error) { return nil, false, nil }
