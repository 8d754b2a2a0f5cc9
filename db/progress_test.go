package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// watchFixture is a course with a teacher, a student and a ready lesson
// of 100 s.
type watchFixture struct {
	d       *db.DB
	clock   *fakeClock
	teacher *lectern.User
	student *lectern.User
	course  *lectern.Course
	lesson  *lectern.Lesson
}

const watchLessonMS = 100_000

func newWatchFixture(t *testing.T, d *db.DB, clock *fakeClock) *watchFixture {
	t.Helper()
	fx := &watchFixture{d: d, clock: clock, teacher: newUser(t, d, lectern.RoleTeacher)}
	fx.course = newCourse(t, d, fx.teacher)
	fx.student = fx.newStudent(t, "Student")
	fx.lesson = fx.newReadyLesson(t, watchLessonMS)
	return fx
}

func (fx *watchFixture) newStudent(t *testing.T, name string) *lectern.User {
	t.Helper()
	u := newNamedUser(t, fx.d, lectern.RoleStudent, name)
	join(t, fx.d, fx.course, u)
	return u
}

func (fx *watchFixture) newReadyLesson(t *testing.T, durationMS int64) *lectern.Lesson {
	t.Helper()
	l := newLesson(t, fx.d, fx.course)
	ready := lectern.LessonReady
	l, err := fx.d.UpdateLesson(context.Background(), l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &durationMS})
	if err != nil {
		t.Fatalf("UpdateLesson: %v", err)
	}
	return l
}

// hb builds a heartbeat; ranges are given as start, end pairs in seconds.
func hb(session string, seq int64, positionS int64, ranges ...int64) lectern.Heartbeat {
	b := lectern.Heartbeat{SessionID: session, Seq: seq, PositionMS: positionS * 1000}
	for i := 0; i+1 < len(ranges); i += 2 {
		b.Ranges = append(b.Ranges, lectern.Range{StartMS: ranges[i] * 1000, EndMS: ranges[i+1] * 1000})
	}
	return b
}

// send records a beat by u in the fixture's lesson after advance of wall
// time, failing the test on error.
func (fx *watchFixture) send(t *testing.T, u *lectern.User, advance time.Duration, b lectern.Heartbeat) *lectern.Progress {
	t.Helper()
	fx.clock.Advance(advance)
	p, err := fx.d.RecordHeartbeat(context.Background(), u, fx.lesson.ID, b)
	if err != nil {
		t.Fatalf("RecordHeartbeat(%+v): %v", b, err)
	}
	return p
}

// watch plays [fromS, toS) of the lesson as u in session at normal
// speed, one beat per 10 s (numbered by the second it ends at).
func (fx *watchFixture) watch(t *testing.T, u *lectern.User, session string, fromS, toS int64) *lectern.Progress {
	t.Helper()
	var p *lectern.Progress
	for s := fromS; s < toS; s += 10 {
		e := min(s+10, toS)
		p = fx.send(t, u, time.Duration(e-s)*time.Second, hb(session, e, e, s, e))
	}
	return p
}

func (fx *watchFixture) progress(t *testing.T, u *lectern.User) *lectern.Progress {
	t.Helper()
	p, err := fx.d.FindProgress(context.Background(), u, fx.lesson.ID)
	if err != nil {
		t.Fatalf("FindProgress: %v", err)
	}
	return p
}

// ignoreProgressTimes compares progress without its times.
var ignoreProgressTimes = cmpopts.IgnoreFields(lectern.Progress{}, "CompletedAt", "LastSeenAt")

func TestHeartbeatsOrderProof(t *testing.T) {
	t.Parallel()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		beats := []lectern.Heartbeat{
			hb("tab", 1, 10, 0, 10), hb("tab", 2, 20, 10, 20), hb("tab", 3, 30, 20, 30),
			hb("tab", 4, 45, 30, 40, 40, 45), hb("tab", 5, 50, 45, 50),
		}
		inOrder := fx.student
		var want *lectern.Progress
		for _, b := range beats {
			want = fx.send(t, inOrder, 10*time.Second, b)
		}
		wantWatched := &lectern.Progress{LessonID: fx.lesson.ID, DurationMS: watchLessonMS, PositionMS: 50000,
			LastPositionMS: 50000, WatchedMS: 50000, Percent: 50, CompletionThreshold: 90}
		if diff := cmp.Diff(wantWatched, want, ignoreProgressTimes); diff != "" {
			t.Fatalf("in-order progress (-want +got):\n%s", diff)
		}
		t.Run("DuplicatedAndReordered", func(t *testing.T) {
			u := fx.newStudent(t, "Shuffled")
			var got *lectern.Progress
			for _, i := range []int{2, 0, 0, 4, 1, 3, 2, 4, 0} {
				got = fx.send(t, u, 10*time.Second, beats[i])
			}
			if diff := cmp.Diff(want, got, ignoreProgressTimes); diff != "" {
				t.Errorf("shuffled beats' progress differs from in-order (-in order +shuffled):\n%s", diff)
			}
		})
		t.Run("DuplicatedInOneBatch", func(t *testing.T) {
			u := fx.newStudent(t, "Batched")
			var reqs []db.BeatRequest
			for _, i := range []int{4, 3, 3, 2, 1, 0, 0} {
				reqs = append(reqs, db.BeatRequest{Viewer: u, LessonID: fx.lesson.ID, Beat: beats[i]})
			}
			fx.send(t, u, 0, hb("tab", 0, 0))
			clock.Advance(time.Minute) // wall time for the 50 s played
			results, err := d.RecordHeartbeats(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, results[len(results)-1].Progress, ignoreProgressTimes); diff != "" {
				t.Errorf("one batch's progress differs from in-order (-in order +batch):\n%s", diff)
			}
			if diff := cmp.Diff(want, fx.progress(t, u), ignoreProgressTimes); diff != "" {
				t.Errorf("stored progress after a batch (-in order +stored):\n%s", diff)
			}
		})
	})
}

