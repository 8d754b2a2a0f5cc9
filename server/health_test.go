package server_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/lectern/lectern/server"
)

func TestHealth(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	t.Run("Healthz", func(t *testing.T) {
		ts := newServer(t, fx)
		var got map[string]string
		ts.client(t).do(t, "GET", "/healthz", nil).want(http.StatusOK).decode(&got)
		if got["status"] != "ok" {
			t.Errorf("healthz = %v", got)
		}
	})
	t.Run("ReadyDefaultPingsDB", func(t *testing.T) {
		ts := newServer(t, fx)
		var got struct{ Status string }
		ts.client(t).do(t, "GET", "/readyz", nil).want(http.StatusOK).decode(&got)
		if got.Status != "ok" {
			t.Errorf("readyz status = %q", got.Status)
		}
	})
	t.Run("ReadyFailingCheck", func(t *testing.T) {
		ts := newServer(t, fx, func(o *server.Options) {
			o.ReadyChecks = map[string]func(context.Context) error{
				"db":    fx.DB.Ping,
				"redis": func(context.Context) error { return io.ErrUnexpectedEOF },
			}
		})
		var got struct {
			Status string
			Checks map[string]string
		}
		ts.client(t).do(t, "GET", "/readyz", nil).want(http.StatusServiceUnavailable).decode(&got)
		if got.Status == "ok" || got.Checks["redis"] != "failed" || got.Checks["db"] != "ok" {
			t.Errorf("readyz = %+v; want redis failed, db ok", got)
		}
	})
}
