package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerAccountRoutes(g *echo.Group) {
	g.PUT("/me/password", s.handlePasswordChange, s.requireUser)
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handlePasswordChange sets a new password for the caller, who proves
// they know the current one (a wrong one counts against the login
// limits); every other session of theirs ends, this one stays.
func (s *Server) handlePasswordChange(c echo.Context) error {
	var req passwordChangeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	if req.CurrentPassword == "" {
		return lectern.Errorf(lectern.EINVALID, "current_password is required")
	}
	if err := validatePassword(req.NewPassword); err != nil {
		return err
	}
	key := loginKey{account: accountKey(u.Email), address: addressKey(c.RealIP())}
	if wait := s.logins.wait(key, s.clock.Now()); wait > 0 {
		return tooManyLogins(c, wait)
	}
	if _, err := s.checkLogin(c, key, u.Email, req.CurrentPassword); err != nil {
		if lectern.ErrorCode(err) == lectern.EUNAUTHORIZED {
			return lectern.Errorf(lectern.EFORBIDDEN, "the current password is wrong")
		}
		return err
	}
	hash, err := s.hashNewPassword(c, req.NewPassword)
	if err != nil {
		return err
	}
	keep := ""
	if cookie, err := c.Cookie(sessionCookie); err == nil && cookie.Value != "" && c.Request().Header.Get(echo.HeaderAuthorization) == "" {
		keep = hashToken(cookie.Value)
	}
	ctx := c.Request().Context()
	ended, err := s.db.ChangePassword(ctx, u.ID, hash, keep)
	if err != nil {
		return err
	}
	s.invalidateAuth(ctx, "u:"+u.ID)
	for _, h := range ended {
		s.endSessionStreams(ctx, h)
	}
	return c.NoContent(http.StatusNoContent)
}
