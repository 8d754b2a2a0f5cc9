package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// QueueUIPath is where Options.QueueUI (asynqmon) is mounted; the handler
// must be built with this root path.
const QueueUIPath = "/admin/queues"

// registerQueueUIRoutes mounts the queue web UI behind the admin check:
// asynqmon has no authentication of its own. Anonymous browsers are sent
// to the login page, anonymous scripts get 401, non-admins 403.
func (s *Server) registerQueueUIRoutes(e *echo.Echo) {
	if s.queueUI == nil {
		return
	}
	h := echo.WrapHandler(s.queueUI)
	mw := []echo.MiddlewareFunc{s.requireUserOrLogin, requireAdmin}
	e.Any(QueueUIPath, h, mw...)
	e.Any(QueueUIPath+"/*", h, mw...)
}

// requireUserOrLogin is requireUser for browser pages: a GET that asks for
// HTML without valid credentials is redirected to the login page, which
// comes back afterwards.
func (s *Server) requireUserOrLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.authenticate(c)
		if err != nil {
			r := c.Request()
			if lectern.ErrorCode(err) == lectern.EUNAUTHORIZED && r.Method == http.MethodGet &&
				strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMETextHTML) {
				return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}
