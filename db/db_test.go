package db_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// fakeClock is a lectern.Clock that tests move by hand. Each Now also
// moves it on by step, so that rows created one after another have
// distinct, increasing times. It deliberately runs in a non-UTC zone and
// with nanoseconds, which the database must normalise away.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func newFakeClock() *fakeClock {
	zone := time.FixedZone("IST", 5*3600+1800)
	return &fakeClock{now: time.Date(2026, 3, 14, 15, 9, 26, 535897932, zone), step: time.Millisecond}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// Peek returns the time the next Now will return, without moving the clock.
func (c *fakeClock) Peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set makes the next Now return t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stored is t as the database keeps it: UTC, microseconds.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// openDB opens and migrates the database at url, closed when the test ends.
func openDB(tb testing.TB, url string, clock lectern.Clock) *db.DB {
	tb.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, clock)
	if err != nil {
		tb.Fatalf("Open(%q): %v", url, err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := d.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return d
}

// forEachDB runs fn on a fresh SQLite file and on a fresh PostgreSQL
// database, each migrated, as subtests named for the dialect.
func forEachDB(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	forEachDBClock(t, func(t *testing.T, d *db.DB, _ *fakeClock) { fn(t, d) })
}

// forEachDBClock is forEachDB for tests that move the clock.
func forEachDBClock(t *testing.T, fn func(t *testing.T, d *db.DB, clock *fakeClock)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		clock := newFakeClock()
		fn(t, openDB(t, filepath.Join(t.TempDir(), "lectern.db"), clock), clock)
	})
	t.Run("postgres", func(t *testing.T) {
		clock := newFakeClock()
		fn(t, openDB(t, testenv.PostgresURL(t), clock), clock)
	})
}

// wantCode fails the test unless err carries the lectern error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := lectern.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

func newUser(tb testing.TB, d *db.DB, role lectern.Role) *lectern.User {
	tb.Helper()
	return newNamedUser(tb, d, role, testenv.Name(string(role)))
}

func newNamedUser(tb testing.TB, d *db.DB, role lectern.Role, name string) *lectern.User {
	tb.Helper()
	u := &lectern.User{Email: testenv.Name(name) + "@example.com", Name: name, Role: role, PasswordHash: "hash"}
	if err := d.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return u
}

func newCourse(tb testing.TB, d *db.DB, owner *lectern.User) *lectern.Course {
	tb.Helper()
	c := &lectern.Course{Title: "Course " + testenv.Name("c"), Description: "about things", OwnerID: owner.ID}
	if err := d.CreateCourse(context.Background(), c); err != nil {
		tb.Fatalf("CreateCourse: %v", err)
	}
	return c
}

func join(tb testing.TB, d *db.DB, c *lectern.Course, u *lectern.User) {
	tb.Helper()
	if _, err := d.JoinCourse(context.Background(), c.JoinCode, u.ID); err != nil {
		tb.Fatalf("JoinCourse: %v", err)
	}
}

