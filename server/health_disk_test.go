package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/disk"
)

// TestReadyzReportsLowDisk: with less free space than the minimum on a
// real disk, /readyz answers 503 and says why in its JSON, without the
// path; with enough, it is ready.
func TestReadyzReportsLowDisk(t *testing.T) {
	mnt := testenv.SmallDisk(t, 8<<20)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	for _, tc := range []struct {
		name   string
		min    int64
		status int
	}{{"EnoughSpace", 1 << 20, http.StatusOK}, {"LowDisk", 16 << 20, http.StatusServiceUnavailable}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(t, fx, func(o *server.Options) {
				o.ReadyChecks = map[string]func(context.Context) error{
					"db":   fx.DB.Ping,
					"disk": func(context.Context) error { return disk.CheckFreeSpace(mnt, tc.min) },
				}
			})
			r := ts.client(t).do(t, "GET", "/readyz", nil)
			if r.Status != tc.status {
				t.Fatalf("/readyz: %d %s, want %d", r.Status, r.Body, tc.status)
			}
			var body struct {
				Status  string
				Checks  map[string]string
				Reasons map[string]string
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			if tc.status == http.StatusOK {
				return
			}
			if body.Checks["disk"] != "failed" || body.Checks["db"] != "ok" {
				t.Errorf("checks %v: want disk failed, db ok", body.Checks)
			}
			if reason := body.Reasons["disk"]; !strings.Contains(reason, "low disk space") || !strings.Contains(reason, "free") {
				t.Errorf("reason for disk %q: want low disk space and how much is free", reason)
			}
			if strings.Contains(string(r.Body), mnt) {
				t.Errorf("/readyz shows the path: %s", r.Body)
			}
		})
	}
}
