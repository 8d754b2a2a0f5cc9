package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// maxTokenDays is the longest lifetime a new API token may be given; a
// token may also be made without one, to last until revoked.
const maxTokenDays = 3650

func (s *Server) registerTokenRoutes(g *echo.Group) {
	g.GET("/tokens", s.handleTokenList, s.requireUser)
	g.POST("/tokens", s.handleTokenCreate, s.requireUser)
	g.DELETE("/tokens/:id", s.handleTokenDelete, s.requireUser)
}

// tokenJSON is an API token as its owner sees it: never its secret.
type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	// Expired is true once ExpiresAt has passed, by the server's clock.
	Expired bool `json:"expired"`
}

func (s *Server) toTokenJSON(t *lectern.APIToken) tokenJSON {
	return tokenJSON{
		ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt,
		Expired: t.ExpiresAt != nil && !t.ExpiresAt.After(s.clock.Now()),
	}
}

type tokenListResponse struct {
	Tokens []tokenJSON `json:"tokens"`
}

// handleTokenList lists the caller's API tokens, newest first.
func (s *Server) handleTokenList(c echo.Context) error {
	tokens, err := s.db.FindAPITokens(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return fmt.Errorf("find api tokens: %w", err)
	}
	out := tokenListResponse{Tokens: make([]tokenJSON, 0, len(tokens))}
	for _, t := range tokens {
		out.Tokens = append(out.Tokens, s.toTokenJSON(t))
	}
	return c.JSON(http.StatusOK, out)
}

type tokenRequest struct {
	Name string `json:"name"`
	// ExpiresInDays, when set, makes the token stop working that many
	// days from now.
	ExpiresInDays *int `json:"expires_in_days"`
}

type tokenResponse struct {
	tokenJSON
	// Token is the secret, in this response only.
	Token string `json:"token"`
}

// handleTokenCreate issues an API token for the caller. The secret is in
// this response only; the database keeps its hash.
func (s *Server) handleTokenCreate(c echo.Context) error {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := validateText("name", req.Name, 1, maxNameLen)
	if err != nil {
		return err
	}
	secret := apiTokenPrefix + randomToken()
	t := &lectern.APIToken{UserID: currentUser(c).ID, Name: name, TokenHash: hashToken(secret)}
	if d := req.ExpiresInDays; d != nil {
		if *d < 1 || *d > maxTokenDays {
			return lectern.Errorf(lectern.EINVALID,
				"expires_in_days must be between 1 and %d, or left out for a token that works until you revoke it", maxTokenDays)
		}
		exp := s.clock.Now().Add(time.Duration(*d) * 24 * time.Hour)
		t.ExpiresAt = &exp
	}
	if err := s.db.CreateAPIToken(c.Request().Context(), t); err != nil {
		return fmt.Errorf("create api token: %w", err)
	}
	return c.JSON(http.StatusCreated, tokenResponse{tokenJSON: s.toTokenJSON(t), Token: secret})
}

// handleTokenDelete revokes one of the caller's API tokens: it stops
// working at once. Someone else's token is 404, like a missing one.
func (s *Server) handleTokenDelete(c echo.Context) error {
	if err := s.db.DeleteAPIToken(c.Request().Context(), currentUser(c).ID, c.Param("id")); err != nil {
		return fmt.Errorf("delete api token: %w", err)
	}
	// The handler knows the token's ID, not its hash: the user's cached
	// credentials all go, and the others are read again.
	s.invalidateAuth(c.Request().Context(), "u:"+currentUser(c).ID)
	return c.NoContent(http.StatusNoContent)
}
