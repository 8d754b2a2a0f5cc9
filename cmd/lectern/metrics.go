package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/jobs"
)

// newRegistry is the process's metrics registry: Go runtime and process
// series, the queue's sizes and latency read from Redis at scrape time,
// and the pieces of chunked transcodes in progress.
func newRegistry(q *jobs.Queue, d *db.DB, logger *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		jobs.NewCollector(q, d, logger),
	} {
		if err := reg.Register(c); err != nil {
			logger.Warn("register metrics", "error", err)
		}
	}
	return reg
}

// toolsCheck is the readiness check of a process that transcodes: ffmpeg
// and ffprobe can be found.
func toolsCheck(cfg *Config) func(context.Context) error {
	return func(context.Context) error {
		for _, tool := range []string{cfg.FFmpeg, cfg.FFprobe} {
			if _, err := exec.LookPath(tool); err != nil {
				return err
			}
		}
		return nil
	}
}

// startMetricsHTTP serves /metrics and /healthz on Config.MetricsAddr when
// it is set: the only HTTP a worker answers. Close shuts it down.
func (p *process) startMetricsHTTP() error {
	if p.Config.MetricsAddr == "" {
		return nil
	}
	h, err := listenHTTP(p.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	p.metricsHTTP = h
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	h.serve(mux, p.Logger)
	p.Logger.Info("serving metrics", "addr", h.Addr().String(), "paths", []string{"/metrics", "/healthz"})
	return nil
}

// MetricsAddr is the address the metrics listener listens on, "" when
// there is none.
func (p *process) MetricsAddr() string {
	if p.metricsHTTP == nil {
		return ""
	}
	return p.metricsHTTP.Addr().String()
}
