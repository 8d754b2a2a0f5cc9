package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/lti"
)

// Assignment and Grade Services: watching counts. When a student's
// coverage of a lesson crosses the course's completion threshold, and
// whenever it grows after that, a trigger queues a score for every graded
// LMS link of the lesson (migration 00012), in the heartbeat's own
// transaction. This sender posts them: coverage as a fraction of the line
// item (scoreGiven of 100), Completed and FullyGraded, stamped with the
// time of the change, so that a post repeated after a crash is the same
// score. A failed post backs off (ltiScoreBackoff) and shows on the admin
// page; each change is sent once.

const (
	// DefaultLTIScoreInterval is how often the sender looks for scores.
	DefaultLTIScoreInterval = 5 * time.Second
	// ltiScoreLease is how long a sender holds the scores it claimed.
	ltiScoreLease = 2 * time.Minute
	// ltiScoreBatch bounds the scores one pass claims.
	ltiScoreBatch = 50
	// ltiScoreMaxBackoff caps the wait between attempts.
	ltiScoreMaxBackoff = 6 * time.Hour
	// ltiScoreMaximum is the score of a lesson watched whole.
	ltiScoreMaximum = 100
)

// ltiScoreBackoff is the wait after the n-th failed attempt: 30 s,
// doubling, at most ltiScoreMaxBackoff.
func ltiScoreBackoff(n int) time.Duration {
	return doublingBackoff(n, 30*time.Second, ltiScoreMaxBackoff)
}

// doublingBackoff is the wait after the n-th failed attempt (n ≥ 1):
// first, doubling with each attempt, at most most.
func doublingBackoff(n int, first, most time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// startLTIScores starts the sender, unless interval is negative.
func (s *Server) startLTIScores(interval time.Duration) {
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = DefaultLTIScoreInterval
	}
	s.scores = startLoop(interval, func(ctx context.Context) {
		if _, err := s.sendLTIScores(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "lti scores", slog.Any("error", err))
		}
	})
}

// loop runs a pass every interval until stopped.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startLoop(interval time.Duration, pass func(context.Context)) *loop {
	return startWokenLoop(interval, nil, pass)
}

// startWokenLoop is startLoop whose loop also runs a pass whenever wake
// receives, so that new work need not wait for the next tick.
func startWokenLoop(interval time.Duration, wake <-chan struct{}, pass func(context.Context)) *loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pass(ctx)
			case <-wake:
				pass(ctx)
			}
		}
	}()
	return l
}

// stop ends the loop and waits for a pass under way; a nil loop (never
// started) is stopped already.
func (l *loop) stop() {
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// sendLTIScores posts the scores due now and returns how many were sent.
func (s *Server) sendLTIScores(ctx context.Context) (int, error) {
	now := s.clock.Now()
	due, err := s.db.ClaimDueLTIScores(ctx, now, ltiScoreLease, ltiScoreBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	platforms := map[string]*lectern.LTIPlatform{}
	for _, sc := range due {
		err := s.postLTIScore(ctx, platforms, sc)
		if err == nil {
			if err := s.db.MarkLTIScoreSent(ctx, sc); err != nil {
				return sent, err
			}
			sent++
			continue
		}
		s.logger.WarnContext(ctx, "lti score not delivered", slog.String("link", sc.LinkID),
			slog.String("user", sc.UserID), slog.Int("attempt", sc.Attempts+1), slog.Any("error", err))
		if err := s.db.MarkLTIScoreFailed(ctx, sc, err.Error(), now.Add(ltiScoreBackoff(sc.Attempts+1))); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (s *Server) postLTIScore(ctx context.Context, platforms map[string]*lectern.LTIPlatform, sc *lectern.LTIScore) error {
	p := platforms[sc.PlatformID]
	if p == nil {
		var err error
		if p, err = s.db.FindLTIPlatform(ctx, sc.PlatformID); err != nil {
			return fmt.Errorf("find platform: %w", err)
		}
		platforms[p.ID] = p
	}
	slots := lectern.CoverageSlots(sc.DurationMS)
	if slots == 0 {
		return errors.New("the lesson has no duration yet")
	}
	pct := lectern.CoveragePercent(min(int(sc.CoveredSecs), slots), slots)
	score := lti.Score{
		UserID: sc.Sub, ScoreGiven: math.Round(pct*10) / 10, ScoreMaximum: ltiScoreMaximum,
		Comment:          fmt.Sprintf("Watched %.1f%% of the lesson in Lectern.", pct),
		Timestamp:        sc.ChangedAt,
		ActivityProgress: lti.ActivityCompleted, GradingProgress: lti.GradingFullyGraded,
	}
	return s.ltiServices(p.ID, p.TokenURL, p.ClientID).PostScore(ctx, sc.LineItemURL, score)
}
