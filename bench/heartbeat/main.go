// Command heartbeat measures how many progress heartbeats Lectern
// acknowledges per second, and how long students wait for the answer,
// with many students watching at once.
//
// It prepares a course with one ready hour-long lesson and -students
// enrolled students in the database named by -database-url (SQLite or
// PostgreSQL; use a scratch database), then drives them over HTTP for
// -duration: each student sends a heartbeat (one more second played) and,
// when it is acknowledged, waits -think and sends the next. Beats go to
// -url, a running Lectern on the same database, or, when -url is empty,
// to a server started in this process on a loopback port. It prints the
// beats acknowledged per second and the latency percentiles.
//
// Students log in through sessions written straight into the database
// (the hex SHA-256 of the cookie value, as the server stores them), so
// that setting up hundreds of them does not trip the login rate limits.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the scratch database

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

// config is the command line.
type config struct {
	databaseURL string
	pgServer    string
	url         string
	students    int
	duration    time.Duration
	warmup      time.Duration
	think       time.Duration
	baseline    bool
	batching    server.HeartbeatBatching
	cpuProfile  string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.databaseURL, "database-url", "", "database to prepare the course in (sqlite:PATH or postgres://…); required")
	flag.StringVar(&cfg.pgServer, "postgres-server", "", "instead of -database-url: a PostgreSQL server URL on which to create (and then drop) a scratch database")
	flag.StringVar(&cfg.url, "url", "", "base URL of a running Lectern on that database; empty starts one in this process")
	flag.IntVar(&cfg.students, "students", 200, "students watching at once")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to measure")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "how long to run before measuring")
	flag.BoolVar(&cfg.baseline, "baseline", false, "send GET /api/v1/me instead of heartbeats: what authentication and HTTP alone cost")
	flag.DurationVar(&cfg.think, "think", 0, "pause between a student's acknowledged beat and the next (0: none)")
	flag.DurationVar(&cfg.batching.MaxWait, "max-wait", 0, "in-process server: group commit MaxWait (0: default)")
	flag.IntVar(&cfg.batching.MaxSize, "max-size", 0, "in-process server: beats per transaction at most (0: default; 1 turns group commit off)")
	flag.IntVar(&cfg.batching.Commits, "commits", 0, "in-process server: batches committing at once (0: default)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run (client and in-process server) to this file")
	flag.Parse()
	if (cfg.databaseURL == "") == (cfg.pgServer == "") || cfg.students < 1 || cfg.duration <= 0 {
		fmt.Fprintln(os.Stderr, "heartbeat: give one of -database-url and -postgres-server; -students and -duration must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "heartbeat:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.pgServer != "" {
		url, drop, err := scratchDatabase(ctx, cfg.pgServer)
		if err != nil {
			return err
		}
		defer drop()
		cfg.databaseURL = url
	}
	d, err := db.Open(ctx, cfg.databaseURL, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	class, err := prepare(ctx, d, cfg.students)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(cfg.url, "/")
	if base == "" {
		var stopServer func()
		if base, stopServer, err = startServer(d, cfg.batching); err != nil {
			return err
		}
		defer stopServer()
	}
	if cfg.cpuProfile != "" {
		stopProfile, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	res, err := drive(ctx, base, class, cfg)
	if err != nil {
		return err
	}
	mode, what := "in-process server", "heartbeats"
	if cfg.url != "" {
		mode = cfg.url
	}
	if cfg.baseline {
		what = "baseline GET /api/v1/me"
	}
	fmt.Fprintf(out, "%s, %s, %s, %d students, think %v, %v measured\n", d.Dialect(), mode, what, cfg.students, cfg.think, cfg.duration)
	res.print(out, cfg.duration)
	return nil
}

// class is the prepared lesson and one session cookie per student.
type class struct {
	lessonID string
	cookies  []string
}

// prepare creates a teacher, a course, a ready lesson of an hour and the
// students, each enrolled and logged in.
func prepare(ctx context.Context, d *db.DB, students int) (*class, error) {
	run := randomHex(4)
	teacher := &lectern.User{Email: "bench-teacher-" + run + "@example.org", Name: "Bench teacher", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		return nil, err
	}
	course := &lectern.Course{Title: "Heartbeat benchmark " + run, OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		return nil, err
	}
	// Published: the students the bench plays see it.
	l := &lectern.Lesson{CourseID: course.ID, Title: "An hour", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		return nil, err
	}
	ready, hour := lectern.LessonReady, int64(time.Hour/time.Millisecond)
	if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &hour}); err != nil {
		return nil, err
	}
	c := &class{lessonID: l.ID}
	for i := range students {
		u := &lectern.User{Email: fmt.Sprintf("bench-%s-%d@example.org", run, i), Name: fmt.Sprint("Student ", i), Role: lectern.RoleStudent}
		if err := d.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		if _, err := d.JoinCourse(ctx, course.JoinCode, u.ID); err != nil {
			return nil, err
		}
		secret := randomHex(32)
		sum := sha256.Sum256([]byte(secret))
		s := &lectern.Session{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, ExpiresAt: time.Now().Add(24 * time.Hour)}
		if err := d.CreateSession(ctx, s); err != nil {
			return nil, err
		}
		c.cookies = append(c.cookies, "lectern_session="+secret)
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startServer serves Lectern on a loopback port until the returned stop
// is called; stop drains the heartbeat batcher like a real shutdown.
func startServer(d *db.DB, batching server.HeartbeatBatching) (string, func(), error) {
	dir, err := os.MkdirTemp("", "lectern-bench-")
	if err != nil {
		return "", nil, err
	}
	store, err := disk.New(dir)
	if err != nil {
		return "", nil, err
	}
	srv, err := server.New(server.Options{
		DB: d, Storage: store, Secret: []byte(randomHex(32)), Heartbeats: batching,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "heartbeat: serve:", err)
		}
	}()
	stop := func() {
		_ = hs.Shutdown(context.Background())
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// startCPUProfile profiles this process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// scratchDatabase creates an empty database on the PostgreSQL server at
// serverURL and returns its URL and a function that drops it.
func scratchDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	u, err := neturl.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("parse -postgres-server: %w", err)
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, err
	}
	name := "lectern_bench_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	drop := func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "heartbeat: drop scratch database:", err)
		}
		admin.Close()
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
