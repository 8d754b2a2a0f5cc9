package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// allKeys lists every object in the fixture's storage.
func (fx *fixture) allKeys(t *testing.T) []string {
	t.Helper()
	keys := []string{}
	for obj, err := range fx.Store.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// TestAcceptance5_UploadOneByteOverTheLimit is RELIABILITY 5: a recording
// one byte over the upload limit is refused with 413 however it is sent:
// a streaming PUT that says its length, one that does not (chunked), a tus
// upload that announces it, and a tus upload that announces less than it
// then sends (the lie HTTP framing leaves a client: each request's
// Content-Length is honest, the upload's length is not). Nothing is
// stored, no task is queued, the lesson still waits for its recording,
// and no partial file or object is left behind.
func TestAcceptance5_UploadOneByteOverTheLimit(t *testing.T) {
	const limit = 1 << 20
	over := fakeRecording(strings.Repeat("x", limit+1-len(mp4Head)))
	if len(over) != limit+1 {
		t.Fatalf("the recording is %d bytes, want %d", len(over), limit+1)
	}

	t.Run("StreamingPUT", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, fx *fixture) {
			q := newTestQueue(t, fx)
			uploads := t.TempDir()
			ts := newServer(t, fx, func(o *server.Options) {
				o.Jobs = q.Jobs
				o.MaxUploadBytes = limit
				o.Uploads.Dir = uploads
			})
			for name, body := range map[string]any{"WithLength": over, "Chunked": unsized{bytes.NewReader(over)}} {
				t.Run(name, func(t *testing.T) {
					teacher, id := newLessonFor(t, ts)
					teacher.do(t, "PUT", "/api/v1/lessons/"+id+"/source", body, "Content-Type", "video/mp4").
						wantError(http.StatusRequestEntityTooLarge, lectern.ETOOLARGE)
					wantNothingLeft(t, fx, teacher, id, uploads)
					if ids := q.taskIDs(t); len(ids) > 0 {
						t.Errorf("a refused upload queued %v", ids)
					}
				})
			}
		})
	})

	tusStores(t, limit, func(t *testing.T, ts *tusServer) {
		t.Run("AnnouncedOverTheLimit", func(t *testing.T) {
			teacher, id := newLessonFor(t, ts.testServer)
			resp, url := tusClient{teacher}.create(t, id, limit+1)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || url != "" {
				t.Errorf("create of limit+1 bytes: %s, Location %q; want 413 and no upload", resp.Status, url)
			}
			if p := ts.partials(t); len(p) > 0 {
				t.Errorf("a refused upload left %v", p)
			}
			wantNothingLeft(t, ts.fixture, teacher, id, "")
		})
		t.Run("AnnouncedLessThanSent", func(t *testing.T) {
			teacher, id := newLessonFor(t, ts.testServer)
			c := tusClient{teacher}
			resp, url := c.create(t, id, limit)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create of limit bytes: %s", resp.Status)
			}
			resp, err := c.patch(t, url, 0, bytes.NewReader(over))
			if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("PATCH of limit+1 bytes into an upload of limit: %v %v; want 413", resp.Status, err)
			}
			if got := c.offset(t, url); got != 0 {
				t.Errorf("the refused PATCH stored %d bytes", got)
			}
			// Giving up leaves nothing.
			if resp, err := c.req(t, "DELETE", url, nil); err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE of the upload: %v %v", resp.Status, err)
			}
			if p := ts.partials(t); len(p) > 0 {
				t.Errorf("an abandoned upload left %v", p)
			}
			wantNothingLeft(t, ts.fixture, teacher, id, "")
		})
	})
}

