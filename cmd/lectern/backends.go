package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/storage/s3"
)

// objectStore is object storage that readiness checks can ping and whose
// abandoned uploads the sweeper removes; both storage implementations
// are.
type objectStore interface {
	lectern.Storage
	Ping(ctx context.Context) error
	RemoveStaleUploads(ctx context.Context, before time.Time, skip string) (int, error)
}

// backends are the services a mode opened: database, object storage and
// queue. Any of them may be nil when opening stopped half-way.
type backends struct {
	DB      *db.DB
	Storage objectStore
	Queue   *jobs.Queue

	storageDesc string
}

// openDB opens the configured database, migrating it when migrate is set.
func openDB(ctx context.Context, cfg *Config, migrate bool) (*db.DB, error) {
	if dir, ok := sqliteDir(cfg.DatabaseURL); ok {
		// SQLite creates the file but not its directory (the data dir on
		// a first start).
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	d, err := db.Open(ctx, cfg.DatabaseURL, lectern.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", describeDatabase(cfg.DatabaseURL), err)
	}
	if migrate {
		if err := d.Migrate(ctx); err != nil {
			d.Close()
			return nil, fmt.Errorf("migrate database %s: %w", describeDatabase(cfg.DatabaseURL), err)
		}
	}
	return d, nil
}

// sqliteDir returns the directory of the file a "sqlite:PATH" URL names.
func sqliteDir(dbURL string) (string, bool) {
	path, ok := strings.CutPrefix(dbURL, "sqlite:")
	if !ok {
		return "", false
	}
	path = strings.TrimPrefix(path, "//")
	path, _, _ = strings.Cut(path, "?")
	if path == "" || path == ":memory:" {
		return "", false
	}
	return filepath.Dir(path), true
}

// openStorage opens S3 when an endpoint is configured, else disk storage
// rooted at the data dir (objects land in <data dir>/objects). It returns a
// description for logs.
func openStorage(ctx context.Context, cfg *Config) (objectStore, string, error) {
	if cfg.S3.Endpoint == "" {
		st, err := disk.New(cfg.DataDir)
		if err != nil {
			return nil, "", fmt.Errorf("open disk storage: %w", err)
		}
		return st, "disk:" + filepath.Join(cfg.DataDir, "objects"), nil
	}
	desc := "s3:" + cfg.S3.Endpoint + "/" + cfg.S3.Bucket
	if cfg.S3.UseSSL {
		desc += " (https)"
	}
	st, err := s3.New(ctx, s3.Config{
		Endpoint:  cfg.S3.Endpoint,
		AccessKey: cfg.S3.AccessKey,
		SecretKey: cfg.S3.SecretKey,
		Bucket:    cfg.S3.Bucket,
		Region:    cfg.S3.Region,
		UseSSL:    cfg.S3.UseSSL,
		PublicURL: cfg.S3.PublicURL,
	})
	if err != nil {
		return nil, "", fmt.Errorf("open storage %s: %w", desc, err)
	}
	return st, desc, nil
}

// openBackends opens the database (migrating it when migrate is set), the
// storage and the queue. On error, what was opened is closed.
func openBackends(ctx context.Context, cfg *Config, migrate bool) (*backends, error) {
	b := &backends{}
	var err error
	if b.DB, err = openDB(ctx, cfg, migrate); err != nil {
		return nil, err
	}
	if b.Storage, b.storageDesc, err = openStorage(ctx, cfg); err != nil {
		b.Close()
		return nil, err
	}
	if b.Queue, err = jobs.OpenQueue(ctx, cfg.RedisURL); err != nil {
		b.Close()
		return nil, fmt.Errorf("open queue %s: %w", queueDesc(cfg.RedisURL), err)
	}
	return b, nil
}

func queueDesc(redisURL string) string {
	if redisURL == "" {
		return "in-process"
	}
	return redactURL(redisURL)
}

// logAttrs describes the services for the start-up log line, without secrets.
func (b *backends) logAttrs(cfg *Config) []any {
	return []any{
		slog.String("database", describeDatabase(cfg.DatabaseURL)),
		slog.String("storage", b.storageDesc),
		slog.String("queue", queueDesc(cfg.RedisURL)),
	}
}

// readyChecks are what /readyz runs: every service a request needs.
func (b *backends) readyChecks() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"db":      b.DB.Ping,
		"storage": b.Storage.Ping,
	}
}

// degradedChecks are the services /readyz names when they fail but that
// the API works without for a while: Redis (uploads are recorded as
// queued and enqueued by the reconciler once it is back; live updates
// pause). An API replica stays in rotation while Redis is away.
func (b *backends) degradedChecks() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{"redis": b.Queue.Ping}
}

// Close closes the queue and the database.
func (b *backends) Close() error {
	var errs []error
	if b.Queue != nil {
		errs = append(errs, b.Queue.Close())
	}
	if b.DB != nil {
		errs = append(errs, b.DB.Close())
	}
	return errors.Join(errs...)
}

// warnMissingTools logs when ffmpeg or ffprobe cannot be found: the worker
// starts anyway (the API is useful without it), but every transcode would fail.
func warnMissingTools(cfg *Config, logger *slog.Logger) {
	for _, tool := range []string{cfg.FFmpeg, cfg.FFprobe} {
		if _, err := exec.LookPath(tool); err != nil {
			logger.Warn("transcoding will fail: tool not found", "tool", tool, "error", err)
		}
	}
}
