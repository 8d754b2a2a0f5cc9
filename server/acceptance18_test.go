package server_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// RELIABILITY 18: 500 heartbeats a second, 5 % of them sent twice and 5 %
// overtaken by the next: no acknowledged position is lost, no answer shows
// less coverage or an earlier position than the one before, and the
// database sees about one transaction per group commit, not one per beat.
//
// Parts of this were already covered and are not repeated here:
// db.TestHeartbeatsOrderProof (duplicated and reordered beats change
// nothing, in one batch and across batches), server's
// TestProgressAPI/DuplicatedAndReorderedConcurrently (the same over HTTP)
// and TestBeatBatcher (one transaction per batch, acknowledged after it
// commits). This test puts them together under the load.

const (
	heavyStudents  = 250
	heavyBeatEvery = 500 * time.Millisecond // 250 students: 500 beats/s
	heavySecsEach  = 40                     // 250 × 40 s: the lesson has 10,000 s
	heavyDuration  = 15 * time.Second
)

var heavyMix = beatMix{Duplicate: 0.05, OutOfOrder: 0.05}

func TestAcceptance18_HeartbeatsDuplicatedAndOutOfOrder(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		ts, _ := newWallClockServer(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		bc := newBeatClass(t, ts, heavyStudents, heavySecsEach)
		beats := runHeavy(t, bc)
		checkHeavy(t, bc, beats)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dbURL := testenv.PostgresURL(t)
		admin, err := sql.Open("pgx", os.Getenv("LECTERN_TEST_POSTGRES_URL"))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		u, _ := url.Parse(dbURL)
		name := strings.TrimPrefix(u.Path, "/")

		// The class is prepared on a connection pool of its own, closed
		// before counting, so that the count holds only the server's work.
		ctx := context.Background()
		setup, err := db.Open(ctx, dbURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := setup.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		bc := prepareBeatClass(t, setup, heavyStudents, heavySecsEach)
		setup.Close()
		before := committedTransactions(t, admin, name)

		ts, stop := newWallClockServer(t, dbURL)
		bc.url, bc.db = ts.URL, ts.DB
		beats := runHeavy(t, bc)
		stop()
		after := committedTransactions(t, admin, name)

		// Each request reads its session once, outside any transaction
		// (PostgreSQL counts that statement as one); what is left is the
		// group commits, and the server's start-up (a migration check).
		commits := after - before - int64(len(beats))
		t.Logf("PostgreSQL committed %d transactions for %d heartbeat requests: %d session reads and %d others "+
			"(group commits and start-up), %.1f beats per commit",
			after-before, len(beats), len(beats), commits, float64(len(beats))/float64(max(commits, 1)))
		if commits*2 > int64(len(beats)) {
			t.Errorf("%d write transactions for %d beats: group commit is not batching (want at most one per 2 beats)", commits, len(beats))
		}

		check, err := db.Open(ctx, dbURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer check.Close()
		bc.db = check
		checkHeavy(t, bc, beats)
	})
}

// runHeavy drives the heavy load and logs its figures.
func runHeavy(t *testing.T, bc *beatClass) []sentBeat {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), heavyDuration)
	defer cancel()
	start := time.Now()
	beats := bc.drive(ctx, heavyBeatEvery, heavyMix)
	took := time.Since(start)
	var latencies []time.Duration
	for _, b := range beats {
		latencies = append(latencies, b.ended.Sub(b.began))
	}
	p := percentiles(latencies, 0.5, 0.99)
	t.Logf("%d beats in %v: %.0f/s, latency p50 %v p99 %v", len(beats), took.Round(time.Millisecond),
		float64(len(beats))/took.Seconds(), p[0].Round(time.Microsecond), p[1].Round(time.Microsecond))
	return beats
}

// checkHeavy: every beat is acknowledged; in each student's answers,
// coverage and position never go back; every acknowledged beat is in the
// database and each student's last position is that of their newest beat.
func checkHeavy(t *testing.T, bc *beatClass, beats []sentBeat) {
	t.Helper()
	type state struct {
		watched, position, newestSeq, newestPos int64
		// cutPos are the positions of beats newer than newestSeq that were
		// in flight when the run ended: the last position may be one of them.
		cutPos map[int64]int64
	}
	seen := make([]state, len(bc.students))
	dup, reordered, bad := 0, 0, 0
	sentSeqs := make([]map[int64]bool, len(bc.students))
	for _, b := range beats {
		st := &seen[b.student]
		if sentSeqs[b.student] == nil {
			sentSeqs[b.student] = map[int64]bool{}
		}
		if sentSeqs[b.student][b.seq] {
			dup++
		} else if b.seq < st.newestSeq {
			reordered++
		}
		sentSeqs[b.student][b.seq] = true
		if b.cut {
			if st.cutPos == nil {
				st.cutPos = map[int64]int64{}
			}
			st.cutPos[b.seq] = b.posMS
			continue
		}
		if !b.acked() {
			if bad++; bad <= 5 {
				t.Errorf("student %d beat %d: %v", b.student, b.seq, b.err)
			}
			continue
		}
		if b.watchedMS < st.watched || b.lastPositionMS < st.position {
			t.Errorf("student %d beat %d answered watched %d ms at %d ms, after %d ms at %d ms",
				b.student, b.seq, b.watchedMS, b.lastPositionMS, st.watched, st.position)
		}
		st.watched, st.position = max(st.watched, b.watchedMS), max(st.position, b.lastPositionMS)
		if b.seq > st.newestSeq {
			st.newestSeq, st.newestPos = b.seq, b.posMS
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d beats not acknowledged", bad, len(beats))
	}
	t.Logf("%d duplicates and %d beats sent after a newer one", dup, reordered)
	if dup == 0 || reordered == 0 {
		t.Errorf("the load had %d duplicates and %d late beats; it must have both", dup, reordered)
	}
	n, lost := bc.checkKept(t, beats)
	for i, s := range bc.students {
		p, err := bc.db.FindProgress(context.Background(), s.user, bc.lessonID)
		if err != nil {
			t.Fatal(err)
		}
		st := seen[i]
		if st.newestSeq == 0 || p.LastPositionMS == st.newestPos {
			continue
		}
		cutNewer := false
		for seq, pos := range st.cutPos {
			cutNewer = cutNewer || (seq > st.newestSeq && pos == p.LastPositionMS)
		}
		if !cutNewer {
			t.Errorf("student %d: last position %d ms, want %d ms (their newest acknowledged beat's)", i, p.LastPositionMS, st.newestPos)
		}
	}
	if lost == 0 {
		t.Logf("all %d acknowledged beats are in the database", n)
	}
}

// committedTransactions is PostgreSQL's count of transactions committed
// in the database, once no session of it is left (a session reports its
// counts when it ends, or every so often while idle).
func committedTransactions(t *testing.T, admin *sql.DB, name string) int64 {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var sessions int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		if sessions == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open on %s", sessions, name)
		}
	}
	// Read until two reads agree: an ending session's counts may land
	// just after it leaves pg_stat_activity.
	var last int64 = -1
	for {
		var n int64
		if err := admin.QueryRowContext(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == last {
			return n
		}
		last = n
		time.Sleep(300 * time.Millisecond)
	}
}

// percentiles returns the given quantiles (0–1) of ds.
func percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	for i, q := range qs {
		out[i] = s[min(len(s)-1, int(q*float64(len(s))))]
	}
	return out
}