func TestHeartbeatsHonestCoverage(t *testing.T) {
	t.Parallel()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		t.Run("ScrubbingDoesNotCount", func(t *testing.T) {
			u := fx.newStudent(t, "Scrubber")
			fx.send(t, u, 0, hb("s", 1, 3, 0, 3))
			for i, pos := range []int64{30, 60, 95, 99} {
				fx.send(t, u, 5*time.Second, hb("s", int64(i+2), pos))
			}
			p := fx.progress(t, u)
			if p.WatchedMS != 3000 || p.Completed || p.LastPositionMS != 99000 {
				t.Errorf("after scrubbing to the end: watched %d ms, completed %v, at %d ms; want 3000 ms, false, 99000",
					p.WatchedMS, p.Completed, p.LastPositionMS)
			}
		})
		t.Run("HugeRangeRefused", func(t *testing.T) {
			u := fx.newStudent(t, "Liar")
			_, err := d.RecordHeartbeat(context.Background(), u, fx.lesson.ID, hb("s", 1, 100, 0, 3600))
			wantCode(t, err, lectern.EINVALID)
			if p := fx.progress(t, u); p.WatchedMS != 0 || p.LastSeenAt != nil {
				t.Errorf("a refused beat was recorded: %+v", p)
			}
		})
		t.Run("FasterThanWallTimeClipped", func(t *testing.T) {
			u := fx.newStudent(t, "Hasty")
			// 25 beats each claiming 4 s played, with no time passing: only
			// the initial allowance may be credited.
			var p *lectern.Progress
			for i := range int64(25) {
				p = fx.send(t, u, 0, hb(fmt.Sprint("session", i), 1, 4*i+4, 4*i, 4*i+4))
			}
			if p.WatchedMS != 30000 {
				t.Errorf("watched %d ms without wall time passing, want the 30000 ms allowance", p.WatchedMS)
			}
			// Time passing makes room for more, at 2.5 times its pace.
			p = fx.send(t, u, 40*time.Second, hb("later", 1, 70, 0, 70))
			if p.WatchedMS != 70000 {
				t.Errorf("40 s later: watched %d ms, want 70000", p.WatchedMS)
			}
			p = fx.send(t, u, 30*time.Second, hb("later", 2, 100, 70, 100))
			if p.WatchedMS != watchLessonMS || !p.Completed {
				t.Errorf("after enough wall time: watched %d ms, completed %v; want all of it", p.WatchedMS, p.Completed)
			}
		})
		t.Run("ClippedToLesson", func(t *testing.T) {
			u := fx.newStudent(t, "Overrun")
			p := fx.send(t, u, 30*time.Second, hb("s", 1, 500, 90, 130))
			if p.WatchedMS != 10000 || p.LastPositionMS != watchLessonMS {
				t.Errorf("range past the end: watched %d ms at %d; want 10000 at %d", p.WatchedMS, p.LastPositionMS, watchLessonMS)
			}
		})
	})
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		t.Run("AtThreshold", func(t *testing.T) {
			u := fx.newStudent(t, "Finisher")
			p := fx.watch(t, u, "s", 0, 89)
			if p.Completed || p.Percent != 89 || p.CompletedAt != nil {
				t.Fatalf("at 89 %%: completed %v (%v), percent %v; want not completed", p.Completed, p.CompletedAt, p.Percent)
			}
			at := stored(clock.Peek().Add(time.Minute))
			p = fx.send(t, u, time.Minute, hb("s", 90, 90, 89, 90))
			if !p.Completed || p.Percent != 90 || p.CompletedAt == nil || !p.CompletedAt.Equal(at) {
				t.Fatalf("at 90 %%: completed %v at %v, percent %v; want completed at %v", p.Completed, p.CompletedAt, p.Percent, at)
			}
			// Watching more later keeps the first completion time.
			p = fx.watch(t, u, "s", 90, 95)
			if !p.CompletedAt.Equal(at) {
				t.Errorf("completion time moved to %v, want %v", p.CompletedAt, at)
			}
		})
		t.Run("CourseThreshold", func(t *testing.T) {
			early, late := fx.newStudent(t, "Early"), fx.newStudent(t, "Late")
			fx.watch(t, early, "s", 0, 80)
			if err := d.UpdateCourseCompletionThreshold(ctx, fx.course.ID, 80); err != nil {
				t.Fatal(err)
			}
			if pct, err := d.FindCourseCompletionThreshold(ctx, fx.course.ID); err != nil || pct != 80 {
				t.Fatalf("FindCourseCompletionThreshold = %d, %v; want 80", pct, err)
			}
			if p := fx.progress(t, early); !p.Completed || p.CompletionThreshold != 80 {
				t.Errorf("80 %% watched, threshold lowered to 80: completed %v (threshold %d)", p.Completed, p.CompletionThreshold)
			}
			if p := fx.watch(t, late, "s", 0, 79); p.Completed {
				t.Errorf("79 %% completed at threshold 80")
			}
			if p := fx.watch(t, late, "s", 79, 80); !p.Completed {
				t.Errorf("80 %% not completed at threshold 80")
			}
			if err := d.UpdateCourseCompletionThreshold(ctx, fx.course.ID, 100); err != nil {
				t.Fatal(err)
			}
			if p := fx.progress(t, early); !p.Completed {
				t.Errorf("raising the threshold un-completed a student")
			}
		})
		t.Run("ThresholdInvalid", func(t *testing.T) {
			for _, pct := range []int{0, -5, 101} {
				wantCode(t, d.UpdateCourseCompletionThreshold(ctx, fx.course.ID, pct), lectern.EINVALID)
			}
			wantCode(t, d.UpdateCourseCompletionThreshold(ctx, "nosuchcourse", 50), lectern.ENOTFOUND)
			_, err := d.FindCourseCompletionThreshold(ctx, "nosuchcourse")
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("DefaultIs90", func(t *testing.T) {
			c := newCourse(t, d, fx.teacher)
			if pct, err := d.FindCourseCompletionThreshold(ctx, c.ID); err != nil || pct != lectern.DefaultCompletionThreshold {
				t.Errorf("new course threshold = %d, %v; want %d", pct, err, lectern.DefaultCompletionThreshold)
			}
		})
	})
}

