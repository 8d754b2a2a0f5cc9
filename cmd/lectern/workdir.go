package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// staleWorkAge is the age past which a transcode's working directory can
// only be what a crashed or killed worker left: no task may run that long
// (see the jobs package's transcode task's timeout).
const staleWorkAge = 24 * time.Hour

// prepareWorkDir creates dir, where transcodes make their working
// directories, and removes those left there more than staleWorkAge before
// now. Younger ones may belong to another worker sharing the data dir.
func prepareWorkDir(dir string, now time.Time, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create transcode work directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list transcode work directory: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < staleWorkAge {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(path); err != nil {
			logger.Warn("remove stale transcode work directory", "dir", path, "error", err)
			continue
		}
		logger.Info("removed stale transcode work directory", "dir", path)
	}
	return nil
}
