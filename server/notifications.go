package server

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// excerptLen is how many characters of a question or an answer a
// notification shows.
const excerptLen = 200

func (s *Server) registerNotificationRoutes(g *echo.Group) {
	g.GET("/me/notifications", s.handleNotificationList, s.requireUser)
	g.POST("/me/notifications/read", s.handleNotificationRead, s.requireUser)
	g.GET("/me/counts", s.handleInboxCounts, s.requireUser)
}

// handleInboxCounts answers what the navigation shows: whether the caller
// teaches (and so has a question inbox), the open questions waiting there
// and the unread answers to the caller's own questions. Pages poll it.
func (s *Server) handleInboxCounts(c echo.Context) error {
	counts, err := s.db.FindInboxCounts(c.Request().Context(), currentUser(c))
	if err != nil {
		return fmt.Errorf("find inbox counts: %w", err)
	}
	return c.JSON(http.StatusOK, counts)
}

// excerpt shortens text to n characters, marking a cut with an ellipsis.
func excerpt(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return strings.TrimSpace(string(runes[:n-1])) + "…"
}

// notificationJSON is a notification with excerpts and a link to the
// question's moment.
type notificationJSON struct {
	*lectern.Notification
	Link string `json:"link"`
}

type notificationListResponse struct {
	Notifications []notificationJSON `json:"notifications"`
	Unread        int                `json:"unread"`
}

// handleNotificationList lists the caller's questions that a teacher
// answered since the caller last marked them read, newest first.
func (s *Server) handleNotificationList(c echo.Context) error {
	notes, err := s.db.FindNotifications(c.Request().Context(), currentUser(c))
	if err != nil {
		return fmt.Errorf("find notifications: %w", err)
	}
	resp := notificationListResponse{Notifications: make([]notificationJSON, 0, len(notes)), Unread: len(notes)}
	for _, n := range notes {
		n.Question = excerpt(n.Question, excerptLen)
		n.Answer = excerpt(n.Answer, excerptLen)
		resp.Notifications = append(resp.Notifications, notificationJSON{Notification: n, Link: watchLink(n.LessonID, n.AtMS)})
	}
	return c.JSON(http.StatusOK, resp)
}

type notificationReadRequest struct {
	IDs []string `json:"ids"`
}

type notificationReadResponse struct {
	Marked int64 `json:"marked"`
}

// handleNotificationRead marks the given notifications read, or all of the
// caller's when ids is empty or the body is.
func (s *Server) handleNotificationRead(c echo.Context) error {
	var req notificationReadRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	n, err := s.db.MarkNotificationsRead(c.Request().Context(), currentUser(c).ID, req.IDs)
	if err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return c.JSON(http.StatusOK, notificationReadResponse{Marked: n})
}
