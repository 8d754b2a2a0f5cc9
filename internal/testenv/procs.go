package testenv

import (
	"os"
	"strconv"
	"sync"
	"time"
)

// WatchProcesses calls visit with the pid and command line of every
// process in /proc, about every interval, from one goroutine, until the
// returned stop is called; stop returns once visit no longer runs. Tests
// use it to catch short-lived children (ffmpeg) while they run.
func WatchProcesses(every time.Duration, visit func(pid int, cmdline []byte)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				pid, err := strconv.Atoi(e.Name())
				if err != nil {
					continue
				}
				if cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil {
					visit(pid, cmdline)
				}
			}
			select {
			case <-done:
				return
			case <-time.After(every):
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
