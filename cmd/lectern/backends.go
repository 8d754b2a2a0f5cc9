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

	"github.com/hibiken/asynq"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/storage/s3"
	"github.com/lectern/lectern/transcode"
)

// objectStore is object storage that readiness checks can ping; both
// storage implementations are.
type objectStore interface {
	lectern.Storage
	Ping(ctx context.Context) error
}

// backends are the services a mode opened: database, object storage and
// queue. Any of them may be nil when opening stopped half-way.
type backends struct {
	DB      *db.DB
	Storage objectStore
	Queue   *Queue

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
	if b.Queue, err = OpenQueue(ctx, cfg.RedisURL); err != nil {
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
		slog.String("queue", b.Queue.String()),
	}
}

// readyChecks are what /readyz runs: every service a request may need.
func (b *backends) readyChecks() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"db":      b.DB.Ping,
		"redis":   b.Queue.Ping,
		"storage": b.Storage.Ping,
	}
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

// requeueUnfinishedLessons is the start-up hook that makes the database the
// source of truth for jobs: it enqueues the transcode of every lesson whose
// current attempt's job is queued or running, so that a restart (which
// empties the in-process queue), a lost Redis or an upload whose enqueue
// failed loses nothing. A task still in the queue (pending, retrying or
// running on another worker) is left alone: the queue refuses its task ID
// again. One the queue has finished with although the job is unfinished
// (archived or completed while the database could not be told) is
// replaced, so the transcode runs again.
func requeueUnfinishedLessons(ctx context.Context, d *db.DB, q *Queue, logger *slog.Logger) error {
	jobs, err := d.FindUnfinishedJobs(ctx)
	if err != nil {
		return fmt.Errorf("requeue unfinished transcodes: %w", err)
	}
	var requeued, queued int
	for _, j := range jobs {
		task, err := transcode.NewTranscodeTask(transcode.TranscodePayload{LessonID: j.LessonID, JobID: j.ID, Attempt: j.Attempt})
		if err != nil {
			return fmt.Errorf("requeue transcode of lesson %s: %w", j.LessonID, err)
		}
		switch done, err := enqueueOrReplace(ctx, q, task, j.TaskID); {
		case err != nil:
			return fmt.Errorf("requeue transcode of lesson %s: %w", j.LessonID, err)
		case done:
			requeued++
		default:
			queued++
		}
	}
	if len(jobs) > 0 {
		logger.Info("unfinished transcodes", "requeued", requeued, "still_queued", queued)
	}
	return nil
}

// enqueueOrReplace enqueues task under taskID. When the queue still holds
// a task with that ID, it is kept (false) unless the queue is done with it
// (archived or completed), in which case it is replaced (true).
func enqueueOrReplace(ctx context.Context, q *Queue, task *asynq.Task, taskID string) (bool, error) {
	_, err := q.Client.EnqueueContext(ctx, task)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err == nil, err
	}
	info, err := q.Inspector.GetTaskInfo(transcode.QueueTranscode, taskID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Gone since the conflict: the queue's janitor removed it.
	case err != nil:
		return false, fmt.Errorf("inspect task %s: %w", taskID, err)
	case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
		return false, nil
	default:
		err := q.Inspector.DeleteTask(transcode.QueueTranscode, taskID)
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete finished task %s: %w", taskID, err)
		}
	}
	if _, err := q.Client.EnqueueContext(ctx, task); err != nil {
		return false, err
	}
	return true, nil
}
