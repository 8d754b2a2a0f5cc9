package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerChapterRoutes(g *echo.Group) {
	g.GET("/lessons/:id/chapters", s.handleChapterList, s.requireUser)
	g.PUT("/lessons/:id/chapters", s.handleChaptersPut, s.requireUser)
	s.registerChapterSuggestionRoutes(g)
}

// chapterRequest is one chapter as a teacher sends it; both fields are
// required.
type chapterRequest struct {
	StartMS *int64  `json:"start_ms"`
	Title   *string `json:"title"`
}

// chapterListResponse wraps a lesson's chapters, as every list of the API
// is wrapped.
type chapterListResponse struct {
	Chapters []lectern.Chapter `json:"chapters"`
}

// handleChapterList gives a lesson's chapters, by start, to a member of
// its course.
func (s *Server) handleChapterList(c echo.Context) error {
	ctx := c.Request().Context()
	l, _, err := s.db.FindLesson(ctx, c.Param("id"), currentUser(c))
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	chs, err := s.db.FindChapters(ctx, l.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chapterListResponse{Chapters: chs})
}

// handleChaptersPut replaces a lesson's chapters with the JSON array of the
// body, [{start_ms,title}], in any order (they are stored sorted; an empty
// array removes them). Course teachers and admins only: other members get
// 403, everyone else 404. Chapters that do not fit the lesson are refused
// with 400 naming the chapter, and change nothing.
func (s *Server) handleChaptersPut(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.findTaughtLesson(ctx, c.Param("id"), currentUser(c), "set a lesson's chapters")
	if err != nil {
		return err
	}
	var req []chapterRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req == nil {
		return lectern.Errorf(lectern.EINVALID, `send the chapters as a JSON array, [{"start_ms":0,"title":"Introduction"}, …]; [] removes them`)
	}
	if len(req) > lectern.MaxChapters {
		return lectern.Errorf(lectern.EINVALID, "a lesson can have at most %d chapters, not %d", lectern.MaxChapters, len(req))
	}
	chs := make([]lectern.Chapter, len(req))
	for i, r := range req {
		if r.StartMS == nil || r.Title == nil {
			return lectern.Errorf(lectern.EINVALID, "chapter %d: start_ms and title are required", i+1)
		}
		chs[i] = lectern.Chapter{StartMS: *r.StartMS, Title: *r.Title}
	}
	out, err := s.db.SetChapters(ctx, l.ID, chs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chapterListResponse{Chapters: out})
}

// withChapters fills lj's chapters from the database.
func (s *Server) withChapters(ctx context.Context, lj *lessonJSON) error {
	chs, err := s.db.FindChapters(ctx, lj.ID)
	if err != nil {
		return err
	}
	lj.Chapters = chs
	return nil
}
