package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func TestLessonAnalytics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		// fx.student ("Student") never watches.
		ann, bob, dee, eve := fx.newStudent(t, "Ann"), fx.newStudent(t, "Bob"), fx.newStudent(t, "Dee"), fx.newStudent(t, "Eve")
		fx.watch(t, ann, "a", 0, 100)
		fx.watch(t, bob, "b", 0, 30)
		fx.send(t, bob, time.Second, hb("b", 20, 20, 10, 20)) // a retried beat: not watching again
		fx.send(t, bob, 10*time.Second, hb("b", 40, 30, 20, 30))
		fx.watch(t, dee, "d", 40, 45) // half of a 10 s bucket
		fx.watch(t, eve, "e", 50, 54) // less than half
		fx.watch(t, fx.teacher, "t", 0, 50)

		a, err := d.FindLessonAnalytics(ctx, fx.lesson.ID, 10000)
		if err != nil {
			t.Fatal(err)
		}
		bucket := func(i, viewers, rewatchers int) lectern.AnalyticsBucket {
			return lectern.AnalyticsBucket{StartMS: int64(i) * 10000, EndMS: int64(i+1) * 10000, Viewers: viewers, Rewatchers: rewatchers}
		}
		student := func(u *lectern.User, watchedS int64, completed bool) lectern.StudentProgress {
			return lectern.StudentProgress{UserID: u.ID, Name: u.Name, Email: u.Email, WatchedMS: watchedS * 1000,
				Percent: float64(watchedS), Completed: completed}
		}
		want := &lectern.LessonAnalytics{
			LessonID: fx.lesson.ID, DurationMS: watchLessonMS, CompletionThreshold: 90,
			Enrolled: 5, Viewers: 4, Completed: 1, CompletionRate: 20, AveragePercent: 27.8,
			BucketMS: 10000,
			Buckets: []lectern.AnalyticsBucket{
				bucket(0, 2, 0), bucket(1, 2, 0), bucket(2, 2, 1), bucket(3, 1, 0), bucket(4, 2, 0),
				bucket(5, 1, 0), bucket(6, 1, 0), bucket(7, 1, 0), bucket(8, 1, 0), bucket(9, 1, 0),
			},
			// Bob alone went back: one of four viewers is not a pattern.
			MostRewatched: []lectern.RewatchedRange{}, RewatchThreshold: 2,
			Students: []lectern.StudentProgress{
				student(ann, 100, true), student(bob, 30, false), student(dee, 5, false),
				student(eve, 4, false), student(fx.student, 0, false),
			},
		}
		ignore := cmpopts.IgnoreFields(lectern.StudentProgress{}, "CompletedAt", "LastSeenAt")
		if diff := cmp.Diff(want, a, ignore); diff != "" {
			t.Errorf("FindLessonAnalytics (-want +got):\n%s", diff)
		}
		for _, s := range a.Students {
			if (s.LastSeenAt == nil) != (s.UserID == fx.student.ID) || s.Completed != (s.CompletedAt != nil) {
				t.Errorf("%s: last seen %v, completed %v at %v", s.Name, s.LastSeenAt, s.Completed, s.CompletedAt)
			}
		}

		t.Run("DefaultBuckets", func(t *testing.T) {
			a, err := d.FindLessonAnalytics(ctx, fx.lesson.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if a.BucketMS != 1000 || len(a.Buckets) != 100 {
				t.Fatalf("default buckets: %d of %d ms, want 100 of 1000", len(a.Buckets), a.BucketMS)
			}
			// Per second: Eve's 4 seconds count.
			if got := a.Buckets[52].Viewers; got != 2 {
				t.Errorf("second 52 has %d viewers, want 2 (Ann, Eve)", got)
			}
		})
		t.Run("InvalidBucket", func(t *testing.T) {
			for _, ms := range []int64{500, 1500, -1000} {
				_, err := d.FindLessonAnalytics(ctx, fx.lesson.ID, ms)
				wantCode(t, err, lectern.EINVALID)
			}
		})
		t.Run("NoSuchLesson", func(t *testing.T) {
			_, err := d.FindLessonAnalytics(ctx, "nosuchlesson", 0)
			wantCode(t, err, lectern.ENOTFOUND)
		})
	})
}

func TestAnalyticsBucketMS(t *testing.T) {
	for _, tc := range []struct{ duration, want int64 }{
		{0, 1000}, {30_000, 1000}, {100_000, 1000}, {100_001, 2000}, {3600_000, 36000}, {3600_500, 37000},
	} {
		if got := db.AnalyticsBucketMS(tc.duration); got != tc.want {
			t.Errorf("AnalyticsBucketMS(%d) = %d, want %d", tc.duration, got, tc.want)
		}
	}
}

func TestMostRewatchedRanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		ann, bob, cid, dee, eve := fx.newStudent(t, "Ann"), fx.newStudent(t, "Bob"), fx.newStudent(t, "Cid"),
			fx.newStudent(t, "Dee"), fx.newStudent(t, "Eve")
		for _, u := range []*lectern.User{ann, bob, cid, dee, eve} {
			fx.watch(t, u, "first", 0, 100)
		}
		// Five viewers: a second matters once two students went back to it.
		fx.watch(t, ann, "again", 20, 30)  // 20–21 alone, 22–29 with Bob
		fx.watch(t, ann, "again2", 70, 73) // alone
		fx.watch(t, bob, "again", 22, 34)  // 30 alone: a gap of one second
		fx.watch(t, cid, "again", 31, 34)  // 31–33 with Bob
		fx.watch(t, dee, "again", 60, 65)
		fx.watch(t, eve, "again", 61, 63) // 61–62 with Dee

		a, err := d.FindLessonAnalytics(ctx, fx.lesson.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []lectern.RewatchedRange{
			{StartMS: 22000, EndMS: 34000, Rewatchers: 3},
			{StartMS: 61000, EndMS: 63000, Rewatchers: 2},
		}
		if diff := cmp.Diff(want, a.MostRewatched); diff != "" {
			t.Errorf("most rewatched (-want +got):\n%s", diff)
		}
		if a.Viewers != 5 || a.RewatchThreshold != 2 {
			t.Errorf("viewers %d, threshold %d; want 5 and 2", a.Viewers, a.RewatchThreshold)
		}
	})
}

func TestRewatchThreshold(t *testing.T) {
	for viewers, want := range map[int]int{0: 1, 1: 1, 2: 1, 3: 2, 10: 2, 11: 3, 40: 8, 200: 40} {
		if got := db.RewatchThreshold(viewers); got != want {
			t.Errorf("RewatchThreshold(%d) = %d, want %d", viewers, got, want)
		}
	}
}
