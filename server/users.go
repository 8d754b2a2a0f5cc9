package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func (s *Server) registerUserRoutes(g *echo.Group) {
	g.GET("/me", s.handleMe, s.requireUser)
	g.POST("/users", s.handleUserCreate, s.requireUser, requireAdmin)
	g.GET("/users", s.handleUserList, s.requireUser, requireAdmin)
	g.GET("/users/:id", s.handleUserGet, s.requireUser, requireAdmin)
	g.PATCH("/users/:id", s.handleUserRole, s.requireUser, requireAdmin)
	g.POST("/users/:id/deactivate", s.handleUserDeactivate, s.requireUser, requireAdmin)
	g.POST("/users/:id/reactivate", s.handleUserReactivate, s.requireUser, requireAdmin)
	g.DELETE("/users/:id", s.handleUserDelete, s.requireUser, requireAdmin)
}

// userJSON is a user as the API shows it; the password hash never leaves
// the server.
type userJSON struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	Name      string       `json:"name"`
	Role      lectern.Role `json:"role"`
	CreatedAt time.Time    `json:"created_at"`
	// Active is false for an account an admin deactivated.
	Active bool `json:"active"`
}

func toUserJSON(u *lectern.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt, Active: u.DeactivatedAt == nil}
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

// userDetailResponse is an account as an admin sees it before changing
// or deleting it: what it owns.
type userDetailResponse struct {
	User     userJSON         `json:"user"`
	Holdings *db.UserHoldings `json:"holdings"`
}

// handleUserGet shows an account and what it owns (admins only).
func (s *Server) handleUserGet(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.db.FindUserByID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	h, err := s.db.FindUserHoldings(ctx, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userDetailResponse{User: toUserJSON(u), Holdings: h})
}

type userRoleRequest struct {
	Role lectern.Role `json:"role"`
}

// handleUserRole changes an account's site role (admins only): 409 when
// no active admin would be left.
func (s *Server) handleUserRole(c echo.Context) error {
	var req userRoleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := s.db.SetUserRole(ctx, id, req.Role); err != nil {
		return err
	}
	// Cached credentials carry the role: they go.
	s.invalidateAuth(ctx, "u:"+id)
	return s.respondUser(c, id)
}

// handleUserDeactivate deactivates an account (admins only): its
// sessions and API tokens end at once, here and in every API process,
// and it cannot log in until reactivated; what it made stays.
func (s *Server) handleUserDeactivate(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if id == currentUser(c).ID {
		return lectern.Errorf(lectern.ECONFLICT, "you cannot deactivate your own account")
	}
	ended, err := s.db.SetUserActive(ctx, id, false)
	if err != nil {
		return err
	}
	s.endUserAccess(ctx, id, ended)
	return s.respondUser(c, id)
}

// handleUserReactivate lets a deactivated account log in again (admins
// only); its old sessions and tokens stay ended.
func (s *Server) handleUserReactivate(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.db.SetUserActive(c.Request().Context(), id, true); err != nil {
		return err
	}
	return s.respondUser(c, id)
}

// endUserAccess ends, here and in every API process, what a deactivated
// or deleted account had open: its cached credentials and the event
// streams of its sessions (ended, their token hashes).
func (s *Server) endUserAccess(ctx context.Context, id string, ended []string) {
	s.invalidateAuth(ctx, "u:"+id)
	for _, h := range ended {
		s.endSessionStreams(ctx, h)
	}
}

// handleUserDelete deletes an account (admins only): 409 while it owns
// courses or is the last admin, and for the caller's own account. Its
// sessions, API tokens and live event streams end at once, as at
// deactivation.
func (s *Server) handleUserDelete(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if id == currentUser(c).ID {
		return lectern.Errorf(lectern.ECONFLICT, "you cannot delete your own account")
	}
	ended, err := s.db.DeleteUser(ctx, id)
	if err != nil {
		return err
	}
	s.endUserAccess(ctx, id, ended)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) respondUser(c echo.Context, id string) error {
	u, err := s.db.FindUserByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserJSON(u))
}

// handleAdminUserPage shows one account to an admin: what it owns, its
// site role, deactivation and deletion (admin_user.js).
func (s *Server) handleAdminUserPage(c echo.Context, u *lectern.User) error {
	if !u.IsAdmin() {
		return lectern.Errorf(lectern.ENOTFOUND, "page not found")
	}
	ctx := c.Request().Context()
	who, err := s.db.FindUserByID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	h, err := s.db.FindUserHoldings(ctx, who.ID)
	if err != nil {
		return err
	}
	owns := 0
	for _, oc := range h.Courses {
		if oc.Owner {
			owns++
		}
	}
	name := who.Name
	if name == "" {
		name = who.Email
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "admin_user", Title: name, User: u, Nav: "admin", Script: "js/admin_user.js",
		Crumbs: []crumb{{"Users", "/admin"}, {name, ""}},
		View: struct {
			User     *lectern.User
			Holdings *db.UserHoldings
			Storage  string
			Owns     int
			Self     bool
		}{who, h, humanBytes(h.StorageBytes), owns, who.ID == u.ID},
	})
}
