package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
)

// RELIABILITY 15: the database goes away (PostgreSQL restarted; on SQLite,
// its writer held for 12 s) while 100 students send 200 heartbeats a
// second. Errors come only during the outage and are 503 with Retry-After
// (never 500); no acknowledged beat is lost; the server recovers by
// itself within 30 s.

// Timing of the outage runs.
const (
	outageBeatEvery = 500 * time.Millisecond // 100 students: 200 beats/s
	outageStudents  = 100
	outageWarmup    = 4 * time.Second
	outageAfter     = 12 * time.Second // how long the load goes on after the outage
	recoveryBudget  = 30 * time.Second
)

// outageRun is a load run with an outage in the middle.
type outageRun struct {
	beats    []sentBeat
	from, to time.Time // the outage, as the test made it
	start    time.Time
	end      time.Time
}

// runOutage drives the class's heartbeats, calls down after the warm-up
// and up hold later, and goes on for outageAfter.
func runOutage(t *testing.T, bc *beatClass, down func(), hold time.Duration, up func()) *outageRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &outageRun{start: time.Now()}
	done := make(chan []sentBeat, 1)
	go func() { done <- bc.drive(ctx, outageBeatEvery, beatMix{}) }()
	time.Sleep(outageWarmup)
	r.from = time.Now()
	down()
	time.Sleep(hold)
	up()
	r.to = time.Now()
	time.Sleep(outageAfter)
	cancel()
	r.beats = <-done
	r.end = time.Now()
	return r
}

// check asserts RELIABILITY 15's promises of the run and logs its figures.
func (r *outageRun) check(t *testing.T, bc *beatClass) {
	t.Helper()
	var (
		acked, unavailable int
		lastFailure        time.Time
		slowestFailure     time.Duration
		ackedAfter         int
		firstAck           time.Time // the first acknowledgement of a beat sent after the outage
	)
	bad := 0
	report := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 5 {
			t.Errorf(format, args...)
		}
	}
	for _, b := range r.beats {
		switch {
		case b.cut:
			continue
		case b.acked():
			acked++
			if b.began.After(r.to) {
				ackedAfter++
				if firstAck.IsZero() || b.ended.Before(firstAck) {
					firstAck = b.ended
				}
			}
			continue
		case b.status == 0:
			report("student %d beat %d: no answer: %v", b.student, b.seq, b.err)
		case b.status != http.StatusServiceUnavailable || b.retryAfter == "":
			report("student %d beat %d: %d (Retry-After %q), want 503 with Retry-After: %v", b.student, b.seq, b.status, b.retryAfter, b.err)
		default:
			unavailable++
		}
		// A failure must overlap the outage, or the recovery after it.
		if b.ended.Before(r.from) || b.began.After(r.to.Add(recoveryBudget)) {
			report("student %d beat %d failed at %v, outside the outage (%v to %v)",
				b.student, b.seq, b.began.Sub(r.from).Round(time.Millisecond), 0, r.to.Sub(r.from).Round(time.Millisecond))
		}
		if b.ended.After(lastFailure) {
			lastFailure = b.ended
		}
		slowestFailure = max(slowestFailure, b.ended.Sub(b.began))
	}
	if bad > 0 {
		t.Errorf("%d of %d beats failed other than as promised", bad, len(r.beats))
	}
	recovery := max(lastFailure.Sub(r.to), 0)
	t.Logf("%d beats in %v (%.0f/s): %d acknowledged, %d answered 503 with Retry-After; outage %v; "+
		"last failure %v after it ended, slowest failure took %v; %d acknowledged after the outage, the first %v after it ended",
		len(r.beats), r.end.Sub(r.start).Round(time.Second), float64(len(r.beats))/r.end.Sub(r.start).Seconds(),
		acked, unavailable, r.to.Sub(r.from).Round(time.Millisecond), recovery.Round(time.Millisecond),
		slowestFailure.Round(time.Millisecond), ackedAfter, firstAck.Sub(r.to).Round(time.Millisecond))
	if unavailable == 0 {
		t.Error("no beat failed: the outage was not felt, so the test proved nothing")
	}
	if recovery > recoveryBudget {
		t.Errorf("beats failed until %v after the outage ended, want at most %v", recovery, recoveryBudget)
	}
	if ackedAfter == 0 {
		t.Error("no beat was acknowledged after the outage: the server did not recover")
	}
	if kept, lost := bc.checkKept(t, r.beats); lost == 0 {
		t.Logf("every one of the %d acknowledged beats is in the database", kept)
	}
}

func TestAcceptance15_PostgresRestartUnderHeartbeats(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	proxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, dbURL))
	ts, _ := newWallClockServer(t, proxy.ProxyURL(dbURL))
	bc := newBeatClass(t, ts, outageStudents, 90)

	// A restart as the server does it: every session is ended (the
	// clients are told 57P01, "terminating connection due to
	// administrator command"), then nothing answers until it is back.
	admin, err := sql.Open("pgx", os.Getenv("LECTERN_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	down := func() {
		if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`,
			strings.TrimPrefix(u.Path, "/")); err != nil {
			t.Errorf("end the database's sessions: %v", err)
		}
		proxy.Cut()
	}
	r := runOutage(t, bc, down, 8*time.Second, proxy.Restore)
	r.check(t, bc)
}

func TestAcceptance15_SQLiteWriterHeldUnderHeartbeats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lectern.db")
	// The production busy timeout (10 s): the writer is held past it.
	ts, _ := newWallClockServer(t, "sqlite:"+path)
	bc := newBeatClass(t, ts, outageStudents, 90)
	var release func()
	r := runOutage(t, bc, func() { release = holdSQLiteWriter(t, path) }, 12*time.Second, func() { release() })
	r.check(t, bc)
}
