package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lectern/lectern/server"
)

// newRegistry is the process's metrics registry: Go runtime and process
// series, and the queue's sizes and latency read from Redis at scrape time.
func newRegistry(q *Queue, logger *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&queueCollector{inspector: q.Inspector, logger: logger},
	} {
		if err := reg.Register(c); err != nil {
			logger.Warn("register metrics", "error", err)
		}
	}
	return reg
}

// queueCollector exports the queue's state the way asynq's x/metrics
// exporter does (same series names), read with the Inspector on each scrape.
type queueCollector struct {
	inspector *asynq.Inspector
	logger    *slog.Logger
}

var (
	queueTasksDesc = prometheus.NewDesc("asynq_tasks_enqueued_total",
		"Tasks in the queue, by queue and state.", []string{"queue", "state"}, nil)
	queueSizeDesc = prometheus.NewDesc("asynq_queue_size",
		"Tasks in the queue, all states.", []string{"queue"}, nil)
	queueLatencyDesc = prometheus.NewDesc("asynq_queue_latency_seconds",
		"Age of the oldest pending task in the queue.", []string{"queue"}, nil)
	queuePausedDesc = prometheus.NewDesc("asynq_queue_paused_total",
		"1 when the queue is paused.", []string{"queue"}, nil)
)

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueTasksDesc, queueSizeDesc, queueLatencyDesc, queuePausedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	queues, err := c.inspector.Queues()
	if err != nil {
		c.logger.Warn("collect queue metrics", "error", err)
		return
	}
	for _, name := range queues {
		info, err := c.inspector.GetQueueInfo(name)
		if err != nil {
			c.logger.Warn("collect queue metrics", "queue", name, "error", err)
			continue
		}
		for state, n := range map[string]int{"active": info.Active, "pending": info.Pending,
			"scheduled": info.Scheduled, "retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(queueTasksDesc, prometheus.GaugeValue, float64(n), name, state)
		}
		ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(info.Size), name)
		ch <- prometheus.MustNewConstMetric(queueLatencyDesc, prometheus.GaugeValue, info.Latency.Seconds(), name)
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(queuePausedDesc, prometheus.GaugeValue, paused, name)
	}
}

// newQueueUI is asynqmon on the queue's Redis, mounted by the server at
// server.QueueUIPath. It opens its own connections; Close them at exit.
func newQueueUI(q *Queue) *asynqmon.HTTPHandler {
	o := q.Redis.Options()
	return asynqmon.New(asynqmon.Options{
		RootPath: server.QueueUIPath,
		RedisConnOpt: asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username,
			Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig},
	})
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
