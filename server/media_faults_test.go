package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// publishFakeOutput stores a small HLS output for lesson l (a master
// playlist, one media playlist, an init segment and two segments) and
// publishes it, as a finished transcode would.
func publishFakeOutput(t *testing.T, fx *fixture, lessonID string) {
	t.Helper()
	ctx := context.Background()
	l, job, _, err := fx.DB.StartTranscode(ctx, lessonID, lectern.SourceKey(lessonID, "src"))
	if err != nil {
		t.Fatal(err)
	}
	out := lectern.OutputPrefix(lessonID, l.Attempt)
	files := map[string]string{
		"master.m3u8":   "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nv0/index.m3u8\n",
		"v0/index.m3u8": "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4,\nseg1.m4s\n#EXTINF:4,\nseg2.m4s\n#EXT-X-ENDLIST\n",
		"v0/init.mp4":   strings.Repeat("i", 1000),
		"v0/seg1.m4s":   strings.Repeat("1", 300_000),
		"v0/seg2.m4s":   strings.Repeat("2", 300_000),
	}
	for name, body := range files {
		if _, err := fx.Store.Put(ctx, out+name, strings.NewReader(body)); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	if _, err := fx.DB.PublishLesson(ctx, lessonID, l.Attempt, db.Publication{JobID: job.ID, OutputPrefix: out,
		Renditions: lectern.Renditions{}}); err != nil {
		t.Fatal(err)
	}
}

// mediaURIs returns the URIs a playlist names.
func mediaURIs(playlist []byte) []string {
	var uris []string
	sc := bufio.NewScanner(bytes.NewReader(playlist))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if _, rest, ok := strings.Cut(line, `URI="`); ok {
			u, _, _ := strings.Cut(rest, `"`)
			uris = append(uris, u)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			uris = append(uris, line)
		}
	}
	return uris
}

// playAll fetches the master playlist at master, every media playlist it
// names and every file those name, as a player would, and returns every
// URL with the status it got.
func playAll(t *testing.T, hc *http.Client, base, master string) map[string]int {
	t.Helper()
	got := map[string]int{}
	var fetch func(u string, playlist bool)
	fetch = func(u string, playlist bool) {
		resp, err := hc.Get(base + u)
		if err != nil {
			got[u] = -1
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[u] = resp.StatusCode
		if err != nil {
			got[u] = -1
		}
		if resp.StatusCode != http.StatusOK || !playlist {
			return
		}
		for _, ref := range mediaURIs(body) {
			fetch(path.Join(path.Dir(u), ref), strings.HasSuffix(ref, ".m3u8"))
		}
	}
	fetch(master, true)
	return got
}

// TestAcceptance14_MinIOSlowThenDownDuringPlayback (RELIABILITY 14) puts a
// real proxy between Lectern and MinIO. While MinIO answers 5 s late, and
// then while it is down, media playlist and segment requests through
// /media answer 503 within the configured storage timeout (3 s here; the
// default is 8 s), while the master playlist, kept in memory since the
// first load (media_master.go), still answers at once without storage;
// once MinIO is back, playback resumes, and the server's
// goroutines (among them those of storage connections, on both sides of
// the proxy) come back to what they were before.
func TestAcceptance14_MinIOSlowThenDownDuringPlayback(t *testing.T) {
	const timeout = 3 * time.Second
	b := testenv.S3Bucket(t)
	proxy := testenv.NewFaultProxy(t, b.Endpoint)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	store, err := s3.New(context.Background(), s3.Config{Endpoint: proxy.Addr, AccessKey: b.AccessKey,
		SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL})
	if err != nil {
		t.Fatal(err)
	}
	fx.Store = store
	ts := newServer(t, fx, func(o *server.Options) { o.StorageTimeout = timeout })
	teacher, lessonID := newLessonFor(t, ts)
	publishFakeOutput(t, fx, lessonID)
	var pb struct {
		HLSURL string `json:"hls_url"`
	}
	teacher.do(t, "GET", "/api/v1/lessons/"+lessonID+"/playback", nil).want(http.StatusOK).decode(&pb)
	// A player without keep-alive, so that its own connections do not
	// count in the goroutines.
	player := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(player.CloseIdleConnections)

	allOK := func(got map[string]int) bool {
		for _, status := range got {
			if status != http.StatusOK {
				return false
			}
		}
		return len(got) == 5 // master, media playlist, init, two segments
	}
	if got := playAll(t, player, ts.URL, pb.HLSURL); !allOK(got) {
		t.Fatalf("playback before the faults: %v", got)
	}
	time.Sleep(200 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	urls := []string{path.Join(path.Dir(pb.HLSURL), "v0/index.m3u8"), path.Join(path.Dir(pb.HLSURL), "v0/seg1.m4s")}

	wantUnavailable := func(t *testing.T) {
		t.Helper()
		start := time.Now()
		resp, err := player.Get(ts.URL + pb.HLSURL)
		if err != nil {
			t.Fatalf("GET master.m3u8: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || time.Since(start) > time.Second {
			t.Errorf("GET master.m3u8: %d in %v, want 200 from memory at once", resp.StatusCode, time.Since(start))
		}
		for _, u := range urls {
			start := time.Now()
			resp, err := player.Get(ts.URL + u)
			if err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(body, &e)
			if (resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusGatewayTimeout) ||
				e.Error.Code != lectern.EUNAVAILABLE || resp.Header.Get("Retry-After") == "" {
				t.Errorf("GET %s: %d %s (Retry-After %q), want 503 unavailable with Retry-After", path.Base(u), resp.StatusCode, body, resp.Header.Get("Retry-After"))
			}
			if took > timeout+time.Second {
				t.Errorf("GET %s took %v, want at most the %v storage timeout (and a second of slack)", path.Base(u), took, timeout)
			}
		}
	}
	t.Run("Slow", func(t *testing.T) {
		proxy.AddLatency(5*time.Second, 0)
		wantUnavailable(t)
	})
	t.Run("Down", func(t *testing.T) {
		proxy.Cut()
		wantUnavailable(t)
	})
	t.Run("Recovers", func(t *testing.T) {
		proxy.Heal()
		proxy.Restore()
		var got map[string]int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			if got = playAll(t, player, ts.URL, pb.HLSURL); allOK(got) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("playback after MinIO is back: %v", got)
			}
		}
		// Goroutines of canceled storage requests and of their
		// connections end; allow for a few idle storage connections.
		var n int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if n = runtime.NumGoroutine(); n <= baseline+6 {
				break
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines after recovery, %d before the faults:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
			}
		}
		t.Logf("goroutines: %d before the faults, %d after recovery", baseline, n)
	})
}
