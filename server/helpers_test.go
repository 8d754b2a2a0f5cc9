package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is one migrated database with its clock and storage.
type fixture struct {
	DB    *db.DB
	Clock *testClock
	Store lectern.Storage
	// Wrap, when set, wraps the server's handler in newServer: a test's
	// seam between the connection and the server.
	Wrap func(http.Handler) http.Handler
}

// forEachDB runs fn once against a fresh SQLite database and once against
// a fresh PostgreSQL database.
func forEachDB(t *testing.T, fn func(t *testing.T, fx *fixture)) {
	t.Helper()
	dbs := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "lectern.db") }},
		{"PostgreSQL", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			fn(t, openFixture(t, d.url(t)))
		})
	}
}

func openFixture(t *testing.T, url string) *fixture {
	t.Helper()
	clock := newTestClock()
	ctx := context.Background()
	d, err := db.Open(ctx, url, clock)
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatalf("disk storage: %v", err)
	}
	return &fixture{DB: d, Clock: clock, Store: store}
}

// testServer is a running server over a fixture.
type testServer struct {
	*fixture
	URL string
}

// newServer starts a server (with its own login limits) over fx. edit,
// when given, adjusts the options first.
func newServer(t *testing.T, fx *fixture, edit ...func(*server.Options)) *testServer {
	t.Helper()
	opts := server.Options{
		DB:      fx.DB,
		Storage: fx.Store,
		Clock:   fx.Clock,
		Secret:  []byte("0123456789abcdef0123456789abcdef"),
	}
	for _, e := range edit {
		e(&opts)
	}
	s, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	h := s.Handler()
	if fx.Wrap != nil {
		h = fx.Wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return &testServer{fixture: fx, URL: hs.URL}
}

// createUser stores a user with the given role and returns it with its
// password.
func (fx *fixture) createUser(t *testing.T, role lectern.Role) (*lectern.User, string) {
	t.Helper()
	password := testenv.Name("pw")
	u, err := server.NewUser(testenv.Name(string(role))+"@example.org", "Test "+string(role), role, password)
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	if err := fx.DB.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u, password
}

// client is an HTTP client with a cookie jar and optional fixed headers.
// Its requests take the calling (sub)test, which failures are reported to.
type client struct {
	base   string
	hc     *http.Client
	header http.Header
}

func (ts *testServer) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: ts.URL, hc: &http.Client{Jar: jar}, header: http.Header{}}
}

// login returns a client logged in as u.
func (ts *testServer) login(t *testing.T, u *lectern.User, password string) *client {
	t.Helper()
	c := ts.client(t)
	r := c.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": password})
	r.want(http.StatusOK)
	return c
}

// loginNew creates a user with role and returns a client logged in as it.
func (ts *testServer) loginNew(t *testing.T, role lectern.Role) (*lectern.User, *client) {
	t.Helper()
	u, pw := ts.createUser(t, role)
	return u, ts.login(t, u, pw)
}

type response struct {
	t      *testing.T
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request. body is sent as is when it is a string, []byte or
// io.Reader, and as JSON otherwise; extra headers come as name, value pairs.
func (c *client) do(t *testing.T, method, path string, body any, headers ...string) *response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// want fails the test unless the response has this status.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// decode unmarshals the body into v.
func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.Body, err)
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks the status, the JSON error shape and its code, and
// returns the message.
func (r *response) wantError(status int, code string) string {
	r.t.Helper()
	r.want(status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e apiError
	r.decode(&e)
	if e.Error.Code != code {
		r.t.Errorf("error code = %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		r.t.Errorf("error message is empty")
	}
	return e.Error.Message
}

// fields decodes the body as a JSON object.
func (r *response) fields() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// ignoreKeys makes cmp skip these keys of JSON objects decoded into maps.
func ignoreKeys(keys ...string) cmp.Option {
	return cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		for _, key := range keys {
			if k == key {
				return true
			}
		}
		return false
	})
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
