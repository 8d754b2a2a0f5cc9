package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern/db"
)

// NewCollector returns the Prometheus collector of q's state, read from
// Redis at scrape time, and of the chunked transcodes in progress, read
// from d.
func NewCollector(q *Queue, d *db.DB, logger *slog.Logger) prometheus.Collector {
	return &queueCollector{inspector: q.inspector, db: d, logger: logger}
}

// queueCollector exports the queue's state the way asynq's x/metrics
// exporter does (same series names), read with the Inspector on each scrape.
type queueCollector struct {
	inspector *asynq.Inspector
	db        *db.DB
	logger    *slog.Logger
}

// chunkScrapeTimeout bounds the database read of one scrape.
const chunkScrapeTimeout = 5 * time.Second

var (
	queueTasksDesc = prometheus.NewDesc("asynq_tasks_enqueued_total",
		"Tasks in the queue, by queue and state.", []string{"queue", "state"}, nil)
	queueSizeDesc = prometheus.NewDesc("asynq_queue_size",
		"Tasks in the queue, all states.", []string{"queue"}, nil)
	queueLatencyDesc = prometheus.NewDesc("asynq_queue_latency_seconds",
		"Age of the oldest pending task in the queue.", []string{"queue"}, nil)
	queuePausedDesc = prometheus.NewDesc("asynq_queue_paused_total",
		"1 when the queue is paused.", []string{"queue"}, nil)
	chunksDesc = prometheus.NewDesc("lectern_transcode_chunks",
		"Pieces of the chunked transcodes in progress, by lesson and state (pending, running, done, failed).",
		[]string{"lesson", "state"}, nil)
	chunksRunningDesc = prometheus.NewDesc("lectern_transcode_chunks_running",
		"Pieces of chunked transcodes running, by the worker holding them (LECTERN_WORKER_NAME, or host:pid).",
		[]string{"worker"}, nil)
)

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueTasksDesc, queueSizeDesc, queueLatencyDesc, queuePausedDesc, chunksDesc, chunksRunningDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.collectChunks(ch)
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

// collectChunks exports the pieces of every chunked transcode in
// progress: each lesson's count in every state (0 included, so that a
// graph of done over total needs no gap filling), and the running pieces
// by worker.
func (c *queueCollector) collectChunks(ch chan<- prometheus.Metric) {
	if c.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chunkScrapeTimeout)
	defer cancel()
	counts, workers, err := c.db.FindChunkProgress(ctx)
	if err != nil {
		c.logger.Warn("collect chunk metrics", "error", err)
		return
	}
	byLesson := map[string]map[string]int{}
	for _, n := range counts {
		if byLesson[n.LessonID] == nil {
			byLesson[n.LessonID] = map[string]int{db.ChunkPending: 0, db.ChunkRunning: 0, db.ChunkDone: 0, db.ChunkFailed: 0}
		}
		byLesson[n.LessonID][n.State] += n.N
	}
	for lesson, states := range byLesson {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(chunksDesc, prometheus.GaugeValue, float64(n), lesson, state)
		}
	}
	for _, w := range workers {
		ch <- prometheus.MustNewConstMetric(chunksRunningDesc, prometheus.GaugeValue, float64(w.N), w.Worker)
	}
}
