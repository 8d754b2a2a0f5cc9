package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerQuestionRoutes(g *echo.Group) {
	g.GET("/questions", s.handleQuestionInbox, s.requireUser)
}

// watchLink is the deep link to a moment of a lesson: the watch page,
// starting at that second.
func watchLink(lessonID string, atMS int64) string {
	return "/watch/" + url.PathEscape(lessonID) + "?t=" + strconv.FormatInt(atMS/1000, 10)
}

// inboxQuestionJSON is a question in the inbox, with a link to its moment.
type inboxQuestionJSON struct {
	*lectern.InboxQuestion
	Link string `json:"link"`
}

type inboxResponse struct {
	Questions  []inboxQuestionJSON           `json:"questions"`
	Lessons    []lectern.LessonQuestionCount `json:"lessons"`
	NextCursor *string                       `json:"next_cursor"`
}

// handleQuestionInbox lists the questions (open by default) across every
// course the caller teaches, oldest first, and the open ones per lesson.
// Someone who teaches no course gets an empty inbox.
func (s *Server) handleQuestionInbox(c echo.Context) error {
	f := lectern.InboxFilter{Status: lectern.QuestionStatus(c.QueryParam("status")), After: c.QueryParam("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		return lectern.Errorf(lectern.EINVALID, "status must be open, answered or resolved")
	}
	var err error
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	inbox, err := s.db.FindInbox(c.Request().Context(), currentUser(c), f)
	if err != nil {
		return fmt.Errorf("find inbox: %w", err)
	}
	resp := inboxResponse{Questions: make([]inboxQuestionJSON, 0, len(inbox.Questions)),
		Lessons: inbox.Lessons, NextCursor: optString(inbox.Next)}
	for _, q := range inbox.Questions {
		resp.Questions = append(resp.Questions, inboxQuestionJSON{InboxQuestion: q, Link: watchLink(q.LessonID, q.AtMS)})
	}
	return c.JSON(http.StatusOK, resp)
}
