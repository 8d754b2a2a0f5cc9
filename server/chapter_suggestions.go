package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerChapterSuggestionRoutes(g *echo.Group) {
	g.GET("/lessons/:id/chapter-suggestions", s.handleChapterSuggestionList, s.requireUser)
	g.POST("/lessons/:id/chapter-suggestions/:sid/accept", s.handleChapterSuggestionAccept, s.requireUser)
	g.DELETE("/lessons/:id/chapter-suggestions/:sid", s.handleChapterSuggestionDiscard, s.requireUser)
}

// chapterSuggestionListResponse wraps a lesson's chapter suggestions.
type chapterSuggestionListResponse struct {
	Suggestions []lectern.ChapterSuggestion `json:"suggestions"`
}

// handleChapterSuggestionList gives the chapter starts the transcoder
// suggests for a lesson (where its picture changed as a slide does), by
// start, to the course's teachers and admins: other members get 403,
// everyone else 404.
func (s *Server) handleChapterSuggestionList(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.findTaughtLesson(ctx, c.Param("id"), currentUser(c), "see chapter suggestions")
	if err != nil {
		return err
	}
	sugs, err := s.db.FindChapterSuggestions(ctx, l.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chapterSuggestionListResponse{Suggestions: sugs})
}

// chapterAcceptRequest renames a suggestion as it is accepted; no body,
// or no title, keeps the suggestion's own.
type chapterAcceptRequest struct {
	Title *string `json:"title"`
}

// handleChapterSuggestionAccept makes a suggestion one of the lesson's
// chapters, with the title sent or its own, and answers the lesson's
// chapters (as PUT chapters does); the suggestion is gone. A title a
// chapter cannot have is refused with 400, a chapter already at that
// moment with 409; both change nothing.
func (s *Server) handleChapterSuggestionAccept(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.findTaughtLesson(ctx, c.Param("id"), currentUser(c), "set a lesson's chapters")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	var req chapterAcceptRequest
	if len(bytes.TrimSpace(body)) > 0 {
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	title := ""
	if req.Title != nil {
		if title, err = lectern.CheckChapterTitle(*req.Title); err != nil {
			return err
		}
	}
	chs, err := s.db.AcceptChapterSuggestion(ctx, l.ID, c.Param("sid"), title)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chapterListResponse{Chapters: chs})
}

// handleChapterSuggestionDiscard removes a suggestion (course teachers and
// admins).
func (s *Server) handleChapterSuggestionDiscard(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.findTaughtLesson(ctx, c.Param("id"), currentUser(c), "discard chapter suggestions")
	if err != nil {
		return err
	}
	if err := s.db.DiscardChapterSuggestion(ctx, l.ID, c.Param("sid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
