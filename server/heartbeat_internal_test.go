package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// batchClass is a course with students and a 100 s lesson, in a real
// database, for the batcher's tests.
type batchClass struct {
	db       *db.DB
	lesson   *lectern.Lesson
	students []*lectern.User
}

func newBatchClass(t *testing.T, url string, students int) *batchClass {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	teacher := &lectern.User{Email: testenv.Name("t") + "@example.org", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		t.Fatal(err)
	}
	course := &lectern.Course{Title: "Batches", OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		t.Fatal(err)
	}
	l := &lectern.Lesson{CourseID: course.ID, Title: "L", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	ready, duration := lectern.LessonReady, int64(100_000)
	if l, err = d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &duration}); err != nil {
		t.Fatal(err)
	}
	bc := &batchClass{db: d, lesson: l}
	for i := range students {
		u := &lectern.User{Email: testenv.Name(fmt.Sprint("s", i)) + "@example.org", Role: lectern.RoleStudent}
		if err := d.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := d.JoinCourse(ctx, course.JoinCode, u.ID); err != nil {
			t.Fatal(err)
		}
		bc.students = append(bc.students, u)
	}
	return bc
}

func forEachBatchDB(t *testing.T, students int, fn func(t *testing.T, bc *batchClass)) {
	t.Run("SQLite", func(t *testing.T) {
		fn(t, newBatchClass(t, "sqlite:"+filepath.Join(t.TempDir(), "l.db"), students))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		fn(t, newBatchClass(t, testenv.PostgresURL(t), students))
	})
}

// recorder records batches in the real database and notes their sizes.
type recorder struct {
	db    *db.DB
	mu    sync.Mutex
	sizes []int
}

func (r *recorder) record(ctx context.Context, reqs []db.BeatRequest) ([]db.BeatResult, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(reqs))
	r.mu.Unlock()
	return r.db.RecordHeartbeats(ctx, reqs)
}

// joined returns how many beats wait in the open batch.
func (b *beatBatcher) joined() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		return 0
	}
	return len(b.open.reqs)
}

// waitJoined waits until n beats wait in the open batch. It is not a timed
// assertion: the test holds the only commit slot, so nothing leaves.
func waitJoined(t *testing.T, b *beatBatcher, n int) {
	t.Helper()
	for b.joined() < n {
		time.Sleep(100 * time.Microsecond)
	}
}

