package jobs

import (
	"log/slog"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
)

// NewCollector returns the Prometheus collector of q's state, read from
// Redis at scrape time.
func NewCollector(q *Queue, logger *slog.Logger) prometheus.Collector {
	return &queueCollector{inspector: q.Inspector, logger: logger}
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

// QueueUI is the queue's web UI (asynqmon). It opens its own
// connections; Close them at exit.
type QueueUI struct{ *asynqmon.HTTPHandler }

// NewQueueUI is the web UI of q's Redis, served under rootPath (the
// server's QueueUIPath).
func NewQueueUI(q *Queue, rootPath string) *QueueUI {
	o := q.Redis.Options()
	return &QueueUI{asynqmon.New(asynqmon.Options{
		RootPath: rootPath,
		RedisConnOpt: asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username,
			Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig},
	})}
}
