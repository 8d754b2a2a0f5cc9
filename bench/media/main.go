// Command media serves one published lesson from Lectern's /media route,
// for bench/media.sh to load with wrk beside nginx serving the same file.
//
// It prepares, in -data (a scratch directory), a SQLite database and disk
// storage holding a lesson whose published output has a master playlist
// and one -size byte segment, starts Lectern on -addr, asks the playback
// API for the lesson's media URL as an enrolled student would, and prints
//
//	url <the segment's media URL>
//	file <the segment's path on disk>
//
// then serves until interrupted. The segment URL carries the media token
// and no cookie, as a player's segment requests do. The program uses only
// what Lectern has had since media delivery began (db, storage/disk,
// server.New), so bench/media.sh can build it against an older commit to
// compare before and after in one run.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof, on its own address
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

func main() {
	data := flag.String("data", "", "scratch directory for the database and storage (required)")
	addr := flag.String("addr", "127.0.0.1:0", "address to serve on")
	size := flag.Int("size", 1_270_000, "bytes of the segment")
	pprofAddr := flag.String("pprof", "", "also serve net/http/pprof on this address (profiling under the bench)")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "media: -data is required")
		os.Exit(2)
	}
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "media: pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *data, *addr, *size); err != nil {
		fmt.Fprintln(os.Stderr, "media:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, data, addr string, size int) error {
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(data, "bench.db"), lectern.SystemClock{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	storeDir := filepath.Join(data, "storage")
	store, err := disk.New(storeDir)
	if err != nil {
		return err
	}
	lessonID, cookie, err := prepare(ctx, d, store, size)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		DB: d, Storage: store, Secret: []byte(randomHex(32)),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		// As cmd/lectern runs: metrics on, an access log at Info (where a
		// served segment's line is Debug, so not written).
		Metrics:   prometheus.NewRegistry(),
		AccessLog: slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "http"),
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	hls, err := playbackURL(ctx, base, lessonID, cookie)
	if err != nil {
		return err
	}
	segURL := base + strings.TrimSuffix(hls, "master.m3u8") + "v0/seg_00000.m4s"
	key := lectern.OutputPrefix(lessonID, 1) + "v0/seg_00000.m4s"
	fmt.Printf("url %s\nfile %s\n", segURL, filepath.Join(storeDir, "objects", filepath.FromSlash(key)))
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// prepare stores a published lesson with one segment and a student
// enrolled in its course, and returns the lesson and the student's cookie.
func prepare(ctx context.Context, d *db.DB, store *disk.Store, size int) (string, string, error) {
	run := randomHex(4)
	teacher := &lectern.User{Email: "media-teacher-" + run + "@example.org", Name: "Bench teacher", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		return "", "", err
	}
	course := &lectern.Course{Title: "Media benchmark " + run, OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		return "", "", err
	}
	// Published: the students the bench plays see it.
	l := &lectern.Lesson{CourseID: course.ID, Title: "One segment", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		return "", "", err
	}
	prefix := lectern.OutputPrefix(l.ID, 1)
	seg := make([]byte, size)
	_, _ = rand.Read(seg)
	files := map[string][]byte{
		"master.m3u8":      []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2500000\nv0/index.m3u8\n"),
		"v0/index.m3u8":    []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg_00000.m4s\n#EXT-X-ENDLIST\n"),
		"v0/seg_00000.m4s": seg,
	}
	for rel, b := range files {
		if _, err := store.Put(ctx, prefix+rel, bytes.NewReader(b)); err != nil {
			return "", "", err
		}
	}
	ready, dur := lectern.LessonReady, int64(4000)
	if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &dur, OutputPrefix: &prefix}); err != nil {
		return "", "", err
	}
	u := &lectern.User{Email: "media-student-" + run + "@example.org", Name: "Student", Role: lectern.RoleStudent}
	if err := d.CreateUser(ctx, u); err != nil {
		return "", "", err
	}
	if _, err := d.JoinCourse(ctx, course.JoinCode, u.ID); err != nil {
		return "", "", err
	}
	secret := randomHex(32)
	sum := sha256.Sum256([]byte(secret))
	if err := d.CreateSession(ctx, &lectern.Session{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID,
		ExpiresAt: time.Now().Add(24 * time.Hour)}); err != nil {
		return "", "", err
	}
	return l.ID, "lectern_session=" + secret, nil
}

// playbackURL asks the playback API for the lesson's master playlist URL.
func playbackURL(ctx context.Context, base, lessonID, cookie string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/lessons/"+lessonID+"/playback", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var p struct {
		HLSURL string `json:"hls_url"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("playback: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return "", err
	}
	return p.HLSURL, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
