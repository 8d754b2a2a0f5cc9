package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/transcode"
)

// workDirName is the directory under the data dir where transcodes make
// their working directories; storage/disk owns <data dir>/tmp and
// <data dir>/objects.
const workDirName = "work"

// process is what a running mode owns. ServeMain, APIMain and WorkerMain
// embed it; each Run opens what its mode needs, and Close shuts down
// whatever was started, in any state.
type process struct {
	Config Config
	Logger *slog.Logger
	// Stdout receives the one-time first-admin banner.
	Stdout io.Writer

	backends *backends
	http     *httpServer
	api      *server.Server
	events   events.Bus // the API's live update bus, closed after the API
	worker   *jobs.Worker
	// captions runs automatic captions, on worker slots of its own, when
	// a speech recognizer is configured.
	captions *jobs.Worker
	url      string

	// metrics is the process's registry, served at /metrics.
	metrics *prometheus.Registry
	// metricsHTTP serves /metrics and /healthz on LECTERN_METRICS_ADDR.
	metricsHTTP *httpServer
	// enqueue puts transcodes on the queue their recordings call for.
	enqueue *jobs.Client
	// queueUI is asynqmon, served to admins at /admin/queues.
	queueUI *jobs.QueueUI
	// reconciler runs beside the worker.
	reconciler *jobs.Reconciler
	// sweeper removes abandoned partial uploads beside the API (storage.go).
	sweeper *uploadSweeper
	// transcodes is set in modes that run the worker: /readyz then also
	// checks that ffmpeg and ffprobe are found.
	transcodes bool
}

// URL is where the HTTP server can be reached (the public URL), once Run
// has started it.
func (p *process) URL() string { return p.url }

// Addr is the address the HTTP server listens on, once Run has started it.
func (p *process) Addr() string {
	if p.http == nil {
		return ""
	}
	return p.http.Addr().String()
}

// Err delivers a failure of the HTTP server after start-up.
func (p *process) Err() <-chan error {
	if p.http == nil {
		return nil
	}
	return p.http.errc
}

// Close stops the process: the HTTP server and the worker together, each
// given Config.ShutdownTimeout to let requests and tasks in flight finish
// (unfinished tasks go back to the queue), then the API server's work in
// progress (batched heartbeats), then the queue and the database.
func (p *process) Close() error {
	var (
		wg              sync.WaitGroup
		httpErr, apiErr error
	)
	if h := p.http; h != nil {
		wg.Go(func() { httpErr = h.shutdown(p.Config.ShutdownTimeout, p.Logger) })
	}
	if w := p.worker; w != nil {
		wg.Go(w.Shutdown)
	}
	if w := p.captions; w != nil {
		wg.Go(w.Shutdown)
	}
	wg.Wait()
	p.http, p.worker, p.captions = nil, nil, nil
	if m := p.metricsHTTP; m != nil {
		httpErr = errors.Join(httpErr, m.shutdown(p.Config.ShutdownTimeout, p.Logger))
		p.metricsHTTP = nil
	}
	if p.reconciler != nil {
		p.reconciler.Close()
		p.reconciler = nil
	}
	if p.sweeper != nil {
		p.sweeper.Close()
		p.sweeper = nil
	}
	if p.queueUI != nil {
		_ = p.queueUI.Close()
		p.queueUI = nil
	}
	if p.api != nil {
		apiErr = p.api.Close()
		p.api = nil
	}
	if p.events != nil {
		apiErr = errors.Join(apiErr, p.events.Close())
		p.events = nil
	}
	var closeErr error
	if p.backends != nil {
		closeErr = p.backends.Close()
		p.backends = nil
	}
	return errors.Join(httpErr, apiErr, closeErr)
}

// open opens the backends and logs what the process runs on.
func (p *process) open(ctx context.Context, migrate bool, attrs ...any) error {
	b, err := openBackends(ctx, &p.Config, migrate)
	if err != nil {
		return err
	}
	p.backends = b
	p.metrics = newRegistry(b.Queue, b.DB, p.Logger)
	p.enqueue = &jobs.Client{Queue: b.Queue, DB: b.DB, Storage: b.Storage, Logger: p.Logger,
		HeartbeatEvery: p.Config.HeartbeatInterval, JobDeadline: p.Config.JobDeadline}
	if err := p.startMetricsHTTP(); err != nil {
		return err
	}
	p.Logger.Info("lectern starting", append(attrs, b.logAttrs(&p.Config)...)...)
	return nil
}