func newLesson(tb testing.TB, d *db.DB, c *lectern.Course) *lectern.Lesson {
	tb.Helper()
	l := &lectern.Lesson{CourseID: c.ID, Title: "Lesson " + testenv.Name("l"), Description: "watch this", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(context.Background(), l); err != nil {
		tb.Fatalf("CreateLesson: %v", err)
	}
	return l
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("SQLiteURLForms", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "forms.db")
		first := openDB(t, "sqlite:"+path, nil)
		if got := first.Dialect(); got != db.DialectSQLite {
			t.Errorf("Dialect() = %q, want %q", got, db.DialectSQLite)
		}
		u := newUser(t, first, lectern.RoleStudent)
		for _, url := range []string{"file:" + path, path} {
			d := openDB(t, url, nil)
			if _, err := d.FindUserByID(ctx, u.ID); err != nil {
				t.Errorf("%s: FindUserByID of a user created through sqlite:%s: %v", url, path, err)
			}
		}
	})
	t.Run("SQLiteInMemory", func(t *testing.T) {
		d := openDB(t, "sqlite::memory:", nil)
		u := newUser(t, d, lectern.RoleStudent)
		if _, err := d.FindUserByID(ctx, u.ID); err != nil {
			t.Errorf("FindUserByID in an in-memory database: %v", err)
		}
	})
	t.Run("PostgresURLForms", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		for _, u := range []string{url, "postgresql" + url[len("postgres"):]} {
			d := openDB(t, u, nil)
			if got := d.Dialect(); got != db.DialectPostgres {
				t.Errorf("%s: Dialect() = %q, want %q", u, got, db.DialectPostgres)
			}
		}
	})
	t.Run("UnreachablePostgres", func(t *testing.T) {
		d, err := db.Open(ctx, "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=5", nil)
		if err == nil {
			d.Close()
			t.Fatal("Open of a server that does not listen succeeded")
		}
	})
	t.Run("SQLiteInMissingDirectory", func(t *testing.T) {
		d, err := db.Open(ctx, filepath.Join(t.TempDir(), "missing", "x.db"), nil)
		if err == nil {
			d.Close()
			t.Fatal("Open of a file in a missing directory succeeded")
		}
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("TwiceIsNoOp", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, d *db.DB) {
			u := newUser(t, d, lectern.RoleTeacher)
			if err := d.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			got, err := d.FindUserByID(ctx, u.ID)
			if err != nil {
				t.Fatalf("user lost by second Migrate: %v", err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user changed by second Migrate (-want +got):\n%s", diff)
			}
		})
	})
	t.Run("ConcurrentPostgres", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		var (
			wg   sync.WaitGroup
			errs = make([]error, 3)
			dbs  = make([]*db.DB, 3)
		)
		for i := range dbs {
			d, err := db.Open(ctx, url, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { d.Close() })
			dbs[i] = d
		}
		for i, d := range dbs {
			wg.Go(func() { errs[i] = d.Migrate(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate #%d: %v", i, err)
			}
		}
		for _, d := range dbs {
			newUser(t, d, lectern.RoleStudent)
		}
		if n, err := dbs[0].CountUsers(ctx); err != nil || n != len(dbs) {
			t.Errorf("CountUsers() = %d, %v; want %d", n, err, len(dbs))
		}
	})
}

func TestTimeRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("CreatedAtIsClockInUTC", func(t *testing.T) {
			want := stored(clock.Peek())
			u := newUser(t, d, lectern.RoleStudent)
			got, err := d.FindUserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for name, tm := range map[string]time.Time{"filled": u.CreatedAt, "read": got.CreatedAt} {
				if !tm.Equal(want) || tm.Location() != time.UTC || tm.Nanosecond() != want.Nanosecond() {
					t.Errorf("%s CreatedAt = %v (%v), want %v in UTC", name, tm, tm.Location(), want)
				}
			}
		})
		t.Run("NullableTimes", func(t *testing.T) {
			l := newLesson(t, d, newCourse(t, d, newUser(t, d, lectern.RoleTeacher)))
			j := &lectern.Job{LessonID: l.ID, Attempt: 1}
			if err := d.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			started := time.Date(2026, 5, 1, 9, 30, 0, 123456789, time.FixedZone("JST", 9*3600))
			finished := time.Date(2026, 5, 1, 0, 31, 0, 0, time.UTC)
			upd, err := d.UpdateJob(ctx, j.ID, db.JobUpdate{StartedAt: &started, FinishedAt: &finished})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.FindJobByID(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			for name, job := range map[string]*lectern.Job{"UpdateJob": upd, "FindJobByID": got} {
				if job.HeartbeatAt != nil {
					t.Errorf("%s: HeartbeatAt = %v, want nil", name, job.HeartbeatAt)
				}
				for field, pair := range map[string][2]*time.Time{
					"StartedAt":  {job.StartedAt, &started},
					"FinishedAt": {job.FinishedAt, &finished},
				} {
					gotT, want := pair[0], stored(*pair[1])
					if gotT == nil || !gotT.Equal(want) || gotT.Location() != time.UTC {
						t.Errorf("%s: %s = %v, want %v in UTC", name, field, gotT, want)
					}
				}
			}
		})
		t.Run("OrderAcrossFractionalSeconds", func(t *testing.T) {
			// Rows created at whole and fractional seconds must sort by
			// time, not by how their text happens to compare.
			l := newLesson(t, d, newCourse(t, d, newUser(t, d, lectern.RoleTeacher)))
			base := clock.Peek().Truncate(time.Second).Add(time.Minute)
			var want []string
			for i, at := range []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond, 999001 * time.Microsecond, 9999001 * time.Microsecond} {
				clock.Set(base.Add(at))
				j := &lectern.Job{LessonID: l.ID, Attempt: i + 1}
				if err := d.CreateJob(ctx, j); err != nil {
					t.Fatal(err)
				}
				want = append([]string{j.ID}, want...)
			}
			jobs, err := d.FindJobs(ctx, db.JobFilter{LessonID: &l.ID})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindJobs order, newest first (-want +got):\n%s", diff)
			}
		})
		t.Run("ExpiryAtSubsecond", func(t *testing.T) {
			u := newUser(t, d, lectern.RoleStudent)
			s := &lectern.Session{TokenHash: testenv.Name("h"), UserID: u.ID, ExpiresAt: clock.Peek().Add(1500 * time.Millisecond)}
			if err := d.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second)
			if _, err := d.FindUserBySession(ctx, s.TokenHash); err != nil {
				t.Fatalf("FindUserBySession 1 s before expiry: %v", err)
			}
			clock.Advance(time.Second)
			_, err := d.FindUserBySession(ctx, s.TokenHash)
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}

