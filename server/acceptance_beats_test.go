package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

// The heartbeat load of the acceptance tests (RELIABILITY 15 and 18): a
// class of students, each watching a part of a long lesson of their own
// and sending a beat every so often over HTTP, as the player does.

// beatClass is a course with one long, ready lesson and its students,
// logged in.
type beatClass struct {
	// url is the server's base URL; db its database.
	url      string
	db       *db.DB
	lessonID string
	students []beatStudent
	// secsEach is how many seconds of the lesson each student has:
	// student i watches [i*secsEach, (i+1)*secsEach), so that every second
	// has one viewer and the analytics tell whose beats were kept.
	secsEach int
}

type beatStudent struct {
	user   *lectern.User
	cookie string
}

// newWallClockServer is newServer on the database at url (migrated
// here), with the wall clock: heartbeats may credit only as much playing
// time as has passed, so a load run cannot use a clock that stands still.
// stop closes the server and then the database (also done when the test
// ends).
func newWallClockServer(t *testing.T, url string) (ts *testServer, stop func()) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, nil)
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{DB: d, Storage: store, Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	stop = sync.OnceFunc(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		d.Close()
	})
	t.Cleanup(stop)
	return &testServer{fixture: &fixture{DB: d, Store: store}, URL: hs.URL}, stop
}

// newBeatClass creates the class. Students are logged in through
// sessions written to the database (as the server stores them: the
// SHA-256 of the cookie), so that the login rate limit is not in the way.
func newBeatClass(t *testing.T, ts *testServer, students, secsEach int) *beatClass {
	t.Helper()
	bc := prepareBeatClass(t, ts.DB, students, secsEach)
	bc.url = ts.URL
	return bc
}

// prepareBeatClass stores the class in d; the caller sets bc.url.
func prepareBeatClass(t *testing.T, d *db.DB, students, secsEach int) *beatClass {
	t.Helper()
	ctx := context.Background()
	teacher := &lectern.User{Email: "beat-teacher-" + randomHex(4) + "@example.org", Role: lectern.RoleTeacher}
	if err := d.CreateUser(ctx, teacher); err != nil {
		t.Fatal(err)
	}
	course := &lectern.Course{Title: "Heartbeats", OwnerID: teacher.ID}
	if err := d.CreateCourse(ctx, course); err != nil {
		t.Fatal(err)
	}
	l := &lectern.Lesson{CourseID: course.ID, Title: "Long", PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(ctx, l); err != nil {
		t.Fatal(err)
	}
	ready, duration := lectern.LessonReady, int64(students*secsEach)*1000
	if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &duration}); err != nil {
		t.Fatal(err)
	}
	bc := &beatClass{db: d, lessonID: l.ID, secsEach: secsEach}
	for i := range students {
		u := &lectern.User{Email: fmt.Sprintf("beat-%d-%s@example.org", i, randomHex(4)), Name: fmt.Sprint("Student ", i), Role: lectern.RoleStudent}
		if err := d.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := d.JoinCourse(ctx, course.JoinCode, u.ID); err != nil {
			t.Fatal(err)
		}
		secret := randomHex(32)
		sum := sha256.Sum256([]byte(secret))
		s := &lectern.Session{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, ExpiresAt: time.Now().Add(24 * time.Hour)}
		if err := d.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		bc.students = append(bc.students, beatStudent{user: u, cookie: "lectern_session=" + secret})
	}
	return bc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sentBeat is one heartbeat request and what became of it.
type sentBeat struct {
	student int
	seq     int64
	second  int // the second of the lesson it reports as played
	posMS   int64
	began   time.Time
	ended   time.Time
	// status is the HTTP status; 0 when no answer came (err says why).
	status int
	// cut is set for a beat in flight when the run ended: it may or may
	// not have been recorded, and it is neither a success nor a failure.
	cut        bool
	retryAfter string
	err        error
	// The progress an acknowledged beat was answered with.
	watchedMS      int64
	lastPositionMS int64
}

func (b sentBeat) acked() bool { return b.status == http.StatusOK }

// beatMix says how a student's beats depart from the plain order.
type beatMix struct {
	// Duplicate is the share of beats sent twice (a retry after a lost
	// answer); OutOfOrder the share sent after the beat that follows them
	// (two requests overtaking each other).
	Duplicate, OutOfOrder float64
}

