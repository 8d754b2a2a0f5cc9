package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// tokensPagePath is the API tokens page, linked from the account menu.
const tokensPagePath = "/account/tokens"

func (s *Server) registerTokenPage(e *echo.Echo) {
	e.GET(tokensPagePath, s.page(s.handleTokensPage), s.pageHeaders)
}

// handleTokensPage lists the caller's API tokens with a form to create
// one; tokens.js creates and revokes them through the API.
func (s *Server) handleTokensPage(c echo.Context, u *lectern.User) error {
	tokens, err := s.db.FindAPITokens(c.Request().Context(), u.ID)
	if err != nil {
		return fmt.Errorf("find api tokens: %w", err)
	}
	list := make([]tokenJSON, 0, len(tokens))
	for _, t := range tokens {
		list = append(list, s.toTokenJSON(t))
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "tokens", Title: "API tokens", User: u, Nav: "tokens", Script: "js/tokens.js",
		View: struct{ Tokens []tokenJSON }{list},
	})
}