// startHTTP listens, builds the API server, makes sure the first admin
// exists (generating one with a banner when generateAdmin is set), then
// serves.
func (p *process) startHTTP(ctx context.Context, generateAdmin bool) error {
	cfg := &p.Config
	secret, generated, err := cfg.signingSecret()
	if err != nil {
		return err
	}
	if generated {
		p.Logger.Info("generated a signing secret", "file", filepath.Join(cfg.DataDir, secretFile))
	}
	if p.http, err = listenHTTP(cfg.Addr); err != nil {
		return err
	}
	p.url = cfg.publicURL(p.http.Addr())
	ready := p.backends.readyChecks()
	if p.transcodes {
		ready["ffmpeg"] = toolsCheck(cfg)
	}
	if usesDataDirDisk(cfg) {
		ready["disk"] = lowDiskCheck(cfg)
	}
	p.queueUI = jobs.NewQueueUI(p.backends.Queue, server.QueueUIPath)
	// Live comment streams fan out over the queue's Redis (miniredis in
	// embedded mode), so every API replica sees every change; the bus
	// holds one Redis subscription for all of this process's streams.
	p.events = events.NewRedis(p.backends.Queue.Redis, "lectern:events:")
	mailer, err := cfg.mailer()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if mailer == nil {
		p.Logger.Info("no smtp host set: mail is off, and so is password reset by email")
	}
	opts := server.Options{
		DB:             p.backends.DB,
		Storage:        p.backends.Storage,
		Logger:         p.Logger,
		PublicURL:      p.url,
		Secret:         secret,
		TrustedProxies: cfg.TrustedProxies,
		MaxUploadBytes: cfg.MaxUploadBytes,
		StorageQuota:   cfg.StorageQuota,
		StorageTimeout: cfg.StorageTimeout,
		TrashRetention: cfg.TrashRetention,
		MediaRedirect:  cfg.S3.Media == "redirect",
		Uploads:        uploadOptions(cfg),
		Jobs:           p.enqueue,
		// The limits an operator may tune (LECTERN_EVENT_STREAMS_PER_USER…).
		Limits:         cfg.serverLimits(),
		Events:         p.events,
		ReadyChecks:    ready,
		DegradedChecks: p.backends.degradedChecks(),
		QueueUI:        p.queueUI,
		Metrics:        p.metrics,
		AccessLog:      p.Logger.With("component", "http"),
		MailFrom:       cfg.Mail.From,
		DigestHour:     max(cfg.Mail.DigestHour, 0),
		NoDigest:       cfg.Mail.DigestHour < 0,
		OIDC:           cfg.oidcOptions(),
	}
	if mailer != nil {
		p.Logger.Info("mail goes through smtp", "addr", mailer.Addr())
		// A nil *smtp.Client in the interface would not be nil.
		opts.Mailer = mailer
	}
	srv, err := server.New(opts)
	if err != nil {
		return fmt.Errorf("build api server: %w", err)
	}
	p.api = srv
	p.startSweeper()
	p.Logger.Info("listening", "addr", p.http.Addr().String(), "url", p.url)
	if err := ensureFirstAdmin(ctx, p.backends.DB, cfg, firstAdmin{
		generate: generateAdmin, banner: p.Stdout, loginURL: p.url, logger: p.Logger,
	}); err != nil {
		return err
	}
	p.http.serve(srv.Handler(), p.Logger)
	// Open event streams never finish on their own: end them when shutdown
	// starts, so it does not wait out the whole grace period.
	p.http.srv.RegisterOnShutdown(srv.EndStreams)
	return nil
}

// startSweeper starts removing abandoned partial uploads: the API's
// resumable uploads, then the incomplete uploads of cut-off streaming
// Puts (skipping the resumable uploads' prefix, which the first sweep
// owns).
func (p *process) startSweeper() {
	st := p.backends.Storage
	p.sweeper = &uploadSweeper{
		MaxAge:   p.Config.UploadExpiry,
		Interval: sweepInterval(&p.Config),
		Logger:   p.Logger.With("component", "sweeper"),
		Sweeps: []sweep{
			{"resumable", p.api.ExpireUploads},
			{"storage", func(ctx context.Context, before time.Time) (int, error) {
				return st.RemoveStaleUploads(ctx, before, tusS3Prefix)
			}},
		},
	}
	p.sweeper.start()
}

