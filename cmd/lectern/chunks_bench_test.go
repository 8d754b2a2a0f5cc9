package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
)

// TestBenchChunkedLecture is bench/chunks.sh's measurement, not a test:
// it runs only when LECTERN_BENCH_SOURCE names a recording. In scaled
// mode (PostgreSQL, Redis, MinIO) it transcodes the recording three ways:
// today's single-process ladder on one worker, and the chunked transcode
// on one and on two worker processes, and reports for each the seconds
// from upload complete to first playable and to ready, the CPU seconds of
// the workers and their ffmpeg processes, and the bytes published.
func TestBenchChunkedLecture(t *testing.T) {
	src := os.Getenv("LECTERN_BENCH_SOURCE")
	if src == "" {
		t.Skip("a benchmark: bench/chunks.sh runs it with LECTERN_BENCH_SOURCE")
	}
	runs := []struct {
		name    string
		chunks  string
		workers int
	}{
		{"single-process ladder, 1 worker", "0", 1},
		{"chunked, 1 worker", "32", 1},
		{"chunked, 2 workers", "32", 2},
	}
	for _, r := range runs {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			c := newCluster(t, map[string]string{"LECTERN_CHUNK_SECONDS": r.chunks})
			var workers []*proc
			for range r.workers {
				w := c.startWorker(t, t.TempDir())
				w.waitLog("worker started")
				workers = append(workers, w)
			}
			before := cpuSeconds(t, workers)
			lesson := c.upload(t, src)
			uploaded := time.Now()
			var playable, ready time.Duration
			for deadline := time.Now().Add(time.Hour); ready == 0; time.Sleep(250 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("not ready within an hour")
				}
				var l struct {
					Status   string
					Playable bool
				}
				c.teacher.call(t, "GET", "/api/v1/lessons/"+lesson, nil, http.StatusOK, &l)
				if l.Playable && playable == 0 {
					playable = time.Since(uploaded)
				}
				if l.Status == string(lectern.LessonReady) {
					ready = time.Since(uploaded)
				}
				if l.Status == string(lectern.LessonFailed) {
					t.Fatal("transcode failed")
				}
			}
			cpu := cpuSeconds(t, workers) - before
			prefixes := c.outputPrefixes(t, lesson)
			var bytes int64
			for _, p := range prefixes {
				bytes += c.objectBytes(t, p)
			}
			var chunkSecs []float64
			for _, w := range workers {
				chunkSecs = append(chunkSecs, logFloats(w, "transcode chunk done", "seconds")...)
			}
			t.Logf("BENCH %s: first playable %.1f s, ready %.1f s, CPU %.0f s, bytes %d, chunks %d (mean %.1f s, max %.1f s)",
				r.name, playable.Seconds(), ready.Seconds(), cpu, bytes, len(chunkSecs), meanOf(chunkSecs), maxFloat(chunkSecs))
		})
	}
}

// cpuSeconds is the CPU time (user and system) of the processes and of
// the children they waited for (their ffmpeg runs), from /proc.
func cpuSeconds(t *testing.T, ps []*proc) float64 {
	t.Helper()
	var total float64
	for _, p := range ps {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// utime, stime, cutime, cstime are fields 14–17 of stat(5); 12–15
		// here, counted from the state field.
		for _, f := range fields[11:15] {
			n, _ := strconv.ParseFloat(f, 64)
			total += n / 100 // USER_HZ
		}
	}
	return total
}

// objectBytes sums the sizes of the objects under prefix.
func (c *cluster) objectBytes(t *testing.T, prefix string) int64 {
	t.Helper()
	client, err := minio.New(c.s3.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(c.s3.AccessKey, c.s3.SecretKey, ""), Secure: c.s3.UseSSL})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for obj := range client.ListObjects(context.Background(), c.s3.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n += obj.Size
	}
	return n
}

// logFloats returns the numeric field key of p's log lines with message msg.
func logFloats(p *proc, msg, key string) []float64 {
	var out []float64
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg {
			if v, ok := rec[key].(float64); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxFloat(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
