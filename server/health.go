package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// readyTimeout bounds /readyz: a dependency that does not answer within it
// counts as down.
const readyTimeout = 3 * time.Second

func (s *Server) registerHealthRoutes(e *echo.Echo) {
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
}

// handleHealth says the process is up (liveness).
func (s *Server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	// Reasons says why a check failed, when its error carries a message
	// meant for people (a *lectern.Error, such as low disk space).
	Reasons map[string]string `json:"reasons,omitempty"`
}

// handleReady runs every readiness check at once and answers 200 when all
// pass, else 503 naming the ones that failed. A failed degraded check
// (Options.DegradedChecks) is named too, but the answer stays 200 with
// status "degraded": the instance still serves. Failure details go to the
// log, not to the (unauthenticated) client, except the messages of
// *lectern.Error failures, which are written to be shown and name no path
// ("low disk space: 120.0 MB free, below the 536.9 MB minimum").
func (s *Server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		resp = readyResponse{Status: "ok", Checks: make(map[string]string, len(s.readyChecks))}
		soft bool // a degraded check failed
	)
	run := func(name string, check func(context.Context) error, degraded bool) {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				resp.Checks[name] = "ok"
				return
			}
			resp.Checks[name] = "failed"
			if degraded {
				soft = true
			} else {
				resp.Status = "unavailable"
			}
			var le *lectern.Error
			if errors.As(err, &le) {
				if resp.Reasons == nil {
					resp.Reasons = map[string]string{}
				}
				resp.Reasons[name] = le.Message
			}
			s.logger.WarnContext(ctx, "readiness check failed", slog.String("check", name),
				slog.Bool("degraded_only", degraded), slog.Any("error", err))
		})
	}
	for name, check := range s.readyChecks {
		run(name, check, false)
	}
	for name, check := range s.degradedChecks {
		run(name, check, true)
	}
	wg.Wait()
	if soft && resp.Status == "ok" {
		resp.Status = "degraded"
	}
	status := http.StatusOK
	if resp.Status == "unavailable" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, resp)
}