// wantNothingLeft fails unless lesson id has no stored object and still
// awaits its recording, the storage holds nothing at all, and dir (when
// set) is empty.
func wantNothingLeft(t *testing.T, fx *fixture, teacher *client, id, dir string) {
	t.Helper()
	if keys := fx.allKeys(t); len(keys) > 0 {
		t.Errorf("a refused upload left objects %v", keys)
	}
	var l struct{ Status string }
	teacher.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).decode(&l)
	if l.Status != "awaiting_upload" {
		t.Errorf("lesson status after a refused upload = %q, want awaiting_upload", l.Status)
	}
	if dir == "" {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a refused upload left %s in the uploads directory", e.Name())
	}
}

// TestAcceptance6_HostileFileNames is RELIABILITY 6: file names that climb
// directories, carry backslashes, run to 1,000 characters or reorder text
// with right-to-left overrides never reach a path: storage keys are made
// by the server from the lesson's ID, the name kept to show the teacher is
// cleaned (its last element, no control or bidi characters, at most 200
// characters with its extension kept), and no file appears outside the
// uploads directory.
func TestAcceptance6_HostileFileNames(t *testing.T) {
	root := t.TempDir()
	uploads := filepath.Join(root, "data", "uploads")
	if err := os.MkdirAll(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	fx := openFixture(t, "sqlite:"+filepath.Join(root, "data", "lectern.db"))
	ts := newServer(t, fx, func(o *server.Options) { o.Uploads.Dir = uploads })
	cases := []struct{ name, want string }{
		{"../../x.mp4", "x.mp4"},
		{`..\..\x.mp4`, "x.mp4"},
		{`a\b.mp4`, "b.mp4"},
		{"/etc/passwd", "passwd"},
		{"lesson\u202egnp.mp4", "lessongnp.mp4"},
		{"\u2067week 1\u2069 \u200fintro.mov", "week 1 intro.mov"},
		{"bell\x07and\nnewline.mkv", "bellandnewline.mkv"},
		{strings.Repeat("é", 1000) + ".webm", strings.Repeat("é", 195) + ".webm"},
		{"../..", ""},
	}
	teacher, id := newLessonFor(t, ts)
	c := tusClient{teacher}
	recording := fakeRecording("hostile names")
	for _, tc := range cases {
		t.Run(strconv.QuoteToASCII(tc.name[:min(len(tc.name), 24)]), func(t *testing.T) {
			meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(id)) +
				",filename " + base64.StdEncoding.EncodeToString([]byte(tc.name))
			resp, err := c.req(t, "POST", "/api/v1/uploads", nil, "Upload-Length", strconv.Itoa(len(recording)), "Upload-Metadata", meta)
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %v %v", resp.Status, err)
			}
			url := resp.Header.Get("Location")
			resp, err = c.req(t, "HEAD", url, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("HEAD: %v %v", resp.Status, err)
			}
			got, kept := "", false
			for _, pair := range strings.Split(resp.Header.Get("Upload-Metadata"), ",") {
				k, v, _ := strings.Cut(pair, " ")
				if k == "filename" {
					b, _ := base64.StdEncoding.DecodeString(v)
					got, kept = string(b), true
				}
			}
			if got != tc.want || kept != (tc.want != "") {
				t.Errorf("name kept as %q (kept %v), want %q", got, kept, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("the kept name %q is not UTF-8", got)
			}
			if resp, err := c.patch(t, url, 0, bytes.NewReader(recording)); err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH: %v %v", resp.Status, err)
			}
		})
	}
	for _, key := range fx.storedKeys(t, id) {
		if !strings.HasPrefix(key, lectern.LessonPrefix(id)) || strings.Contains(key, "x.mp4") || strings.Contains(key, "..") {
			t.Errorf("stored under %q, want a key the server made for the lesson", key)
		}
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && !slices.Contains([]string{"data"}, strings.Split(rel, string(filepath.Separator))[0]) {
			t.Errorf("a file was written outside the data directory: %s", rel)
		}
		if base := d.Name(); base == "x.mp4" || base == "passwd" || strings.ContainsAny(base, "\u202e\\") {
			t.Errorf("a file is named after the upload: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
