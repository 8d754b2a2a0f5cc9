package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// TestAcceptance13_MinIOResetsDuringOutputUpload (RELIABILITY 13) runs
// "lectern serve" on MinIO through a real proxy, and makes MinIO reset
// every connection from the moment the worker is encoding until its
// transcode has failed a try: the output upload fails after the storage
// client's bounded retries with backoff, the job goes to retrying (a task
// retry), and once MinIO answers again the next try publishes. All along,
// a student polls /playback and, whenever it offers a playlist, fetches
// it and everything it names: never a playlist naming a missing file.
func TestAcceptance13_MinIOResetsDuringOutputUpload(t *testing.T) {
	testenv.FFmpeg(t)
	b := testenv.S3Bucket(t)
	proxy := testenv.NewFaultProxy(t, b.Endpoint)
	clip := makeClip(t, "640x360", 20)

	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "lectern.db")
	cfg.S3 = S3Config{Endpoint: proxy.Addr, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL}
	cfg.Secret = strings.Repeat("0123456789abcdef", 4)
	cfg.AdminEmail, cfg.AdminPassword = e2eAdminEmail, e2eAdminPassword
	cfg.ShutdownTimeout = 5 * time.Second
	if ff := os.Getenv("LECTERN_FFMPEG"); ff != "" {
		cfg.FFmpeg = ff
	}
	if fp := os.Getenv("LECTERN_FFPROBE"); fp != "" {
		cfg.FFprobe = fp
	}
	m := NewServeMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	t.Cleanup(func() { m.Close() })
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("serve: %v", err)
	}
	base := "http://" + m.Addr()
	admin := newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	teacher := admin.newUser(t, "teacher")
	var course, lesson struct{ ID string }
	teacher.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Optics"}, http.StatusCreated, &course)
	teacher.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Refraction"}, http.StatusCreated, &lesson)

	// The player: polls playback and checks every playlist it is offered.
	var (
		mu       sync.Mutex
		broken   []string
		played   bool
		stop     = make(chan struct{})
		polling  sync.WaitGroup
		pbStatus = map[int]int{}
	)
	polling.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			status, master, missing := playOnce(teacher, base, lesson.ID)
			mu.Lock()
			pbStatus[status]++
			if master != "" {
				played = len(missing) == 0 || played
				broken = append(broken, missing...)
			}
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		polling.Wait()
	})

	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	teacher.call(t, "PUT", "/api/v1/lessons/"+lesson.ID+"/source", f, http.StatusAccepted, nil)
	f.Close()

	// MinIO starts resetting connections while the worker encodes, before
	// it uploads, and goes on until the try has failed.
	waitTranscode(t, teacher, lesson.ID, func(st transcodeView) bool { return st.State == "running" && st.Percent > 0 })
	proxy.ResetPeer()
	t.Log("MinIO resets every connection")
	retrying := waitTranscode(t, teacher, lesson.ID, func(st transcodeView) bool { return st.State == "retrying" })
	t.Logf("the try failed and will be retried: %q", retrying.Error)
	if retrying.Error == "" {
		t.Errorf("a retrying transcode shows no reason")
	}
	time.Sleep(2 * time.Second)
	proxy.Heal()
	t.Log("MinIO answers again")
	waitReady(t, teacher, lesson.ID)
	// Let the player see the published lesson a few times.
	time.Sleep(time.Second)
	close(stop)
	polling.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("playback answers seen while polling: %v", pbStatus)
	if len(broken) > 0 {
		t.Errorf("a playlist offered to the player named files that did not answer: %q", broken)
	}
	if !played {
		t.Errorf("the player never played the lesson through once it was ready")
	}
}

// transcodeView is a lesson's transcode as the API shows it.
type transcodeView struct {
	State   string
	Percent float64
	Error   string
}

// waitTranscode polls the lesson until its transcode satisfies ok, and
// returns it; a failed lesson fails the test.
func waitTranscode(t *testing.T, s *session, id string, ok func(transcodeView) bool) transcodeView {
	t.Helper()
	for deadline := time.Now().Add(transcodeGuard); ; time.Sleep(50 * time.Millisecond) {
		var l struct {
			Status    string
			Transcode *transcodeView
		}
		s.call(t, "GET", "/api/v1/lessons/"+id, nil, http.StatusOK, &l)
		if l.Transcode != nil && ok(*l.Transcode) {
			return *l.Transcode
		}
		if l.Status == "failed" {
			t.Fatalf("transcode failed: %+v", l.Transcode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting; last status %q, transcode %+v", l.Status, l.Transcode)
		}
	}
}

// playOnce asks for the lesson's playback and, when it is offered, fetches
// the master playlist and every file the playlists name. It returns the
// status of /playback, the master URL when one was offered, and the files
// that did not answer 200.
func playOnce(s *session, base, lessonID string) (status int, master string, missing []string) {
	resp, err := s.hc.Get(base + "/api/v1/lessons/" + lessonID + "/playback")
	if err != nil {
		return -1, "", nil
	}
	var pb struct {
		HLSURL string `json:"hls_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&pb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || pb.HLSURL == "" {
		return resp.StatusCode, "", nil
	}
	master = base + pb.HLSURL
	get := func(u string) (int, []byte) {
		resp, err := s.hc.Get(u)
		if err != nil {
			return -1, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	st, body := get(master)
	if st != http.StatusOK {
		return http.StatusOK, master, []string{"master.m3u8: " + http.StatusText(st)}
	}
	for _, v := range playlistURIs(body) {
		vURL := resolveURL(master, v)
		st, vb := get(vURL)
		if st != http.StatusOK {
			missing = append(missing, v)
			continue
		}
		for _, seg := range playlistURIs(vb) {
			if st, _ := get(resolveURL(vURL, seg)); st != http.StatusOK {
				missing = append(missing, v+" → "+seg)
			}
		}
	}
	return http.StatusOK, master, missing
}

// resolveURL resolves ref against base, both well-formed here.
func resolveURL(base, ref string) string {
	i := strings.LastIndex(base, "/")
	return base[:i+1] + ref
}
