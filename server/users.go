package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerUserRoutes(g *echo.Group) {
	g.GET("/me", s.handleMe, s.requireUser)
	g.POST("/users", s.handleUserCreate, s.requireUser, requireAdmin)
	g.GET("/users", s.handleUserList, s.requireUser, requireAdmin)
}

// userJSON is a user as the API shows it; the password hash never leaves
// the server.
type userJSON struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	Name      string       `json:"name"`
	Role      lectern.Role `json:"role"`
	CreatedAt time.Time    `json:"created_at"`
}

func toUserJSON(u *lectern.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt}
}

// handleMe describes the caller.
func (s *Server) handleMe(c echo.Context) error {
	return c.JSON(http.StatusOK, toUserJSON(currentUser(c)))
}

type userCreateRequest struct {
	Email    string       `json:"email"`
	Name     string       `json:"name"`
	Password string       `json:"password"`
	Role     lectern.Role `json:"role"`
}

// handleUserCreate creates an account (admins only).
func (s *Server) handleUserCreate(c echo.Context) error {
	var req userCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// Hashing the password takes a slot like a login's, so that creating
	// many accounts at once cannot exhaust memory either.
	if !s.hashes.acquire(c.Request().Context()) {
		setRetryAfter(c, retryAfterSeconds(s.limits.PasswordHashWait))
		return errHashBusy()
	}
	var u *lectern.User
	var err error
	s.hashes.run(func() { u, err = NewUser(req.Email, req.Name, req.Role, req.Password) })
	s.hashes.release()
	if err != nil {
		return err
	}
	if err := s.db.CreateUser(c.Request().Context(), u); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return c.JSON(http.StatusCreated, toUserJSON(u))
}

type userListResponse struct {
	Users []userJSON `json:"users"`
}

// handleUserList lists every account, by email (admins only).
func (s *Server) handleUserList(c echo.Context) error {
	users, err := s.db.FindUsers(c.Request().Context())
	if err != nil {
		return fmt.Errorf("find users: %w", err)
	}
	resp := userListResponse{Users: make([]userJSON, 0, len(users))}
	for _, u := range users {
		resp.Users = append(resp.Users, toUserJSON(u))
	}
	return c.JSON(http.StatusOK, resp)
}