// TestConcurrentWrites checks that concurrent requests that read and then
// write never fail with "database is locked" (SQLITE_BUSY) or a deadlock.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		const workers, rounds = 32, 20
		shared := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		errs := make(chan error, workers*rounds)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range rounds {
					u := &lectern.User{Email: testenv.Name("w") + "@example.com", Role: lectern.RoleTeacher}
					if err := d.CreateUser(ctx, u); err != nil {
						errs <- err
						return
					}
					if err := d.CreateCourse(ctx, &lectern.Course{Title: "mine", OwnerID: u.ID}); err != nil {
						errs <- err
						return
					}
					if _, err := d.JoinCourse(ctx, shared.JoinCode, u.ID); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write: %v", err)
		}
		members, err := d.FindCourseMembers(ctx, shared.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(members), workers*rounds+1; got != want {
			t.Errorf("shared course has %d members, want %d", got, want)
		}
	})
}

// oldComment stores a comment on l by author at atMS with the columns of
// the schema that brought comments, deleted or not, as a release before
// later migrations did (the queries of today read later columns).
func oldComment(tb testing.TB, d *db.DB, l *lectern.Lesson, author *lectern.User, atMS int64, body string, deleted bool) {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var deletedAt *time.Time
	if deleted {
		deletedAt = &now
	}
	if err := d.Exec(context.Background(), `INSERT INTO comments (id, lesson_id, course_id, author_id,
		thread_author_id, kind, visibility, at_ms, body, created_at, deleted_at)
		VALUES (?, ?, ?, ?, ?, 'comment', 'class', ?, ?, ?, ?)`,
		testenv.Name("oldc"), l.ID, l.CourseID, author.ID, author.ID, atMS, body, now, deletedAt); err != nil {
		tb.Fatalf("insert comment: %v", err)
	}
}

// oldLesson stores a lesson with the columns of the first schema only,
// as a release before later migrations did (CreateLesson writes columns
// those releases lacked).
func oldLesson(tb testing.TB, d *db.DB, c *lectern.Course, title, description string, durationMS int64) *lectern.Lesson {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	l := &lectern.Lesson{ID: testenv.Name("old"), CourseID: c.ID, Title: title, Description: description,
		Status: lectern.LessonAwaitingUpload, DurationMS: durationMS, CreatedAt: now, UpdatedAt: now}
	if err := d.Exec(context.Background(), `INSERT INTO lessons (id, course_id, title, description, status,
		duration_ms, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.CourseID, l.Title, l.Description, l.Status, l.DurationMS, l.CreatedAt, l.UpdatedAt); err != nil {
		tb.Fatalf("insert lesson: %v", err)
	}
	return l
}

// adminView is a viewer who sees every lesson of every course: an admin
// (the lesson lists of tests about order and the trash, not visibility).
var adminView = &lectern.User{ID: "admin-view", Role: lectern.RoleAdmin}
