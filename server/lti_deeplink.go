package server

import (
	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/lti"
)

// ltiDeepLinkingPicker answers a deep linking request.
func (s *Server) ltiDeepLinkingPicker(c echo.Context, p *lectern.LTIPlatform, l *lti.Launch, res *db.LTILaunchResult) error {
	return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonMessageType, "Lectern cannot add lessons to the LMS yet."))
}
