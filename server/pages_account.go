package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// handleAccountPage shows the caller's account: name, email address,
// password, sessions and mail preferences; account.js changes them
// through the API.
func (s *Server) handleAccountPage(c echo.Context, u *lectern.User) error {
	sessions, err := s.mySessions(c, u)
	if err != nil {
		return err
	}
	prefs, err := s.mailPrefs(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "account", Title: "Your account", User: u, Nav: "account", Script: "js/account.js",
		View: struct {
			Sessions       []sessionJSON
			HasPassword    bool
			MailConfigured bool
			MailPrefs      []mailPrefJSON
		}{sessions, u.PasswordHash != "", s.mailConfigured(), prefs},
	})
}

// handleConfirmEmailPage shows the button that confirms a new address
// with the link's token, or says that the link no longer works. It needs
// no login: the link is the proof.
func (s *Server) handleConfirmEmailPage(c echo.Context) error {
	token := c.QueryParam("token")
	var ut *lectern.UserToken
	if token != "" {
		var err error
		ut, err = s.db.FindUserToken(c.Request().Context(), hashToken(token), lectern.TokenEmailChange)
		if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
			return s.renderError(c, nil, err)
		}
	}
	email := ""
	if ut != nil {
		email = ut.Email
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "confirm_email", Title: "Confirm your new address", Script: "js/account.js",
		View: struct {
			Token string
			Email string
			Valid bool
		}{token, email, ut != nil},
	})
}
