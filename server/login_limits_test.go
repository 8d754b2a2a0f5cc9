package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// loginResult is one login's answer, as a goroutine can collect it.
type loginResult struct {
	status     int
	code       string
	retryAfter string
	err        error
}

// tryLogin posts a login through hc, from the address in xff ("" for
// none), and never fails the test: goroutines call it.
func tryLogin(hc *http.Client, base, email, password, xff string) loginResult {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequest("POST", base+"/api/v1/session", bytes.NewReader(body))
	if err != nil {
		return loginResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return loginResult{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	var e apiError
	_ = json.Unmarshal(data, &e)
	return loginResult{status: resp.StatusCode, code: e.Error.Code, retryAfter: resp.Header.Get("Retry-After"), err: err}
}

// statuses counts the answers by status, failing on a transport error.
func statuses(t *testing.T, results []loginResult) map[int]int {
	t.Helper()
	got := map[int]int{}
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("login: %v", r.err)
		}
		got[r.status]++
	}
	return got
}

// createStudents stores n students who share one password (hashed once:
// the test is about logging in, not about creating accounts).
func createStudents(t *testing.T, fx *fixture, n int) ([]*lectern.User, string) {
	t.Helper()
	password := testenv.Name("class-pw")
	hash, err := server.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.Name("student")
	users := make([]*lectern.User, n)
	for i := range users {
		u := &lectern.User{Email: fmt.Sprintf("%s-%03d@school.example", prefix, i), Name: fmt.Sprintf("Student %d", i),
			Role: lectern.RoleStudent, PasswordHash: hash}
		if err := fx.DB.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	return users, password
}

// behindProxy trusts the loopback proxy, so that each request's
// X-Forwarded-For is its client address.
func behindProxy(o *server.Options) {
	o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// TestAcceptance20_ClassBehindOneAddressLogsIn is RELIABILITY 20: a class
// of 200 students behind one address (a school's NAT) all log in, some
// after a typo, at one instant of the server's clock (so within a minute,
// and within any refill of a budget), with the server's real password
// hashing, while guessing from that same address is still throttled. A
// login may wait up to the minute for a hashing slot: how long the class
// queues depends on the machine's speed, not on the throttle under test.
func TestAcceptance20_ClassBehindOneAddressLogsIn(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	ts := newServer(t, fx, behindProxy, func(o *server.Options) { o.Limits.PasswordHashWait = time.Minute })
	const school = "198.51.100.20"
	students, password := createStudents(t, fx, 200)
	victim, _ := fx.createUser(t, lectern.RoleTeacher)

	results := make([]loginResult, len(students))
	guesses := make([]loginResult, 30)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 { // a class does not press Enter all in the same millisecond
		wg.Go(func() {
			hc := &http.Client{}
			for i := range work {
				if i%10 == 0 { // one in ten mistypes first
					if r := tryLogin(hc, ts.URL, students[i].Email, password+"-typo", school); r.status != http.StatusUnauthorized {
						results[i] = r
						continue
					}
				}
				results[i] = tryLogin(hc, ts.URL, students[i].Email, password, school)
			}
		})
	}
	wg.Go(func() {
		// Meanwhile someone at the school guesses a teacher's password.
		hc := &http.Client{}
		for i := range guesses {
			guesses[i] = tryLogin(hc, ts.URL, victim.Email, "guess-"+strconv.Itoa(i), school)
		}
	})
	for i := range students {
		work <- i
	}
	close(work)
	wg.Wait()

	if got := statuses(t, results); got[http.StatusOK] != len(students) {
		t.Errorf("class logins by status: %v; want all %d OK", got, len(students))
	}
	if got := statuses(t, guesses); got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != len(guesses)-5 {
		t.Errorf("guesses by status: %v; want 5 checked (401), then 429", got)
	}
}

// TestAcceptance25_PasswordGuessing is RELIABILITY 25: guessing one
// account's password from rotating addresses (IPv4, or IPv6 within one
// /64) is throttled; a forged X-Forwarded-For from an untrusted peer
// changes nothing; the owner still logs in from their own address while an
// attacker is throttled; and the password hashes computed at once are
// capped, the overflow getting 503 with Retry-After.
func TestAcceptance25_PasswordGuessing(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	// guess sends 100 wrong passwords for email, the i-th from addr(i),
	// and returns the answers by status.
	guess := func(t *testing.T, ts *testServer, email string, addr func(i int) string) map[int]int {
		t.Helper()
		hc := &http.Client{}
		results := make([]loginResult, 100)
		for i := range results {
			results[i] = tryLogin(hc, ts.URL, email, "guess-"+strconv.Itoa(i), addr(i))
			if r := results[i]; r.status == http.StatusTooManyRequests && r.retryAfter == "" {
				t.Errorf("429 without Retry-After")
			}
		}
		return statuses(t, results)
	}
	ipv4 := func(i int) string { return fmt.Sprintf("203.0.%d.%d", 113+i/250, 1+i%250) }
	ipv6 := func(i int) string { return fmt.Sprintf("2001:db8:1:2:%x::%x", (i*7919)%0x10000, i+1) }

	t.Run("RotatingIPv4", func(t *testing.T) {
		ts := newServer(t, fx, behindProxy)
		u, _ := fx.createUser(t, lectern.RoleStudent)
		// The account's ceiling across addresses: 20 checked, the rest refused.
		if got := guess(t, ts, u.Email, ipv4); got[http.StatusUnauthorized] != 20 || got[http.StatusTooManyRequests] != 80 {
			t.Errorf("by status: %v; want 20 checked (401) and 80 refused (429)", got)
		}
	})
	t.Run("RotatingIPv6WithinOne64", func(t *testing.T) {
		ts := newServer(t, fx, behindProxy)
		u, _ := fx.createUser(t, lectern.RoleStudent)
		// One /64 is one address: 5 checked, the rest refused.
		if got := guess(t, ts, u.Email, ipv6); got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 95 {
			t.Errorf("by status: %v; want 5 checked (401) and 95 refused (429)", got)
		}
		// Another /64 has its own budget.
		hc := &http.Client{}
		if r := tryLogin(hc, ts.URL, u.Email, "another-guess", "2001:db8:1:3::1"); r.status != http.StatusUnauthorized {
			t.Errorf("from another /64: status %d, want 401", r.status)
		}
	})
	t.Run("ForgedForwardedForChangesNothing", func(t *testing.T) {
		ts := newServer(t, fx) // no trusted proxy: the header is the client's word
		u, _ := fx.createUser(t, lectern.RoleStudent)
		if got := guess(t, ts, u.Email, ipv4); got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 95 {
			t.Errorf("by status: %v; want 5 checked (401) and 95 refused (429), as from one address", got)
		}
	})
	t.Run("OwnerLogsInWhileAttackerIsThrottled", func(t *testing.T) {
		ts := newServer(t, fx, behindProxy)
		u, pw := fx.createUser(t, lectern.RoleStudent)
		hc := &http.Client{}
		const home = "192.0.2.44"
		if r := tryLogin(hc, ts.URL, u.Email, pw, home); r.status != http.StatusOK {
			t.Fatalf("owner's first login: status %d", r.status)
		}
		if got := guess(t, ts, u.Email, ipv4); got[http.StatusTooManyRequests] < 80 {
			t.Fatalf("attack by status: %v; want it throttled (at least 80 refused)", got)
		}
		if r := tryLogin(hc, ts.URL, u.Email, "guess-again", ipv4(7)); r.status != http.StatusTooManyRequests {
			t.Errorf("attacker after the attack: status %d, want 429", r.status)
		}
		if r := tryLogin(hc, ts.URL, u.Email, pw, home); r.status != http.StatusOK {
			t.Errorf("owner from their own address during the attack: status %d (%s), want 200", r.status, r.code)
		}
		// An owner at an address the account has never logged in from is
		// held back with the attacker until the account's ceiling refills.
		if r := tryLogin(hc, ts.URL, u.Email, pw, "192.0.2.45"); r.status != http.StatusTooManyRequests {
			t.Errorf("owner from a new address during the attack: status %d, want 429", r.status)
		}
		fx.Clock.Advance(3 * time.Minute)
		if r := tryLogin(hc, ts.URL, u.Email, pw, "192.0.2.45"); r.status != http.StatusOK {
			t.Errorf("owner from a new address once the ceiling refilled: status %d, want 200", r.status)
		}
	})
	t.Run("SprayingFromOneAddress", func(t *testing.T) {
		ts := newServer(t, fx, behindProxy)
		hc := &http.Client{}
		// One wrong password for each of many accounts, from one /64.
		var got []loginResult
		for i := range 60 {
			got = append(got, tryLogin(hc, ts.URL, unknownEmail(i), "Spring2030!", ipv6(i)))
		}
		if s := statuses(t, got); s[http.StatusUnauthorized] != 50 || s[http.StatusTooManyRequests] != 10 {
			t.Errorf("spraying by status: %v; want 50 checked (401), then 429", s)
		}
		if r := tryLogin(hc, ts.URL, unknownEmail(99), "Spring2030!", "2001:db8:9::1"); r.status != http.StatusUnauthorized {
			t.Errorf("from another /64: status %d, want 401", r.status)
		}
	})
	t.Run("HashingIsCapped", func(t *testing.T) {
		concurrent := func(t *testing.T, limits server.Limits) (map[int]int, []loginResult, int64) {
			ts, srv := newLiveServer(t, fx, behindProxy, func(o *server.Options) { o.Limits = limits })
			results := make([]loginResult, 24)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range results {
				wg.Go(func() {
					hc := &http.Client{}
					<-start
					// Each from its own address and account: no budget is
					// what holds them back.
					results[i] = tryLogin(hc, ts.URL, unknownEmail(i), "wrong-password", ipv4(i))
				})
			}
			close(start)
			wg.Wait()
			return statuses(t, results), results, server.PasswordHashPeak(srv)
		}
		t.Run("OverflowGets503", func(t *testing.T) {
			got, results, peak := concurrent(t, server.Limits{PasswordHashes: 2, PasswordHashWait: time.Millisecond})
			if peak > 2 {
				t.Errorf("%d password hashes ran at once, want at most 2", peak)
			}
			if got[http.StatusServiceUnavailable] == 0 || got[http.StatusUnauthorized] == 0 ||
				got[http.StatusServiceUnavailable]+got[http.StatusUnauthorized] != len(results) {
				t.Errorf("by status: %v; want some checked (401) and the overflow refused (503)", got)
			}
			for _, r := range results {
				if r.status == http.StatusServiceUnavailable && (r.code != lectern.EUNAVAILABLE || r.retryAfter == "") {
					t.Errorf("503 with code %q and Retry-After %q; want %q and a delay", r.code, r.retryAfter, lectern.EUNAVAILABLE)
				}
			}
		})
		t.Run("ShortQueueWaits", func(t *testing.T) {
			// A wait long enough for 24 hashes two at a time on a busy machine.
			got, results, peak := concurrent(t, server.Limits{PasswordHashes: 2, PasswordHashWait: time.Minute})
			if peak > 2 {
				t.Errorf("%d password hashes ran at once, want at most 2", peak)
			}
			if got[http.StatusUnauthorized] != len(results) {
				t.Errorf("by status: %v; want every login checked (401) after a short wait", got)
			}
		})
	})
}
