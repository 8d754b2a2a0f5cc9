package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Limits on course and lesson text.
const (
	maxTitleLen       = 200
	maxDescriptionLen = 5000
)

func (s *Server) registerCourseRoutes(g *echo.Group) {
	g.POST("/courses", s.handleCourseCreate, s.requireUser)
	g.GET("/courses", s.handleCourseList, s.requireUser)
	g.POST("/courses/join", s.handleCourseJoin, s.requireUser)
	g.GET("/courses/:id", s.handleCourseGet, s.requireUser)
	g.PATCH("/courses/:id", s.handleCourseUpdate, s.requireUser)
	g.DELETE("/courses/:id", s.handleCourseTrash, s.requireUser)
	g.POST("/courses/:id/archive", s.handleCourseArchive, s.requireUser)
	g.POST("/courses/:id/unarchive", s.handleCourseUnarchive, s.requireUser)
	s.registerMemberRoutes(g)
}

// courseView is c as viewer may see it: the join code is shown only to
// the course's teachers and to admins.
func courseView(c *lectern.Course, viewer *lectern.User) *lectern.Course {
	v := *c
	if v.MyRole != lectern.MemberTeacher && !viewer.IsAdmin() {
		v.JoinCode = ""
	}
	return &v
}

type courseRequest struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// validate trims and checks the fields shared by courses and lessons.
func (r *courseRequest) validate() error {
	var err error
	if r.Title, err = validateText("title", r.Title, 1, maxTitleLen); err != nil {
		return err
	}
	r.Description, err = validateText("description", r.Description, 0, maxDescriptionLen)
	return err
}

// handleCourseCreate creates a course taught by the caller (teachers and
// admins only).
func (s *Server) handleCourseCreate(c echo.Context) error {
	u := currentUser(c)
	if u.Role != lectern.RoleTeacher && !u.IsAdmin() {
		return lectern.Errorf(lectern.EFORBIDDEN, "only teachers may create courses")
	}
	var req courseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	course := &lectern.Course{Title: req.Title, Description: req.Description, OwnerID: u.ID}
	if err := s.db.CreateCourse(c.Request().Context(), course); err != nil {
		return fmt.Errorf("create course: %w", err)
	}
	return c.JSON(http.StatusCreated, courseView(course, u))
}

type courseListResponse struct {
	Courses []*lectern.Course `json:"courses"`
}

// handleCourseList lists the courses the caller teaches or follows:
// those not archived, or with ?archived=true the archived ones.
func (s *Server) handleCourseList(c echo.Context) error {
	u := currentUser(c)
	find := s.db.FindCourses
	switch c.QueryParam("archived") {
	case "", "false":
	case "true":
		find = s.db.FindArchivedCourses
	default:
		return lectern.Errorf(lectern.EINVALID, "archived must be true or false")
	}
	courses, err := find(c.Request().Context(), u)
	if err != nil {
		return fmt.Errorf("find courses: %w", err)
	}
	resp := courseListResponse{Courses: make([]*lectern.Course, 0, len(courses))}
	for _, course := range courses {
		resp.Courses = append(resp.Courses, courseView(course, u))
	}
	return c.JSON(http.StatusOK, resp)
}

// handleCourseGet shows one course to a member (or an admin); anyone else
// gets 404.
func (s *Server) handleCourseGet(c echo.Context) error {
	u := currentUser(c)
	course, err := s.db.FindCourse(c.Request().Context(), c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	return c.JSON(http.StatusOK, courseView(course, u))
}

type joinRequest struct {
	Code string `json:"code"`
}

// maxJoinCodeLen bounds what the join endpoint reads as a code.
const maxJoinCodeLen = 64

// handleCourseJoin enrols the caller in the course with this join code,
// however it was typed: any case, with or without the hyphen, with spaces
// around it. Joining twice, or joining a course one teaches, changes
// nothing.
func (s *Server) handleCourseJoin(c echo.Context) error {
	var req joinRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	code := lectern.NormalizeJoinCode(req.Code)
	switch {
	case code == "":
		return lectern.Errorf(lectern.EINVALID, "Enter the join code your teacher gave you.")
	case len(req.Code) > maxJoinCodeLen:
		return lectern.Errorf(lectern.EINVALID, "That is too long for a join code. Check it with your teacher.")
	}
	u := currentUser(c)
	course, err := s.db.JoinCourse(c.Request().Context(), code, u.ID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.ENOTFOUND, "No course has the join code %s. Check it with your teacher.", lectern.FormatJoinCode(code))
	}
	if err != nil {
		return fmt.Errorf("join course: %w", err)
	}
	return c.JSON(http.StatusOK, courseView(course, u))
}

// courseUpdateRequest holds the course settings to change; absent fields
// stay as they are.
type courseUpdateRequest struct {
	Title               *string `json:"title"`
	Description         *string `json:"description"`
	TimeZone            *string `json:"time_zone"`
	CompletionThreshold *int    `json:"completion_threshold"`
}

// courseUpdateResponse is the course with the settings a PATCH changes.
type courseUpdateResponse struct {
	*lectern.Course
	CompletionThreshold int `json:"completion_threshold"`
}

// update returns the course fields of r, checked; nothing is set when r
// changes none of them.
func (r *courseUpdateRequest) update() (lectern.CourseUpdate, error) {
	var upd lectern.CourseUpdate
	if r.Title != nil {
		title, err := validateText("title", *r.Title, 1, maxTitleLen)
		if err != nil {
			return upd, err
		}
		upd.Title = &title
	}
	if r.Description != nil {
		desc, err := validateText("description", *r.Description, 0, maxDescriptionLen)
		if err != nil {
			return upd, err
		}
		upd.Description = &desc
	}
	if r.TimeZone != nil {
		if err := lectern.ValidTimeZone(*r.TimeZone); err != nil {
			return upd, err
		}
		upd.TimeZone = r.TimeZone
	}
	if r.CompletionThreshold != nil {
		if err := lectern.ValidateCompletionThreshold(*r.CompletionThreshold); err != nil {
			return upd, err
		}
	}
	return upd, nil
}

// handleCourseUpdate changes a course's settings (its teachers and
// admins; students get 403, others 404): its title, description, time
// zone (an IANA name) and completion threshold (the percentage of a
// lesson a student must watch to complete it, 1 to 100, default 90).
// Every field is checked before anything changes.
func (s *Server) handleCourseUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, "change it")
	if err != nil {
		return err
	}
	var req courseUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	upd, err := req.update()
	if err != nil {
		return err
	}
	changes := upd != lectern.CourseUpdate{}
	if !changes && req.CompletionThreshold == nil {
		return lectern.Errorf(lectern.EINVALID, "nothing to change: send title, description, time_zone or completion_threshold")
	}
	if changes {
		if err := s.db.UpdateCourse(ctx, course.ID, upd); err != nil {
			return fmt.Errorf("update course: %w", err)
		}
	}
	if req.CompletionThreshold != nil {
		if err := s.db.UpdateCourseCompletionThreshold(ctx, course.ID, *req.CompletionThreshold); err != nil {
			return fmt.Errorf("update course: %w", err)
		}
	}
	if course, err = s.db.FindCourse(ctx, course.ID, u); err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	threshold, err := s.db.FindCourseCompletionThreshold(ctx, course.ID)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	return c.JSON(http.StatusOK, courseUpdateResponse{courseView(course, u), threshold})
}
