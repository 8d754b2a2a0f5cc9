package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// TestStaleSession checks that the resume position follows the newest
// session (tab), whatever order the beats of several tabs arrive in.
func TestStaleSession(t *testing.T) {
	t.Parallel()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		fx := newWatchFixture(t, d, clock)
		u := fx.student
		fx.send(t, u, 0, hb("old-tab", 1, 30, 25, 30))
		fx.send(t, u, time.Minute, hb("new-tab", 1, 60, 55, 60))
		for _, tc := range []struct {
			name  string
			beat  lectern.Heartbeat
			wantS int64
		}{
			{"OldTabCannotMoveBack", hb("old-tab", 7, 35, 30, 35), 60},
			{"LateBeatOfNewTabIgnored", hb("new-tab", 0, 50), 60},
			{"DuplicateIgnored", hb("new-tab", 1, 10), 60},
			{"NewTabMovesOn", hb("new-tab", 2, 70, 60, 70), 70},
			{"NewTabMayGoBack", hb("new-tab", 3, 40), 40},
			{"OldTabStillCannot", hb("old-tab", 8, 80, 35, 40), 40},
			{"NewerTabWins", hb("newest-tab", 1, 20), 20},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := fx.send(t, u, 5*time.Second, tc.beat)
				if p.LastPositionMS != tc.wantS*1000 {
					t.Errorf("position = %d ms, want %d", p.LastPositionMS, tc.wantS*1000)
				}
			})
		}
		// The old tab's played seconds still count: coverage is not position.
		if p := fx.progress(t, u); p.WatchedMS != 30000 {
			t.Errorf("watched %d ms, want 30000 (25–40 s and 55–70 s)", p.WatchedMS)
		}
		t.Run("InOneBatch", func(t *testing.T) {
			// Tabs taking over from one another within one transaction.
			u := fx.newStudent(t, "Batched tabs")
			fx.send(t, u, 0, hb("a", 1, 10, 5, 10))
			clock.Advance(time.Minute)
			var reqs []db.BeatRequest
			for _, b := range []lectern.Heartbeat{
				hb("b", 1, 50, 45, 50), hb("a", 2, 15, 10, 15), hb("c", 1, 30, 25, 30),
				hb("b", 2, 55, 50, 55), hb("a", 3, 20, 5, 20), hb("c", 2, 35, 30, 35),
			} {
				reqs = append(reqs, db.BeatRequest{Viewer: u, LessonID: fx.lesson.ID, Beat: b})
			}
			results, err := d.RecordHeartbeats(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range results {
				got = append(got, r.Progress.LastPositionMS/1000)
			}
			if diff := cmp.Diff([]int64{50, 50, 30, 30, 30, 35}, got); diff != "" {
				t.Errorf("positions after each beat (-want +got):\n%s", diff)
			}
			// Tab a's third beat played 5–15 s again; b's first beat,
			// retried later, is not watching 45–50 s again.
			fx.send(t, u, time.Second, hb("b", 1, 50, 45, 50))
			a, err := d.FindLessonAnalytics(context.Background(), fx.lesson.ID, 5000)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range a.Students {
				if row.UserID == u.ID && row.WatchedMS != 35000 {
					t.Errorf("watched %d ms, want 35000", row.WatchedMS)
				}
			}
			var rewatchers []int
			for _, b := range a.Buckets[:11] {
				rewatchers = append(rewatchers, b.Rewatchers)
			}
			if diff := cmp.Diff([]int{0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, rewatchers); diff != "" {
				t.Errorf("rewatchers per 5 s (-want +got):\n%s", diff)
			}
			// The next beat of each tab, in a transaction of its own.
			for _, tc := range []struct {
				beat lectern.Heartbeat
				want int64
			}{{hb("b", 3, 60, 55, 60), 35}, {hb("a", 4, 25, 20, 25), 35}, {hb("c", 3, 40, 35, 40), 40}} {
				if p := fx.send(t, u, time.Second, tc.beat); p.LastPositionMS != tc.want*1000 {
					t.Errorf("after %s seq %d: position %d ms, want %d s", tc.beat.SessionID, tc.beat.Seq, p.LastPositionMS, tc.want)
				}
			}
		})
	})
}
