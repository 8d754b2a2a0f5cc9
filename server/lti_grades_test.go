package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

type failedScores struct {
	Failed []struct {
		Sub       string `json:"sub"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	} `json:"failed_scores"`
}

// TestLTIGrades: a learner who launched from the LMS watches the lesson;
// when coverage crosses the course's threshold a score arrives at the
// link's line item (coverage as a fraction, Completed, FullyGraded), later
// progress sends one more, and nothing is sent twice. When the gradebook
// is down the score waits, backs off, shows on the admin page, and
// arrives once the LMS is back.
func TestLTIGrades(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		launchToken(t, w.launch(t, w.p.ResourceLinkMessage("t1", "l1")))
		course := w.taughtCourse(t, w.userByEmail(t, "tess@school.example"))
		lesson := w.readyLesson(t, course.ID, "Osmosis", 20_000)
		link := w.p.AddLink(ltiplatform.Link{ID: "l2", ContextID: "c1", Title: "Osmosis", Custom: map[string]string{lti.CustomLesson: lesson.ID}}, 100)
		path := "/api/v1/lessons/" + lesson.ID + "/progress"
		watch := func(t *testing.T, token string, seq, from, to int64) {
			t.Helper()
			fx.Clock.Advance(time.Duration(to-from) * time.Second)
			w.ts.client(t).do(t, "PUT", path, beatJSON("tab", seq, to, from, to), "X-Lectern-Launch", token).want(http.StatusOK)
		}
		scoresOf := func(sub string) []ltiplatform.Score {
			var out []ltiplatform.Score
			for _, s := range w.p.Scores() {
				if s.UserID == sub {
					out = append(out, s)
				}
			}
			return out
		}

		sam := launchToken(t, w.launch(t, w.p.ResourceLinkMessage("s1", "l2")))
		watch(t, sam, 0, 0, 0)
		watch(t, sam, 1, 0, 10) // 50%: under the threshold of 90
		watch(t, sam, 2, 10, 19)
		eventually(t, "the score of crossing the threshold", func() bool { return len(scoresOf("s1")) == 1 })
		got := scoresOf("s1")[0]
		if got.LineItem != link.LineItem || got.ScoreGiven != 95 || got.ScoreMaximum != 100 ||
			got.ActivityProgress != lti.ActivityCompleted || got.GradingProgress != lti.GradingFullyGraded {
			t.Errorf("score received: %+v, want 95/100, Completed, FullyGraded on %s", got, link.LineItem)
		}
		watch(t, sam, 3, 19, 20)
		eventually(t, "the score of later progress", func() bool { return len(scoresOf("s1")) == 2 })
		if got := scoresOf("s1")[1].ScoreGiven; got != 100 {
			t.Errorf("later score %v, want 100", got)
		}

		t.Run("GradebookDown", func(t *testing.T) {
			w.p.AddUser(ltiplatform.User{Sub: "s2", Name: "Sue Student", Email: "sue@school.example"})
			w.p.SetMembers("c1", []ltiplatform.Member{{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}},
				{Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}, {Sub: "s2", Roles: []string{ltiplatform.RoleLearner}}})
			sue := launchToken(t, w.launch(t, w.p.ResourceLinkMessage("s2", "l2")))
			w.p.FailScores(2)
			watch(t, sue, 0, 0, 0)
			watch(t, sue, 1, 0, 20)
			failed := func(attempts int) bool {
				var d failedScores
				w.admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+w.platform.ID, nil).want(http.StatusOK).decode(&d)
				return len(d.Failed) == 1 && d.Failed[0].Sub == "s2" && d.Failed[0].Attempts == attempts && d.Failed[0].LastError != ""
			}
			eventually(t, "the admin to see the failed post", func() bool { return failed(1) })
			fx.Clock.Advance(31 * time.Second)
			eventually(t, "the second failed attempt", func() bool { return failed(2) })
			if n := len(scoresOf("s2")); n != 0 {
				t.Fatalf("%d scores arrived while the gradebook was down", n)
			}
			fx.Clock.Advance(61 * time.Second)
			eventually(t, "the score once the gradebook is back", func() bool { return len(scoresOf("s2")) == 1 })
			eventually(t, "the admin's list to empty", func() bool { return !failed(2) && !failed(1) })
			// Nothing changes: nothing more is sent.
			fx.Clock.Advance(time.Hour)
			time.Sleep(200 * time.Millisecond)
			if n, m := len(scoresOf("s2")), len(scoresOf("s1")); n != 1 || m != 2 {
				t.Errorf("scores sent again without a change: s2 %d (want 1), s1 %d (want 2)", n, m)
			}
		})
	})
}