func TestBeatBatcher(t *testing.T) {
	const n = 12
	forEachBatchDB(t, n, func(t *testing.T, bc *batchClass) {
		ctx := context.Background()
		t.Run("OneTransactionAckAfterCommit", func(t *testing.T) {
			rec := &recorder{db: bc.db}
			b := newBeatBatcher(rec.record, HeartbeatBatching{MaxSize: 100, Commits: 1}, bc.db.Dialect())
			b.slots <- struct{}{} // hold the only slot: beats pile up
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i, u := range bc.students {
				wg.Go(func() {
					beat := lectern.Heartbeat{SessionID: "s", Seq: 1, PositionMS: 10000,
						Ranges: []lectern.Range{{StartMS: int64(i) * 1000, EndMS: int64(i+1) * 1000}}}
					p, err := b.submit(ctx, db.BeatRequest{Viewer: u, LessonID: bc.lesson.ID, Beat: beat})
					if err == nil && p.WatchedMS != 1000 {
						err = fmt.Errorf("answered watched %d ms, want 1000", p.WatchedMS)
					}
					if err == nil {
						// Acknowledged means committed: a fresh read sees it.
						if stored, ferr := bc.db.FindProgress(ctx, u, bc.lesson.ID); ferr != nil || stored.WatchedMS != 1000 {
							err = fmt.Errorf("acknowledged beat not stored: %+v, %v", stored, ferr)
						}
					}
					errs <- err
				})
			}
			waitJoined(t, b, n)
			rec.mu.Lock()
			committed := len(rec.sizes)
			rec.mu.Unlock()
			if len(errs) != 0 || committed != 0 {
				t.Fatalf("%d beats answered, %d batches committed while no commit slot was free", len(errs), committed)
			}
			<-b.slots
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if len(rec.sizes) != 1 || rec.sizes[0] != n {
				t.Errorf("batches committed: %v, want one of %d", rec.sizes, n)
			}
		})
		t.Run("FullBatchesSplit", func(t *testing.T) {
			rec := &recorder{db: bc.db}
			b := newBeatBatcher(rec.record, HeartbeatBatching{MaxSize: 5, Commits: 1}, bc.db.Dialect())
			var wg sync.WaitGroup
			for _, u := range bc.students {
				wg.Go(func() {
					beat := lectern.Heartbeat{SessionID: "full", Seq: 1}
					if _, err := b.submit(ctx, db.BeatRequest{Viewer: u, LessonID: bc.lesson.ID, Beat: beat}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			total := 0
			for _, size := range rec.sizes {
				total += size
				if size > 5 {
					t.Errorf("a batch of %d beats, more than MaxSize 5", size)
				}
			}
			if total != n {
				t.Errorf("%d beats committed, want %d", total, n)
			}
		})
		t.Run("RefusedBeatsFailAlone", func(t *testing.T) {
			// One commit slot, held by the test: on PostgreSQL the default
			// is several, and a free one would let the first beat commit
			// alone before the second joins.
			b := newBeatBatcher(bc.db.RecordHeartbeats, HeartbeatBatching{Commits: 1}, bc.db.Dialect())
			b.slots <- struct{}{}
			outsider := &lectern.User{ID: "nobody", Role: lectern.RoleStudent}
			var ok, notFound error
			var wg sync.WaitGroup
			wg.Go(func() {
				_, ok = b.submit(ctx, db.BeatRequest{Viewer: bc.students[0], LessonID: bc.lesson.ID, Beat: lectern.Heartbeat{SessionID: "x", Seq: 9}})
			})
			wg.Go(func() {
				_, notFound = b.submit(ctx, db.BeatRequest{Viewer: outsider, LessonID: bc.lesson.ID, Beat: lectern.Heartbeat{SessionID: "x"}})
			})
			waitJoined(t, b, 2)
			<-b.slots
			wg.Wait()
			if ok != nil || lectern.ErrorCode(notFound) != lectern.ENOTFOUND {
				t.Errorf("member's beat: %v; outsider's: %v (want nil and not found)", ok, notFound)
			}
		})
		t.Run("CloseDrains", func(t *testing.T) {
			rec := &recorder{db: bc.db}
			b := newBeatBatcher(rec.record, HeartbeatBatching{Commits: 1}, bc.db.Dialect())
			b.slots <- struct{}{}
			var wg sync.WaitGroup
			answered := make(chan error, 3)
			for _, u := range bc.students[:3] {
				wg.Go(func() {
					_, err := b.submit(ctx, db.BeatRequest{Viewer: u, LessonID: bc.lesson.ID, Beat: lectern.Heartbeat{SessionID: "close", Seq: 1}})
					answered <- err
				})
			}
			waitJoined(t, b, 3)
			closed := make(chan struct{})
			go func() { b.close(); close(closed) }()
			<-b.slots
			<-closed
			// Close returned: every beat submitted before it is committed.
			for _, u := range bc.students[:3] {
				if p, err := bc.db.FindProgress(ctx, u, bc.lesson.ID); err != nil || p.LastSeenAt == nil {
					t.Errorf("beat submitted before close not stored: %+v, %v", p, err)
				}
			}
			wg.Wait()
			for range 3 {
				if err := <-answered; err != nil {
					t.Error(err)
				}
			}
			// After close, a beat is still recorded, on its own.
			if _, err := b.submit(ctx, db.BeatRequest{Viewer: bc.students[4], LessonID: bc.lesson.ID, Beat: lectern.Heartbeat{SessionID: "late", Seq: 1}}); err != nil {
				t.Errorf("beat after close: %v", err)
			}
			if len(rec.sizes) != 2 || rec.sizes[0] != 3 || rec.sizes[1] != 1 {
				t.Errorf("batches: %v, want [3 1]", rec.sizes)
			}
		})
	})
}