// startWorker starts processing tasks from the queue: transcodes, with
// their working directories under <data dir>/work.
func (p *process) startWorker() error {
	workDir := filepath.Join(p.Config.DataDir, workDirName)
	if err := prepareWorkDir(workDir, time.Now(), p.Logger); err != nil {
		return err
	}
	tm, err := transcode.NewMetrics(p.metrics)
	if err != nil {
		return err
	}
	pipeline, err := p.pipeline()
	if err != nil {
		return err
	}
	rec, err := p.Config.recognizer()
	if err != nil {
		return err
	}
	th := &transcode.Handler{
		DB:             p.backends.DB,
		Storage:        p.backends.Storage,
		Pipeline:       pipeline,
		Logger:         p.Logger.With("component", "transcode"),
		Host:           p.Config.workerName(),
		TempDir:        workDir,
		StallTimeout:   p.Config.StallTimeout,
		HeartbeatEvery: p.Config.HeartbeatInterval,
		Metrics:        tm,
		// The worker's own, so that a job says truly when its next try is.
		RetryDelay:    transcode.RetryDelay,
		ChunkSeconds:  p.Config.ChunkSeconds,
		Chunks:        jobs.Tasks{Queue: p.backends.Queue},
		ChunkDeadline: p.Config.JobDeadline,
		Sources:       transcode.NewSourceCache(workDir),
	}
	if rec != nil {
		if err := rec.Check(); err != nil {
			return p.Config.errorf("LECTERN_ASR_COMMAND", "%v", err)
		}
		th.ASRLang, th.Captions = rec.Lang, jobs.Tasks{Queue: p.backends.Queue}
	}
	p.worker = p.backends.Queue.NewTranscodeWorker(jobs.WorkerOptions{
		Concurrency:     p.Config.WorkerConcurrency,
		ShutdownTimeout: p.Config.ShutdownTimeout,
		Logger:          p.Logger,
	}, th)
	if err := p.worker.Start(); err != nil {
		p.worker = nil
		return err
	}
	p.Logger.Info("worker started", "name", th.Host, "concurrency", p.Config.WorkerConcurrency,
		"queues", jobs.Queues())
	if rec != nil {
		if err := p.startCaptions(rec, pipeline, workDir); err != nil {
			return err
		}
	}
	p.reconciler = &jobs.Reconciler{Transcodes: p.enqueue, Captions: rec != nil, Logger: p.Logger.With("component", "reconciler"),
		Interval: p.Config.ReconcileInterval, Deadline: p.Config.JobDeadline}
	p.reconciler.Start()
	return nil
}

// startCaptions starts the automatic captions worker: the captions queue,
// on LECTERN_ASR_CONCURRENCY slots of its own so that speech recognition
// never holds up a transcode, after putting back on the queue the
// captions it lost.
func (p *process) startCaptions(rec *transcode.Recognizer, pipeline *transcode.Pipeline, workDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.enqueue.RequeueCaptions(ctx); err != nil {
		return err
	}
	p.captions = p.backends.Queue.NewCaptionsWorker(jobs.WorkerOptions{
		Concurrency:     p.Config.ASRConcurrency,
		ShutdownTimeout: p.Config.ShutdownTimeout,
		Logger:          p.Logger,
	}, &transcode.RecognizeHandler{
		DB:         p.backends.DB,
		Storage:    p.backends.Storage,
		Pipeline:   pipeline,
		Recognizer: rec,
		Logger:     p.Logger.With("component", "captions"),
		TempDir:    workDir,
	})
	if err := p.captions.Start(); err != nil {
		p.captions = nil
		return err
	}
	p.Logger.Info("automatic captions started", "concurrency", p.Config.ASRConcurrency,
		"queue", jobs.QueueCaptions, "lang", rec.Lang, "recognizer", rec.Args[0])
	return nil
}

