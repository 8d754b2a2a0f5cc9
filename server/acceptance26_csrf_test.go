package server_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// evilOrigin is the site the forged requests come from.
const evilOrigin = "https://evil.example"

// Browser headers of the forgeries: a form another site submits (a
// top-level navigation), a fetch it makes with the user's cookies, and the
// same from a browser that sends Origin but no Fetch Metadata.
var (
	crossSiteForm  = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Origin", evilOrigin}
	crossSiteFetch = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Origin", evilOrigin}
	originOnly     = []string{"Origin", evilOrigin}
)

// TestAcceptance26_CSRF is RELIABILITY 26: requests another site makes a
// logged-in user's browser send (form POSTs, and fetches with cookies) to
// the comment, progress, upload, membership and admin endpoints are
// refused with 403 and change nothing in the database, the queue or
// storage; the player's same-origin sendBeacon progress is accepted; and
// every GET route the router answers, sent cross-site with cookies,
// changes nothing at all (the whole database is compared).
func TestAcceptance26_CSRF(t *testing.T) {
	for _, d := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "lectern.db") }},
		{"PostgreSQL", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	} {
		t.Run(d.name, func(t *testing.T) {
			url := d.url(t)
			w := newWorld(t, openFixture(t, url))
			k := w.b
			t.Run("ForgeriesRefused", func(t *testing.T) { testForgeries(t, w, k, url) })
			t.Run("SameOriginBeaconAccepted", func(t *testing.T) {
				var p lectern.Progress
				w.ts.Clock.Advance(10 * time.Second) // the beacon is the newest session's
				k.student.do(t, "POST", k.path("/api/v1/lessons/:lesson/progress"),
					`{"session_id":"beacon","seq":1,"position_ms":5000,"ranges":[[3000,5000]]}`,
					"Content-Type", "text/plain;charset=UTF-8", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "no-cors",
					"Sec-Fetch-Dest", "empty", "Origin", w.ts.URL).want(http.StatusOK).decode(&p)
				if p.WatchedMS != 5000 || p.LastPositionMS != 5000 {
					t.Errorf("after the beacon: watched %d ms, at %d; want 5000 and 5000", p.WatchedMS, p.LastPositionMS)
				}
				// The page's own fetches pass too.
				k.student.do(t, "POST", k.path("/api/v1/lessons/:lesson/comments"),
					map[string]any{"kind": "comment", "visibility": "class", "at_ms": 4000, "body": "same-origin comment"},
					"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors", "Origin", w.ts.URL).want(http.StatusCreated)
			})
			t.Run("GETsChangeNothing", func(t *testing.T) { testGETsChangeNothing(t, w, k, url) })
		})
	}
}

// forgery is one state-changing request another site makes a browser send.
type forgery struct {
	who          string
	c            *client
	method, path string
	form         string // the body as a form would send it; "" for fetch only
	body         any    // the body as a fetch would send it
	contentType  string
}

