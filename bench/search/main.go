// Command search measures how long a search takes in a school's worth of
// captions: the latency percentiles of db.Search, the repository method
// behind GET /api/v1/search, for a student who belongs to a few courses.
//
// It fills the database named by -database-url (SQLite or PostgreSQL; use
// a scratch database, or -postgres-server to have one created and dropped)
// with -lessons lessons spread over -courses courses, each with an hour of
// captions (-cues cues of 5 to 14 words drawn from a vocabulary with a
// Zipf distribution, as speech has) and a few comments, enrols a student
// in -student-courses of the courses, and then runs each kind of search
// -runs times, round robin: a very common word, a common word, a rare
// word, a phrase, two words, a word that is nowhere, and a common word in
// one course. It prints the p50, p95 and maximum of each, and the p50 and
// p95 of the CPU time the process spent on it.
//
// With -reuse, a SQLite file that an earlier run filled is searched again
// without filling it anew.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	crand "crypto/rand"
	"encoding/hex"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the scratch database

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

type config struct {
	databaseURL    string
	pgServer       string
	lessons        int
	courses        int
	cues           int
	comments       int
	studentCourses int
	vocabulary     int
	runs           int
	reuse          bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.databaseURL, "database-url", "", "database to fill and search (sqlite:PATH or postgres://…)")
	flag.StringVar(&cfg.pgServer, "postgres-server", "", "instead of -database-url: a PostgreSQL server URL on which to create (and then drop) a scratch database")
	flag.IntVar(&cfg.lessons, "lessons", 1000, "lessons in all")
	flag.IntVar(&cfg.courses, "courses", 50, "courses the lessons are spread over")
	flag.IntVar(&cfg.cues, "cues", 900, "caption cues per lesson (an hour of speech is about 900)")
	flag.IntVar(&cfg.comments, "comments", 10, "comments and questions per lesson")
	flag.IntVar(&cfg.studentCourses, "student-courses", 3, "courses the searching student belongs to")
	flag.IntVar(&cfg.vocabulary, "vocabulary", 10000, "distinct words the captions are made of")
	flag.IntVar(&cfg.runs, "runs", 100, "times each search is run")
	flag.BoolVar(&cfg.reuse, "reuse", false, "search a database an earlier run filled, without filling it")
	flag.Parse()
	if (cfg.databaseURL == "") == (cfg.pgServer == "") || cfg.lessons < 1 || cfg.courses < 1 || cfg.runs < 1 ||
		cfg.studentCourses < 1 || cfg.studentCourses > cfg.courses {
		fmt.Fprintln(os.Stderr, "search: give one of -database-url and -postgres-server; counts must be positive and -student-courses at most -courses")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "search:", err)
		os.Exit(1)
	}
}

// benchTeacher names the teacher of the benchmark's courses; -reuse finds
// a filled database by it.
const benchTeacher = "search-bench-teacher@example.org"

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
	words := vocabulary(cfg.vocabulary, rand.New(rand.NewPCG(1, 2)))
	var w *world
	if cfg.reuse {
		w, err = findWorld(ctx, d)
	} else {
		w, err = fill(ctx, d, cfg, words, out)
	}
	if err != nil {
		return err
	}
	if err := analyze(ctx, d, cfg.databaseURL); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d lessons in %d courses, %d cues each; the student belongs to %d courses; %d runs of each search\n",
		d.Dialect(), cfg.lessons, cfg.courses, cfg.cues, cfg.studentCourses, cfg.runs)
	return measure(ctx, d, w, cfg, words, out)
}

// world is who searches where.
type world struct {
	student *lectern.User
	course  string // one of the student's courses
}