func TestResume(t *testing.T) {
	t.Parallel()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		for _, tc := range []struct {
			name       string
			positionS  int64
			wantResume int64
		}{
			{"NearStartRestarts", 4, 0},
			{"FromFivePercent", 5, 5000},
			{"Middle", 42, 42000},
			{"AtNinetyPercent", 90, 90000},
			{"NearEndRestarts", 91, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := fx.newStudent(t, tc.name)
				fx.send(t, u, 0, hb("s", 1, tc.positionS, 0, 3))
				p := fx.progress(t, u)
				if p.PositionMS != tc.wantResume || p.LastPositionMS != tc.positionS*1000 {
					t.Errorf("left at %d s: resume at %d ms (last %d ms), want %d ms", tc.positionS, p.PositionMS, p.LastPositionMS, tc.wantResume)
				}
			})
		}
		t.Run("NotStarted", func(t *testing.T) {
			u := fx.newStudent(t, "Newcomer")
			want := &lectern.Progress{LessonID: fx.lesson.ID, DurationMS: watchLessonMS, CompletionThreshold: 90}
			if diff := cmp.Diff(want, fx.progress(t, u)); diff != "" {
				t.Errorf("progress before any beat (-want +got):\n%s", diff)
			}
		})
	})
}

func TestProgressAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		otherTeacher := newUser(t, d, lectern.RoleTeacher)
		other := newCourse(t, d, otherTeacher)
		outsider := newUser(t, d, lectern.RoleStudent)
		join(t, d, other, outsider)
		admin := newUser(t, d, lectern.RoleAdmin)
		b := hb("s", 1, 10, 0, 10)
		for name, u := range map[string]*lectern.User{"OtherCourseStudent": outsider, "OtherCourseTeacher": otherTeacher, "Nobody": nil} {
			t.Run(name, func(t *testing.T) {
				_, err := d.RecordHeartbeat(ctx, u, fx.lesson.ID, b)
				wantCode(t, err, lectern.ENOTFOUND)
				_, err = d.FindProgress(ctx, u, fx.lesson.ID)
				wantCode(t, err, lectern.ENOTFOUND)
			})
		}
		t.Run("NoSuchLesson", func(t *testing.T) {
			_, err := d.RecordHeartbeat(ctx, fx.student, "nosuchlesson", b)
			wantCode(t, err, lectern.ENOTFOUND)
		})
		t.Run("TeacherAndAdmin", func(t *testing.T) {
			for _, u := range []*lectern.User{fx.teacher, admin} {
				if p, err := d.RecordHeartbeat(ctx, u, fx.lesson.ID, b); err != nil || p.WatchedMS != 10000 {
					t.Errorf("RecordHeartbeat by %s = %+v, %v", u.Role, p, err)
				}
			}
		})
		t.Run("OwnProgressOnly", func(t *testing.T) {
			fx.watch(t, fx.student, "s", 0, 50)
			if p := fx.progress(t, fx.newStudent(t, "Other")); p.WatchedMS != 0 {
				t.Errorf("another student sees watched %d ms", p.WatchedMS)
			}
		})
		t.Run("MixedBatch", func(t *testing.T) {
			u := fx.newStudent(t, "Mixed")
			results, err := d.RecordHeartbeats(ctx, []db.BeatRequest{
				{Viewer: u, LessonID: fx.lesson.ID, Beat: hb("s", 1, 5, 0, 5)},
				{Viewer: outsider, LessonID: fx.lesson.ID, Beat: b},
				{Viewer: u, LessonID: fx.lesson.ID, Beat: hb("", 2, 5)},
				{Viewer: u, LessonID: "nosuchlesson", Beat: b},
				{Viewer: u, LessonID: fx.lesson.ID, Beat: hb("s", 2, 10, 5, 10)},
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"", lectern.ENOTFOUND, lectern.EINVALID, lectern.ENOTFOUND, ""} {
				if got := lectern.ErrorCode(results[i].Err); got != want {
					t.Errorf("beat %d: error %v, want code %q", i, results[i].Err, want)
				}
			}
			if p := results[4].Progress; p == nil || p.WatchedMS != 10000 {
				t.Errorf("last beat's progress = %+v, want 10 s watched", p)
			}
		})
	})
}

func TestCourseProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		second := fx.newReadyLesson(t, 20_000)
		fx.newReadyLesson(t, 30_000) // not started
		fx.watch(t, fx.student, "s", 0, 50)
		if _, err := d.RecordHeartbeat(ctx, fx.student, second.ID, hb("s", 1, 20, 0, 20)); err != nil {
			t.Fatal(err)
		}
		got, err := d.FindCourseProgress(ctx, fx.student.ID, fx.course.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*lectern.Progress{
			fx.lesson.ID: {LessonID: fx.lesson.ID, DurationMS: watchLessonMS, PositionMS: 50000, LastPositionMS: 50000,
				WatchedMS: 50000, Percent: 50, CompletionThreshold: 90},
			second.ID: {LessonID: second.ID, DurationMS: 20000, LastPositionMS: 20000, WatchedMS: 20000,
				Percent: 100, Completed: true, CompletionThreshold: 90},
		}
		if diff := cmp.Diff(want, got, ignoreProgressTimes); diff != "" {
			t.Errorf("FindCourseProgress (-want +got):\n%s", diff)
		}
		if others, err := d.FindCourseProgress(ctx, fx.teacher.ID, fx.course.ID); err != nil || len(others) != 0 {
			t.Errorf("teacher's own course progress = %v, %v; want none", others, err)
		}
	})
}

// TestConcurrentHeartbeats records beats for the same rows from many
// goroutines at once, several batches in flight: nothing is lost and
// nothing fails (no deadlock, no "database is locked").
func TestConcurrentHeartbeats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		students := []*lectern.User{fx.student, fx.newStudent(t, "B"), fx.newStudent(t, "C")}
		for _, u := range students {
			fx.send(t, u, 0, hb("start", 0, 0))
		}
		clock.Advance(time.Hour) // a full budget: 60 s
		const workers, beats = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*beats)
		for w := range workers {
			wg.Go(func() {
				for i := range int64(beats) {
					var reqs []db.BeatRequest
					for _, u := range students {
						sec := int64(w)*beats + i
						reqs = append(reqs, db.BeatRequest{Viewer: u, LessonID: fx.lesson.ID,
							Beat: hb(fmt.Sprint("w", w), i, sec+1, sec, sec+1)})
					}
					if _, err := d.RecordHeartbeats(ctx, reqs); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("RecordHeartbeats: %v", err)
		}
		for _, u := range students {
			if p := fx.progress(t, u); p.WatchedMS != workers*beats*1000 {
				t.Errorf("%s watched %d ms after %d distinct one-second beats", u.Name, p.WatchedMS, workers*beats)
			}
		}
	})
}
