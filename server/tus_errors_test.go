package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// TestTusErrorBodiesShowNoPath makes tusd fail in ways whose Go errors
// name the server's files: every error body is the API's JSON error, and
// none shows a path.
func TestTusErrorBodiesShowNoPath(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	dir := t.TempDir()
	ts := newServer(t, fx, func(o *server.Options) { o.Uploads.Dir = dir })
	teacher, lessonID := newLessonFor(t, ts)
	c := tusClient{teacher}
	resp, url := c.create(t, lessonID, 1<<20)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s", resp.Status)
	}
	wantJSONError := func(t *testing.T, r *response, status int, code string) {
		t.Helper()
		if r.Status != status {
			t.Errorf("status %d %s, want %d", r.Status, r.Body, status)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Code != code || body.Error.Message == "" {
			t.Errorf("body %q: want the API's JSON error with code %q", r.Body, code)
		}
		if strings.Contains(string(r.Body), dir) || strings.Contains(string(r.Body), "/tmp") {
			t.Errorf("body %q shows a server path", r.Body)
		}
	}
	t.Run("MismatchedOffset", func(t *testing.T) {
		r := c.rawPatch(t, url, 5, []byte(mp4Head))
		wantJSONError(t, r, http.StatusConflict, lectern.ECONFLICT)
	})
	t.Run("UndeletableDataFile", func(t *testing.T) {
		// The upload's data file turned into a directory that is not
		// empty: deleting the upload fails with an error that names it.
		bin := filepath.Join(dir, path.Base(url))
		if err := os.Remove(bin); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(bin, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		r := c.rawDo(t, "DELETE", url, nil)
		wantJSONError(t, r, http.StatusInternalServerError, lectern.EINTERNAL)
	})
}
