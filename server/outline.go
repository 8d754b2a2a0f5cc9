package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerOutlineRoutes(g *echo.Group) {
	g.GET("/courses/:id/outline", s.handleOutlineGet, s.requireUser)
	g.PUT("/courses/:id/outline", s.handleOutlinePut, s.requireUser)
	g.POST("/courses/:id/sections", s.handleSectionCreate, s.requireUser)
	g.PATCH("/courses/:id/sections/:section_id", s.handleSectionRename, s.requireUser)
	g.DELETE("/courses/:id/sections/:section_id", s.handleSectionDelete, s.requireUser)
}

// handleOutlineGet shows the order of a course's sections and lessons to
// its members (and admins); anyone else gets 404.
func (s *Server) handleOutlineGet(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.db.FindCourse(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	o, err := s.db.FindOutline(ctx, course.ID, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// outlineRequest is a whole new order of a course, made from version.
type outlineRequest struct {
	Version     *int64                   `json:"version"`
	Unsectioned []string                 `json:"unsectioned"`
	Sections    []lectern.OutlineSection `json:"sections"`
}

// handleOutlinePut reorders a course's sections and lessons, moving
// lessons between sections (its teachers and admins). The request names
// every section and lesson once and the version it was made from: 409
// when the outline has changed since, 404 for an ID not in this course,
// 400 for one named twice or left out; nothing changes then.
func (s *Server) handleOutlinePut(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, "reorder its lessons")
	if err != nil {
		return err
	}
	var req outlineRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Version == nil {
		return lectern.Errorf(lectern.EINVALID, "version is required: send the version of the outline you reordered")
	}
	o := &lectern.Outline{CourseID: course.ID, Version: *req.Version, Unsectioned: req.Unsectioned, Sections: req.Sections}
	if err := s.db.SetOutline(ctx, o); err != nil {
		return err
	}
	got, err := s.db.FindOutline(ctx, course.ID, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, got)
}

type sectionRequest struct {
	Title string `json:"title"`
}

// handleSectionCreate adds a section at the end of a course (its
// teachers and admins).
func (s *Server) handleSectionCreate(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "add sections")
	if err != nil {
		return err
	}
	var req sectionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sec, err := s.db.CreateSection(ctx, course.ID, req.Title)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, sec)
}

// handleSectionRename renames a section of a course (its teachers and
// admins; 404 for a section of another course).
func (s *Server) handleSectionRename(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "rename sections")
	if err != nil {
		return err
	}
	var req sectionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sec, err := s.db.RenameSection(ctx, course.ID, c.Param("section_id"), req.Title)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sec)
}

// handleSectionDelete deletes a section of a course (its teachers and
// admins). Its lessons are kept: they move, in order, to the end of the
// lessons in no section.
func (s *Server) handleSectionDelete(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "delete sections")
	if err != nil {
		return err
	}
	if err := s.db.DeleteSection(ctx, course.ID, c.Param("section_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
