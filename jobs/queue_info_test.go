package jobs

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/lectern/lectern/server"
)

// parseInfo reads INFO as asynqmon does: CRLF-separated lines, each split
// on ":" into exactly two parts.
func parseInfo(raw string) map[string]string {
	info := map[string]string{}
	for _, l := range strings.Split(raw, "\r\n") {
		if kv := strings.Split(l, ":"); len(kv) == 2 {
			info[kv[0]] = kv[1]
		}
	}
	return info
}

// TestEmbeddedQueueInfo checks that the in-process Redis answers INFO with
// every field the queue UI's Redis page shows, each a value it can show
// (no "undefined days", no NaN).
func TestEmbeddedQueueInfo(t *testing.T) {
	q := openTestQueue(t, "")
	ctx := context.Background()
	raw, err := q.Redis.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	info := parseInfo(raw)
	for _, f := range []string{"redis_version", "used_memory_human", "used_memory_peak_human"} {
		if info[f] == "" {
			t.Errorf("INFO has no %s:\n%s", f, raw)
		}
	}
	if !strings.Contains(info["redis_version"], "miniredis") {
		t.Errorf("redis_version %q does not say the queue is the in-process one", info["redis_version"])
	}
	for _, f := range []string{"uptime_in_days", "uptime_in_seconds", "connected_clients", "connected_slaves",
		"rdb_last_save_time", "rdb_changes_since_last_save", "used_memory", "used_memory_peak"} {
		if _, err := strconv.ParseInt(info[f], 10, 64); err != nil {
			t.Errorf("INFO %s = %q, not a whole number", f, info[f])
		}
	}
	if n, _ := strconv.Atoi(info["connected_clients"]); n < 1 {
		t.Errorf("connected_clients = %d, but this test is connected", n)
	}
	if r, err := strconv.ParseFloat(info["mem_fragmentation_ratio"], 64); err != nil || r < 1 {
		t.Errorf("mem_fragmentation_ratio = %q, want a ratio of at least 1", info["mem_fragmentation_ratio"])
	}
	if used, _ := strconv.ParseInt(info["used_memory"], 10, 64); used <= 0 {
		t.Errorf("used_memory = %d, want the heap the queue lives in", used)
	}

	t.Run("OneSection", func(t *testing.T) {
		raw, err := q.Redis.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		info := parseInfo(raw)
		if info["used_memory_human"] == "" || info["redis_version"] != "" || !strings.HasPrefix(raw, "# Memory\r\n") {
			t.Errorf("INFO memory =\n%s", raw)
		}
		if raw, err := q.Redis.Info(ctx, "nosuchsection").Result(); err != nil || raw != "" {
			t.Errorf("INFO nosuchsection = %q, %v; want empty, as Redis answers", raw, err)
		}
	})
	t.Run("OtherCommandsStillWork", func(t *testing.T) {
		if err := q.Redis.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := q.Redis.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Errorf("GET after the INFO hook = %q, %v", v, err)
		}
	})
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1.00K", 1536: "1.50K", 5 << 20: "5.00M", 3 << 30: "3.00G"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestQueueUIRedisPageOnEmbeddedQueue asks the queue UI's Redis endpoint,
// as its Redis page does, about the in-process queue.
func TestQueueUIRedisPageOnEmbeddedQueue(t *testing.T) {
	q := openTestQueue(t, "")
	ui := NewQueueUI(q, server.QueueUIPath)
	t.Cleanup(func() { ui.Close() })
	rec := httptest.NewRecorder()
	ui.ServeHTTP(rec, httptest.NewRequest("GET", server.QueueUIPath+"/api/redis_info", nil))
	if rec.Code != 200 {
		t.Fatalf("redis_info: %d %s", rec.Code, rec.Body)
	}
	var resp struct {
		Info map[string]string `json:"info"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	// The fields RedisInfoView.tsx shows, and how it shows them.
	for _, f := range []string{"redis_version", "uptime_in_days", "used_memory_human", "used_memory_peak_human",
		"mem_fragmentation_ratio", "connected_clients", "connected_slaves", "rdb_last_save_time", "rdb_changes_since_last_save"} {
		if resp.Info[f] == "" {
			t.Errorf("the Redis page's %s is missing (it would show undefined)", f)
		}
	}
	for _, f := range []string{"uptime_in_days", "rdb_last_save_time"} {
		if _, err := strconv.Atoi(resp.Info[f]); err != nil {
			t.Errorf("%s = %q: the page computes with it, and would show NaN", f, resp.Info[f])
		}
	}
}
