package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/transcode"
)

// startTestWorkerMain runs "lectern worker" in-process on a migrated
// SQLite database and the given Redis, with metricsAddr as
// LECTERN_METRICS_ADDR, and closes it when the test ends.
func startTestWorkerMain(t *testing.T, redisURL, metricsAddr string) *WorkerMain {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "lectern.db")
	cfg.RedisURL = redisURL
	cfg.MetricsAddr = metricsAddr
	cfg.ShutdownTimeout = 5 * time.Second
	d, err := db.Open(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	w := NewWorkerMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close() })
	if err := w.Run(ctx); err != nil {
		t.Fatalf("worker Run: %v", err)
	}
	return w
}

// getBody fetches url and returns its status and body.
func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestWorkerMetricsListener(t *testing.T) {
	redisURL := testenv.RedisURL(t)

	t.Run("ServesMetricsAndHealth", func(t *testing.T) {
		w := startTestWorkerMain(t, redisURL, "127.0.0.1:0")
		base := "http://" + w.MetricsAddr()
		if base == "http://" {
			t.Fatal("LECTERN_METRICS_ADDR is set but the worker serves no metrics")
		}
		// Automatic captions wait on their queue, which this worker (no
		// speech recognizer) does not serve: the worker's scrape shows them.
		tasks := jobs.Tasks{Queue: openQueue(t, redisURL)}
		if err := tasks.EnqueueRecognize(context.Background(), transcode.RecognizePayload{LessonID: "l1", Attempt: 1}); err != nil {
			t.Fatal(err)
		}

		status, body := getBody(t, base+"/metrics")
		if status != http.StatusOK {
			t.Fatalf("GET /metrics = %d, want 200", status)
		}
		for _, want := range []string{
			`asynq_tasks_enqueued_total{queue="captions",state="pending"} 1`,
			`asynq_queue_size{queue="captions"} 1`,
			"go_goroutines ",
			"process_resident_memory_bytes ",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		if status, body := getBody(t, base+"/healthz"); status != http.StatusOK || !strings.Contains(body, `"ok"`) {
			t.Errorf("GET /healthz = %d %q, want 200 ok", status, body)
		}
	})

	t.Run("OffByDefault", func(t *testing.T) {
		w := startTestWorkerMain(t, redisURL, "")
		if addr := w.MetricsAddr(); addr != "" {
			t.Errorf("without LECTERN_METRICS_ADDR the worker listens on %s", addr)
		}
	})
}