// pipeline is the worker's ffmpeg pipeline, confined as configured
// (docs/operations.md, "How ffmpeg is confined"): whether ffmpeg can run
// under bubblewrap here is tried once, now.
func (p *process) pipeline() (*transcode.Pipeline, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := transcode.DetectSandbox(ctx, p.Config.ffmpegSandbox(), p.Config.FFmpeg, p.Logger)
	if err != nil {
		return nil, p.Config.errorf("LECTERN_FFMPEG_SANDBOX", "%v", err)
	}
	return &transcode.Pipeline{FFmpeg: p.Config.FFmpeg, FFprobe: p.Config.FFprobe, Logger: p.Logger,
		Resources: p.Config.transcodeResources(), Sandbox: sb}, nil
}

// ServeMain is "lectern serve": API and worker in one process, on the
// services the configuration names and embedded ones otherwise (SQLite and
// disk in the data dir, an in-process queue).
type ServeMain struct{ process }

// NewServeMain returns a ServeMain; Run starts it.
func NewServeMain(cfg Config, logger *slog.Logger, stdout io.Writer) *ServeMain {
	return &ServeMain{process{Config: cfg, Logger: logger, Stdout: stdout}}
}

// Run opens and migrates the database, opens storage and queue,
// re-enqueues unfinished transcodes, starts the HTTP server and the
// worker, and returns. On a fresh database with no LECTERN_ADMIN_* set, it
// creates admin@localhost and prints its password once to Stdout.
func (m *ServeMain) Run(ctx context.Context) error {
	if err := m.open(ctx, true, "mode", "embedded"); err != nil {
		return err
	}
	warnMissingTools(&m.Config, m.Logger)
	if err := m.enqueue.RequeueUnfinished(ctx); err != nil {
		return err
	}
	m.transcodes = true
	if err := m.startHTTP(ctx, true); err != nil {
		return err
	}
	if err := m.startWorker(); err != nil {
		return err
	}
	m.Logger.Info("lectern ready", "url", m.url)
	return nil
}

// APIMain is "lectern api": the HTTP server of the scaled setup. It
// requires Redis, where separate workers take the tasks it enqueues.
type APIMain struct{ process }

// NewAPIMain returns an APIMain; Run starts it.
func NewAPIMain(cfg Config, logger *slog.Logger, stdout io.Writer) *APIMain {
	return &APIMain{process{Config: cfg, Logger: logger, Stdout: stdout}}
}

// Run migrates the database, opens storage and queue, creates the
// LECTERN_ADMIN_* admin on an empty database, and starts the HTTP server.
func (m *APIMain) Run(ctx context.Context) error {
	if err := m.Config.RequireRedis("api"); err != nil {
		return err
	}
	if err := m.open(ctx, true, "mode", "scaled", "role", "api"); err != nil {
		return err
	}
	if m.Config.Secret == "" {
		m.Logger.Warn("LECTERN_SECRET is not set: using the secret in the data dir; every api replica must share one secret")
	}
	if err := m.startHTTP(ctx, false); err != nil {
		return err
	}
	m.Logger.Info("lectern ready", "url", m.url)
	return nil
}

// WorkerMain is "lectern worker": takes tasks from Redis. It does not
// migrate the database; the API does.
type WorkerMain struct{ process }

// NewWorkerMain returns a WorkerMain; Run starts it.
func NewWorkerMain(cfg Config, logger *slog.Logger) *WorkerMain {
	return &WorkerMain{process{Config: cfg, Logger: logger, Stdout: io.Discard}}
}

// Run opens the database, storage and queue, re-enqueues unfinished
// transcodes (which the queue refuses when they are still there), and
// starts the worker.
func (m *WorkerMain) Run(ctx context.Context) error {
	if err := m.Config.RequireRedis("worker"); err != nil {
		return err
	}
	if err := m.open(ctx, false, "mode", "scaled", "role", "worker"); err != nil {
		return err
	}
	warnMissingTools(&m.Config, m.Logger)
	if err := m.enqueue.RequeueUnfinished(ctx); err != nil {
		return err
	}
	return m.startWorker()
}

// workerName is LECTERN_WORKER_NAME, or host:pid when it is empty, so
// that two worker processes on one host are told apart.
func (c *Config) workerName() string {
	if c.WorkerName != "" {
		return c.WorkerName
	}
	host, err := os.Hostname()
	if err != nil {
		host = "worker"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}