func testForgeries(t *testing.T, w *world, k *kit, url string) {
	upload := strings.TrimPrefix(k.uploadURL, w.ts.URL)
	forgeries := []forgery{
		{"student", k.student, "POST", k.path("/api/v1/lessons/:lesson/comments"), "kind=comment&visibility=class&at_ms=1&body=forged",
			map[string]any{"kind": "comment", "visibility": "class", "at_ms": 1, "body": "forged"}, "application/json"},
		{"student", k.student, "POST", k.path("/api/v1/lessons/:lesson/progress"), `{"session_id":"x","seq":1,"position_ms":6000,"ranges":[[0,6000]]}`,
			`{"session_id":"x","seq":1,"position_ms":6000,"ranges":[[0,6000]]}`, "text/plain;charset=UTF-8"},
		{"student", k.student, "PUT", k.path("/api/v1/lessons/:lesson/progress"), "",
			`{"session_id":"x","seq":1,"position_ms":6000,"ranges":[[0,6000]]}`, "application/json"},
		{"student", k.student, "PATCH", k.path("/api/v1/comments/:comment"), "", map[string]string{"body": "forged"}, "application/json"},
		{"student", k.student, "DELETE", k.path("/api/v1/comments/:comment"), "", nil, ""},
		{"student", k.student, "DELETE", k.path("/api/v1/courses/:course/membership"), "", nil, ""},
		{"student", k.student, "POST", "/api/v1/me/notifications/read", "ids=" + k.notificationID, nil, ""},
		{"teacher", k.teacher, "PUT", k.path("/api/v1/lessons/:lesson/source"), "", fakeRecording("forged"), "video/mp4"},
		{"teacher", k.teacher, "POST", "/api/v1/uploads", "", nil, ""},
		{"teacher", k.teacher, "PATCH", upload, "", fakeRecording("forged"), "application/offset+octet-stream"},
		{"teacher", k.teacher, "DELETE", upload, "", nil, ""},
		{"teacher", k.teacher, "DELETE", k.path("/api/v1/courses/:course/members/:mate"), "", nil, ""},
		{"teacher", k.teacher, "DELETE", k.path("/api/v1/lessons/:lesson"), "", nil, ""},
		{"teacher", k.teacher, "POST", k.path("/api/v1/courses/:course/lessons"), "title=forged", map[string]string{"title": "forged"}, "application/json"},
		{"admin", w.admin, "POST", k.path("/api/v1/admin/jobs/:job/cancel"), "x=1", nil, ""},
		{"admin", w.admin, "POST", "/api/v1/users", "email=forged%40example.org&name=Forged&password=forged+password&role=admin",
			map[string]string{"email": "forged@example.org", "name": "Forged", "password": "forged password", "role": "admin"}, "application/json"},
	}
	tusHeaders := func(f forgery) []string {
		if !strings.HasPrefix(f.path, "/api/v1/uploads") {
			return nil
		}
		h := []string{"Tus-Resumable", "1.0.0"}
		if f.method == "POST" {
			h = append(h, "Upload-Length", "100", "Upload-Metadata", "lesson_id "+b64(k.lessonID))
		}
		if f.method == "PATCH" {
			h = append(h, "Upload-Offset", "0")
		}
		return h
	}
	beforeDB, before := dumpDB(t, url), w.snapshot(t, k)
	n := 0
	for _, f := range forgeries {
		variants := map[string][]string{"Fetch": crossSiteFetch, "OriginOnly": originOnly}
		if f.form != "" && f.method == "POST" {
			variants["FormPost"] = crossSiteForm
		}
		for name, headers := range variants {
			body, ct := f.body, f.contentType
			if name == "FormPost" {
				body, ct = f.form, "application/x-www-form-urlencoded"
				if strings.HasPrefix(f.contentType, "text/plain") {
					ct = f.contentType // <form enctype="text/plain">
				}
			}
			h := append(slices.Clone(headers), tusHeaders(f)...)
			if ct != "" {
				h = append(h, "Content-Type", ct)
			}
			n++
			r := f.c.do(t, f.method, f.path, body, h...)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s's browser, %s %s from %s (%s): status %d, want 403; body %.200s", f.who, f.method, f.path, evilOrigin, name, r.Status, r.Body)
				continue
			}
			r.wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		}
	}
	t.Logf("%d forged requests refused", n)
	if diff := cmp.Diff(beforeDB, dumpDB(t, url)); diff != "" {
		t.Errorf("forged requests changed the database (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before, w.snapshot(t, k)); diff != "" {
		t.Errorf("forged requests changed what the course's people see (-before +after):\n%s", diff)
	}
}

// testGETsChangeNothing sends every GET and HEAD of routeCases (so every
// such route of the router) cross-site with the cookies of someone who
// may call it, and compares the whole database, the queue and storage.
func testGETsChangeNothing(t *testing.T, w *world, k *kit, url string) {
	beforeDB, before := dumpDB(t, url), w.snapshot(t, k)
	n := 0
	for _, key := range sortedCases() {
		rc := routeCases[key]
		c := k.student
		switch rc.access {
		case admin:
			c = w.admin
		case teacher, creator, author:
			c = k.teacher
		}
		for _, p := range rc.probes(w, k) {
			if p.method != "GET" && p.method != "HEAD" {
				continue
			}
			p.headers = append(slices.Clone(p.headers), crossSiteFetch...)
			n++
			if r := w.send(t, c, p); r.Status >= 500 {
				t.Errorf("%s: %s %s answered %d; body %.200s", key, p.method, p.path, r.Status, r.Body)
			}
		}
	}
	t.Logf("%d cross-site GETs sent", n)
	if diff := cmp.Diff(beforeDB, dumpDB(t, url)); diff != "" {
		t.Errorf("GETs changed the database (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before, w.snapshot(t, k)); diff != "" {
		t.Errorf("GETs changed what the course's people see (-before +after):\n%s", diff)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// measuredTables hold what Lectern measured, not what anyone did: a page
// that shows storage use fills in the sizes of lessons never measured
// (here, lessons whose output the fixture published directly), as a cache
// of what storage holds. A GET may fill them; nothing else.
var measuredTables = map[string]bool{"lesson_storage": true}

// recordedColumns are written in the background about 2 s after a session
// or token is first used in a minute (db.TokenUses): when the set-up's
// requests were that recent, the write lands between the two dumps. They
// record that a credential was used, which any request does, cross-site or
// not; what a forged request must not change is everything else.
var recordedColumns = map[string]bool{"sessions.last_seen_at": true, "api_tokens.last_used_at": true}

// dumpDB reads every row of every table of the database at url but the
// measuredTables, each table's rows as sorted strings, without the
// recordedColumns.
func dumpDB(t *testing.T, url string) map[string][]string {
	t.Helper()
	driver, dsn := "pgx", url
	tablesQuery := `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn = "sqlite", p
		tablesQuery = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	var tables []string
	rows, err := conn.QueryContext(ctx, tablesQuery)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !measuredTables[name] {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found tables %v; the dump reads the wrong database", tables)
	}
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := conn.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		lines := []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if recordedColumns[table+"."+cols[i]] {
					continue
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			lines = append(lines, b.String())
		}
		rows.Close()
		slices.Sort(lines)
		out[table] = lines
	}
	return out
}