// fill creates the teacher, courses, lessons with captions and comments,
// and the student.
func fill(ctx context.Context, d *db.DB, cfg config, words []string, out io.Writer) (*world, error) {
	start := time.Now()
	teacher := &lectern.User{Email: benchTeacher, Name: "Bench teacher", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		return nil, fmt.Errorf("create teacher (is the database already filled? use -reuse): %w", err)
	}
	student := &lectern.User{Email: "search-bench-student@example.org", Name: "Bench student", Role: lectern.RoleStudent}
	if err := d.CreateUser(ctx, student); err != nil {
		return nil, err
	}
	courses := make([]*lectern.Course, cfg.courses)
	for i := range courses {
		courses[i] = &lectern.Course{Title: fmt.Sprintf("Course %d", i+1), OwnerID: teacher.ID}
		if err := d.CreateCourse(ctx, courses[i]); err != nil {
			return nil, err
		}
	}
	// The student's courses are spread over the list, so that their
	// lessons are spread over the tables.
	for i := range cfg.studentCourses {
		if _, err := d.JoinCourse(ctx, courses[i*cfg.courses/cfg.studentCourses].JoinCode, student.ID); err != nil {
			return nil, err
		}
	}
	sp := newSpeaker(42, words)
	hour := int64(time.Hour / time.Millisecond)
	step := hour / int64(max(cfg.cues, 1))
	for i := range cfg.lessons {
		// Round robin: courses get their lessons side by side over time,
		// as a school's do, rather than one course after another.
		l := &lectern.Lesson{CourseID: courses[i%cfg.courses].ID, Title: sp.cue(), Description: sp.cue() + " " + sp.cue(),
			PublishedAt: new(time.Unix(0, 0))}
		if err := d.CreateLesson(ctx, l); err != nil {
			return nil, err
		}
		if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{DurationMS: &hour}); err != nil {
			return nil, err
		}
		save := db.CaptionSave{LessonID: l.ID, Lang: "en", ObjectKey: lectern.CaptionKey(l.ID, "en", "bench"),
			Source: lectern.CaptionFromUpload, DefaultLabel: "English", AuthorID: teacher.ID}
		for c := range cfg.cues {
			at := int64(c) * step
			save.Cues = append(save.Cues, lectern.CaptionCue{StartMS: at, EndMS: at + step - 200, Text: sp.cue()})
		}
		if _, _, err := d.SaveCaptions(ctx, save); err != nil {
			return nil, err
		}
		for c := range cfg.comments {
			kind := lectern.KindComment
			if c%3 == 0 {
				kind = lectern.KindQuestion
			}
			e := &lectern.Comment{LessonID: l.ID, Kind: kind, Visibility: lectern.VisibilityClass,
				AtMS: int64(c) * hour / int64(cfg.comments), Body: sp.cue() + " " + sp.cue()}
			if err := d.CreateComment(ctx, e, teacher); err != nil {
				return nil, err
			}
		}
		if (i+1)%100 == 0 || i+1 == cfg.lessons {
			fmt.Fprintf(out, "filled %d of %d lessons in %v\n", i+1, cfg.lessons, time.Since(start).Round(time.Second))
		}
	}
	return findWorld(ctx, d)
}

// findWorld finds the student of a filled database and one of its courses.
func findWorld(ctx context.Context, d *db.DB) (*world, error) {
	student, err := d.FindUserByEmail(ctx, "search-bench-student@example.org")
	if err != nil {
		return nil, fmt.Errorf("find the benchmark's student (was the database filled?): %w", err)
	}
	courses, err := d.FindCourses(ctx, student)
	if err != nil || len(courses) == 0 {
		return nil, fmt.Errorf("find the student's courses: %v", err)
	}
	return &world{student: student, course: courses[0].ID}, nil
}

// analyze has PostgreSQL gather the statistics of the tables just filled,
// as autovacuum would on a live server: without them its planner guesses
// the sizes of small tables and may choose poor joins.
func analyze(ctx context.Context, d *db.DB, url string) error {
	if d.Dialect() != db.DialectPostgres {
		return nil
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// search is one kind of search the benchmark times.
type search struct {
	name   string
	filter db.SearchFilter
	times  []time.Duration
	cpu    []time.Duration
	hits   int
}

func measure(ctx context.Context, d *db.DB, w *world, cfg config, words []string, out io.Writer) error {
	searches := []*search{
		{name: fmt.Sprintf("very common word (%q, rank 1)", words[0]), filter: db.SearchFilter{Query: words[0]}},
		{name: fmt.Sprintf("common word (%q, rank 11)", words[10]), filter: db.SearchFilter{Query: words[10]}},
		{name: fmt.Sprintf("rare word (rank 4001)"), filter: db.SearchFilter{Query: words[4000]}},
		{name: "phrase (\"cell membrane\")", filter: db.SearchFilter{Query: `"cell membrane"`}},
		{name: fmt.Sprintf("two words (ranks 101 and 201)"), filter: db.SearchFilter{Query: words[100] + " " + words[200]}},
		{name: "no hit", filter: db.SearchFilter{Query: "xylophonist"}},
		{name: fmt.Sprintf("common word in one course"), filter: db.SearchFilter{Query: words[10], CourseID: w.course}},
	}
	// One unmeasured round warms the caches.
	for _, s := range searches {
		hits, _, err := d.Search(ctx, w.student, s.filter)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		s.hits = len(hits)
	}
	for range cfg.runs {
		for _, s := range searches {
			cpu0, start := cpuTime(), time.Now()
			if _, _, err := d.Search(ctx, w.student, s.filter); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			s.times = append(s.times, time.Since(start))
			s.cpu = append(s.cpu, cpuTime()-cpu0)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "search\tfirst page\tp50\tp95\tmax\tCPU p50\tCPU p95\t")
	for _, s := range searches {
		slices.Sort(s.times)
		slices.Sort(s.cpu)
		fmt.Fprintf(tw, "%s\t%d hits\t%s\t%s\t%s\t%s\t%s\t\n", s.name, s.hits,
			ms(percentile(s.times, 50)), ms(percentile(s.times, 95)), ms(s.times[len(s.times)-1]),
			ms(percentile(s.cpu, 50)), ms(percentile(s.cpu, 95)))
	}
	return tw.Flush()
}

// percentile returns the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// cpuTime is the CPU time this process has used (user and system). The
// benchmark searches one at a time, so the CPU time a search takes is
// what its latency would be on an otherwise idle machine, which a shared
// machine's wall clock does not show. On SQLite that is all of it; on
// PostgreSQL the server's share is not counted.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

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
	b := make([]byte, 6)
	_, _ = crand.Read(b)
	name := "lectern_bench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	drop := func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "search: drop scratch database:", err)
		}
		admin.Close()
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
