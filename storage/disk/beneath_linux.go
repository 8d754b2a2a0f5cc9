package disk

import (
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// openat2Missing is set once openat2 has been refused (a kernel before
// 5.6, or a seccomp filter that does not know it); OpenFile then stays
// with os.Root.
var openat2Missing atomic.Bool

// openBeneath opens name, relative to dir, for reading with one openat2
// call that the kernel confines to dir (RESOLVE_BENEATH: no "..", absolute
// path or symlink leads out), the containment os.Root gives with an
// openat per path component. ok is false when openat2 is not available;
// the caller then opens through os.Root.
func openBeneath(dir *os.File, name string) (f *os.File, ok bool, err error) {
	if dir == nil || openat2Missing.Load() {
		return nil, false, nil
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(int(dir.Fd()), name, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), name), true, nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			openat2Missing.Store(true)
			return nil, false, nil
		}
		return nil, true, &os.PathError{Op: "openat2", Path: name, Err: err}
	}
}
