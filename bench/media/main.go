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
// compare before and after in one run: the lesson is created through the
// API, with "publish_at": "now", which a tree from before lessons had
// drafts ignores (its lessons were always shown), where setting the
// lesson's publication in the database would not build there.
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
	"io"
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
	cls, err := prepare(ctx, d)
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
	lessonID, err := createLesson(ctx, base, cls)
	if err != nil {
		return err
	}
	if err := storeOutput(ctx, d, store, lessonID, size); err != nil {
		return err
	}
	hls, err := playbackURL(ctx, base, lessonID, cls.student)
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

// class is a course with a teacher and an enrolled student, and their
// session cookies.
type class struct {
	courseID         string
	teacher, student string
}

// prepare stores a course, its teacher and an enrolled student, each
// with a session.
func prepare(ctx context.Context, d *db.DB) (*class, error) {
	run := randomHex(4)
	teacher := &lectern.User{Email: "media-teacher-" + run + "@example.org", Name: "Bench teacher", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		return nil, err
	}
	course := &lectern.Course{Title: "Media benchmark " + run, OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		return nil, err
	}
	u := &lectern.User{Email: "media-student-" + run + "@example.org", Name: "Student", Role: lectern.RoleStudent}
	if err := d.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	if _, err := d.JoinCourse(ctx, course.JoinCode, u.ID); err != nil {
		return nil, err
	}
	cls := &class{courseID: course.ID}
	for _, s := range []struct {
		userID string
		cookie *string
	}{{teacher.ID, &cls.teacher}, {u.ID, &cls.student}} {
		secret := randomHex(32)
		sum := sha256.Sum256([]byte(secret))
		if err := d.CreateSession(ctx, &lectern.Session{TokenHash: hex.EncodeToString(sum[:]), UserID: s.userID,
			ExpiresAt: time.Now().Add(24 * time.Hour)}); err != nil {
			return nil, err
		}
		*s.cookie = "lectern_session=" + secret
	}
	return cls, nil
}

// createLesson creates the lesson as its teacher does, published now,
// and returns its ID.
func createLesson(ctx context.Context, base string, cls *class) (string, error) {
	body := strings.NewReader(`{"title": "One segment", "publish_at": "now"}`)
	var l struct {
		ID string `json:"id"`
	}
	if err := call(ctx, http.MethodPost, base+"/api/v1/courses/"+cls.courseID+"/lessons", cls.teacher, body, &l); err != nil {
		return "", fmt.Errorf("create lesson: %w", err)
	}
	return l.ID, nil
}

// storeOutput stores a published output of one size-byte segment for the
// lesson and makes it the lesson's, as a finished transcode does.
func storeOutput(ctx context.Context, d *db.DB, store *disk.Store, lessonID string, size int) error {
	prefix := lectern.OutputPrefix(lessonID, 1)
	seg := make([]byte, size)
	_, _ = rand.Read(seg)
	files := map[string][]byte{
		"master.m3u8":      []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2500000\nv0/index.m3u8\n"),
		"v0/index.m3u8":    []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg_00000.m4s\n#EXT-X-ENDLIST\n"),
		"v0/seg_00000.m4s": seg,
	}
	for rel, b := range files {
		if _, err := store.Put(ctx, prefix+rel, bytes.NewReader(b)); err != nil {
			return err
		}
	}
	ready, dur := lectern.LessonReady, int64(4000)
	_, err := d.UpdateLesson(ctx, lessonID, lectern.LessonUpdate{Status: &ready, DurationMS: &dur, OutputPrefix: &prefix})
	return err
}

// playbackURL asks the playback API for the lesson's master playlist URL.
func playbackURL(ctx context.Context, base, lessonID, cookie string) (string, error) {
	var p struct {
		HLSURL string `json:"hls_url"`
	}
	if err := call(ctx, http.MethodGet, base+"/api/v1/lessons/"+lessonID+"/playback", cookie, nil, &p); err != nil {
		return "", fmt.Errorf("playback: %w", err)
	}
	return p.HLSURL, nil
}

// call makes an API request with a session cookie and decodes its JSON
// answer into out.
func call(ctx context.Context, method, url, cookie string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
