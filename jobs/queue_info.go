package jobs

import (
	"fmt"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// embeddedInfo answers INFO for the in-process Redis the way Redis does:
// sections of "field:value" lines ending in CRLF. miniredis itself answers
// only a few counters (and with LF after its section headers, so even those
// do not parse), which left the queue UI's Redis page showing
// "undefined days" and "NaNhNaNmNaNs ago". asynqmon reads redis_version,
// uptime_in_days, used_memory_human, used_memory_peak_human,
// mem_fragmentation_ratio, connected_clients, connected_slaves,
// rdb_last_save_time and rdb_changes_since_last_save.
//
// The values describe what the embedded Redis is: a part of this process.
// Its memory is the process's Go heap (the analogue of what Redis reports
// for itself; the fragmentation ratio is the heap's, in use over live),
// and it never saves to disk (rdb_last_save_time is 0, which
// the UI shows as blank, and nothing waits to be saved), because the
// database, not the queue, is the source of truth for jobs.
type embeddedInfo struct {
	m       *miniredis.Miniredis
	started time.Time
	version string

	mu   sync.Mutex
	peak uint64 // the most heap seen by an INFO so far
}

// answerInfo makes m answer INFO with embeddedInfo. It must be called
// after m has started.
func answerInfo(m *miniredis.Miniredis) {
	e := &embeddedInfo{m: m, started: time.Now(), version: "miniredis"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/alicebob/miniredis/v2" {
				e.version = "miniredis " + strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	m.Server().SetPreHook(e.hook)
}

// hook answers INFO and leaves every other command to miniredis.
func (e *embeddedInfo) hook(c *server.Peer, cmd string, args ...string) bool {
	if cmd != "INFO" {
		return false
	}
	c.WriteBulk(e.info(args))
	return true
}

// infoSection is one section of INFO: its name and its fields, in order.
type infoSection struct {
	name   string
	fields [][2]string
}

// info renders the sections args ask for: all of them for none, "all",
// "default" or "everything", and none for an unknown name, as Redis does.
func (e *embeddedInfo) info(args []string) string {
	want := map[string]bool{}
	for _, a := range args {
		want[strings.ToLower(a)] = true
	}
	all := len(want) == 0 || want["all"] || want["default"] || want["everything"]
	var b strings.Builder
	for _, s := range e.sections() {
		if !all && !want[strings.ToLower(s.name)] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + s.name + "\r\n")
		for _, f := range s.fields {
			b.WriteString(f[0] + ":" + f[1] + "\r\n")
		}
	}
	return b.String()
}

func (e *embeddedInfo) sections() []infoSection {
	up := time.Since(e.started)
	heap, inUse := heapBytes()
	e.mu.Lock()
	e.peak = max(e.peak, heap)
	peak := e.peak
	e.mu.Unlock()
	ratio := 1.0
	if heap > 0 {
		ratio = float64(inUse) / float64(heap)
	}
	port := ""
	if a := e.m.Server().Addr(); a != nil {
		port = strconv.Itoa(a.Port)
	}
	return []infoSection{
		{"Server", [][2]string{
			{"redis_version", e.version + " (in-process)"},
			{"redis_mode", "standalone"},
			{"process_id", strconv.Itoa(os.Getpid())},
			{"tcp_port", port},
			{"uptime_in_seconds", strconv.FormatInt(int64(up/time.Second), 10)},
			{"uptime_in_days", strconv.FormatInt(int64(up/(24*time.Hour)), 10)},
		}},
		{"Clients", [][2]string{
			{"connected_clients", strconv.Itoa(e.m.CurrentConnectionCount())},
			{"blocked_clients", "0"},
		}},
		{"Memory", [][2]string{
			{"used_memory", strconv.FormatUint(heap, 10)},
			{"used_memory_human", humanBytes(heap)},
			{"used_memory_peak", strconv.FormatUint(peak, 10)},
			{"used_memory_peak_human", humanBytes(peak)},
			{"mem_fragmentation_ratio", strconv.FormatFloat(ratio, 'f', 2, 64)},
		}},
		{"Persistence", [][2]string{
			{"loading", "0"},
			{"rdb_changes_since_last_save", "0"},
			{"rdb_bgsave_in_progress", "0"},
			{"rdb_last_save_time", "0"},
			{"aof_enabled", "0"},
		}},
		{"Stats", [][2]string{
			{"total_connections_received", strconv.Itoa(e.m.TotalConnectionCount())},
			{"total_commands_processed", strconv.Itoa(e.m.CommandCount())},
		}},
		{"Replication", [][2]string{
			{"role", "master"},
			{"connected_slaves", "0"},
		}},
	}
}

// heapBytes returns the bytes of live heap objects of this process and
// the bytes of the heap spans holding them (live objects plus the gaps
// between them: their ratio is the heap's fragmentation), read without
// stopping the world.
func heapBytes() (heap, inUse uint64) {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	rtmetrics.Read(s)
	var unused uint64
	for i, v := range []*uint64{&heap, &unused} {
		if s[i].Value.Kind() == rtmetrics.KindUint64 {
			*v = s[i].Value.Uint64()
		}
	}
	return heap, heap + unused
}

// humanBytes writes n as Redis's *_human fields do: 1.50M, 812.00K, 96B.
func humanBytes(n uint64) string {
	for _, u := range []struct {
		unit string
		size float64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if float64(n) >= u.size {
			return fmt.Sprintf("%.2f%s", float64(n)/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%dB", n)
}
