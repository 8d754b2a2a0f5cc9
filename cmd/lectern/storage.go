package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lectern/lectern/storage/disk"
)

// Storage limits: the settings, the low-disk readiness check and the
// sweeper of abandoned uploads.

func setMinFreeDisk(c *Config, v string) error {
	n, err := parseSizeOrZero(v)
	c.MinFreeDisk = n
	return err
}

func setStorageQuota(c *Config, v string) error {
	n, err := parseSizeOrZero(v)
	c.StorageQuota = n
	return err
}

func setStorageTimeout(c *Config, v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < time.Second || d > 10*time.Second {
		return fmt.Errorf("must be a duration from 1s to 10s, like 8s, got %q", v)
	}
	c.StorageTimeout = d
	return nil
}

// parseSizeOrZero is ParseSize that also takes "0" (off).
func parseSizeOrZero(v string) (int64, error) {
	if strings.TrimSpace(v) == "0" {
		return 0, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("must be 0 or a size in bytes or with a unit like 500MB or 2GiB, got %q", v)
	}
	return n, nil
}

// usesDataDirDisk reports whether the process keeps data that grows on
// the data dir's disk: disk storage (objects and partial uploads) or a
// SQLite database there.
func usesDataDirDisk(cfg *Config) bool {
	_, sqlite := sqliteDir(cfg.DatabaseURL)
	return cfg.S3.Endpoint == "" || sqlite
}

// lowDiskCheck is the readiness check of the data dir's free space.
func lowDiskCheck(cfg *Config) func(context.Context) error {
	dir, min := cfg.DataDir, cfg.MinFreeDisk
	return func(context.Context) error { return disk.CheckFreeSpace(dir, min) }
}

// sweep is one kind of abandoned upload the sweeper removes.
type sweep struct {
	name string
	fn   func(ctx context.Context, before time.Time) (int, error)
}

// uploadSweeper removes abandoned partial uploads: every Interval (and
// once at start), whatever each sweep finds last written more than
// MaxAge ago.
type uploadSweeper struct {
	MaxAge   time.Duration
	Interval time.Duration
	Sweeps   []sweep
	Logger   *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// sweepInterval is how often the sweeper looks: a quarter of the expiry,
// between a second and an hour, unless cfg says otherwise.
func sweepInterval(cfg *Config) time.Duration {
	if cfg.sweepEvery > 0 {
		return cfg.sweepEvery
	}
	return min(max(cfg.UploadExpiry/4, time.Second), time.Hour)
}

// start runs the sweeper in the background until Close.
func (s *uploadSweeper) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Go(func() {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		for {
			s.once(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// once runs every sweep, logging what each removed and any failure.
func (s *uploadSweeper) once(ctx context.Context) {
	before := time.Now().Add(-s.MaxAge)
	for _, sw := range s.Sweeps {
		n, err := sw.fn(ctx, before)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.Logger.Warn("remove abandoned uploads", "kind", sw.name, "removed", n, "error", err)
		} else if n > 0 {
			s.Logger.Info("removed abandoned uploads", "kind", sw.name, "removed", n, "older_than", s.MaxAge)
		}
	}
}

// Close stops the sweeper and waits for a pass in progress.
func (s *uploadSweeper) Close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
}