// drive runs the load until ctx ends: every student sends a beat every
// `every` (each waits for its answer before the next, as the player
// does), playing one more second of their part each time. It returns
// every request made.
func (bc *beatClass) drive(ctx context.Context, every time.Duration, mix beatMix) []sentBeat {
	tr := &http.Transport{MaxIdleConns: len(bc.students), MaxIdleConnsPerHost: len(bc.students)}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	url := bc.url + "/api/v1/lessons/" + bc.lessonID + "/progress"
	logs := make([][]sentBeat, len(bc.students))
	var wg sync.WaitGroup
	for i := range bc.students {
		wg.Go(func() { logs[i] = bc.student(ctx, hc, url, i, every, mix) })
	}
	wg.Wait()
	return slices.Concat(logs...)
}

// student is one student's player. A beat that failed is not sent again:
// what the test checks is what the server acknowledged.
func (bc *beatClass) student(ctx context.Context, hc *http.Client, url string, i int, every time.Duration, mix beatMix) []sentBeat {
	rnd := mrand.New(mrand.NewPCG(uint64(i), 18))
	session := fmt.Sprint("player-", i)
	var sent []sentBeat
	send := func(seq int64) {
		second := i*bc.secsEach + int(seq) - 1
		b := sentBeat{student: i, seq: seq, second: second, posMS: int64(second+1) * 1000}
		beat := lectern.Heartbeat{SessionID: session, Seq: seq, PositionMS: b.posMS,
			Ranges: []lectern.Range{{StartMS: int64(second) * 1000, EndMS: int64(second+1) * 1000}}}
		b.began = time.Now()
		bc.put(ctx, hc, url, bc.students[i].cookie, beat, &b)
		b.ended = time.Now()
		b.cut = b.status == 0 && ctx.Err() != nil
		sent = append(sent, b)
	}
	// Players do not start in step.
	tick := time.NewTicker(every)
	defer tick.Stop()
	if !sleepCtx(ctx, time.Duration(rnd.Int64N(int64(every)))) {
		return sent
	}
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			return true
		}
	}
	for seq := int64(1); seq < int64(bc.secsEach)-1 && ctx.Err() == nil; seq++ {
		if rnd.Float64() < mix.OutOfOrder {
			send(seq + 1)
			if !wait() {
				break
			}
			send(seq)
			seq++
		} else {
			send(seq)
		}
		if rnd.Float64() < mix.Duplicate && wait() {
			send(seq)
		}
		if !wait() {
			break
		}
	}
	return sent
}

// put sends one beat and notes the answer in b.
func (bc *beatClass) put(ctx context.Context, hc *http.Client, url, cookie string, beat lectern.Heartbeat, b *sentBeat) {
	body, _ := json.Marshal(beat)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		b.err = err
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", cookie)
	resp, err := hc.Do(req)
	if err != nil {
		b.err = err
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	b.status, b.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	if resp.StatusCode != http.StatusOK {
		b.err = fmt.Errorf("%s: %s", resp.Status, raw)
		return
	}
	var p lectern.Progress
	if err := json.Unmarshal(raw, &p); err != nil {
		b.err = fmt.Errorf("decode %s: %w", raw, err)
		return
	}
	b.watchedMS, b.lastPositionMS = p.WatchedMS, p.LastPositionMS
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// checkKept checks that every acknowledged beat is in the database: its
// second is in the student's coverage (the analytics count one viewer for
// it) and the student's last position is at least the newest
// acknowledged one. It returns how many acknowledged beats it checked
// and how many of those it did not find.
func (bc *beatClass) checkKept(t *testing.T, beats []sentBeat) (n, lost int) {
	t.Helper()
	ctx := context.Background()
	a, err := bc.db.FindLessonAnalytics(ctx, bc.lessonID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	newest := make([]sentBeat, len(bc.students))
	for _, b := range beats {
		if !b.acked() {
			continue
		}
		n++
		if a.Buckets[b.second].Viewers != 1 {
			lost++
			if lost <= 5 {
				t.Errorf("student %d's acknowledged beat %d (second %d) is not in the database", b.student, b.seq, b.second)
			}
		}
		if b.seq > newest[b.student].seq {
			newest[b.student] = b
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged beats lost", lost, n)
	}
	for i, s := range bc.students {
		if newest[i].seq == 0 {
			continue
		}
		p, err := bc.db.FindProgress(ctx, s.user, bc.lessonID)
		if err != nil {
			t.Fatal(err)
		}
		if p.LastPositionMS < newest[i].posMS {
			t.Errorf("student %d: last position %d ms, before the newest acknowledged beat's %d ms", i, p.LastPositionMS, newest[i].posMS)
		}
	}
	return n, lost
}
