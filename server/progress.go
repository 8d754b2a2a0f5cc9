package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// maxBeatBody bounds a heartbeat's body: MaxBeatRanges ranges fit in a
// few hundred bytes.
const maxBeatBody = 16 << 10

func (s *Server) registerProgressRoutes(g *echo.Group) {
	g.GET("/lessons/:id/progress", s.handleProgressGet, s.requireUser)
	g.PUT("/lessons/:id/progress", s.handleProgressBeat, s.requireUser)
	// navigator.sendBeacon, which the player uses when the page is hidden,
	// can only POST. It is same-origin from Lectern's pages, so the
	// cross-origin protection stays on for it.
	g.POST("/lessons/:id/progress", s.handleProgressBeat, s.requireUser)
}

// handleProgressGet returns the caller's progress in a lesson: where to
// resume and how much was watched. Non-members get 404.
func (s *Server) handleProgressGet(c echo.Context) error {
	p, err := s.db.FindProgress(c.Request().Context(), currentUser(c), c.Param("id"))
	if err != nil {
		return fmt.Errorf("find progress: %w", err)
	}
	return c.JSON(http.StatusOK, p)
}

// handleProgressBeat records one heartbeat of the caller's player and
// answers, once it is committed, with the caller's progress. The body is
// JSON, sent as application/json or (by sendBeacon with a string) as
// text/plain. Non-members get 404; a malformed beat, or one claiming more
// playing than a beat can hold, 400.
func (s *Server) handleProgressBeat(c echo.Context) error {
	beat, err := decodeBeat(c)
	if err != nil {
		return err
	}
	req := db.BeatRequest{Viewer: currentUser(c), LessonID: c.Param("id"), Beat: beat}
	p, err := s.beats.submit(c.Request().Context(), req)
	if err != nil {
		return fmt.Errorf("record heartbeat: %w", err)
	}
	return c.JSON(http.StatusOK, p)
}

// decodeBeat reads and checks a heartbeat from the request body.
func decodeBeat(c echo.Context) (lectern.Heartbeat, error) {
	var beat lectern.Heartbeat
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && mt != echo.MIMETextPlain) {
			return beat, lectern.Errorf(lectern.EINVALID, "a heartbeat is JSON sent as application/json or text/plain")
		}
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBeatBody+1))
	if err != nil {
		return beat, jsonDecodeError(err)
	}
	if len(body) > maxBeatBody {
		return beat, lectern.Errorf(lectern.ETOOLARGE, "a heartbeat must be at most %d bytes", maxBeatBody)
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if err := decodeJSON(c, &beat); err != nil {
		return beat, err
	}
	return beat, beat.Validate()
}

// viewerProgress returns viewer's progress in the lessons of a course
// they have started, by lesson id, for lesson JSON.
func (s *Server) viewerProgress(ctx context.Context, viewer *lectern.User, courseID string) (map[string]*lectern.Progress, error) {
	progress, err := s.db.FindCourseProgress(ctx, viewer.ID, courseID)
	if err != nil {
		return nil, fmt.Errorf("find course progress: %w", err)
	}
	return progress, nil
}
