package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Course membership: a course's teachers list and remove its members, and
// a member leaves a course. Removal takes effect at once everywhere access
// is checked: the API and pages (every query is scoped by membership) and
// media delivery, which checks the token holder's membership on every
// request (see checkMediaHolder), so a removed student's playback links
// stop working without waiting for them to expire.

func (s *Server) registerMemberRoutes(g *echo.Group) {
	g.GET("/courses/:id/members", s.handleMemberList, s.requireUser)
	g.DELETE("/courses/:id/members/:user_id", s.handleMemberRemove, s.requireUser)
	g.DELETE("/courses/:id/membership", s.handleCourseLeave, s.requireUser)
}

// memberJSON is one member as the course's teachers see them.
type memberJSON struct {
	*lectern.CourseMember
	// Owner is true for the teacher who created the course.
	Owner bool `json:"owner"`
	// Removable says whether the course's teachers may remove this member:
	// not the owner, and not the course's last teacher.
	Removable bool `json:"removable"`
}

type memberListResponse struct {
	Members []memberJSON `json:"members"`
}

// handleMemberList lists a course's members, teachers first, to its
// teachers and admins (students get 403, others 404).
func (s *Server) handleMemberList(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "see its members")
	if err != nil {
		return err
	}
	members, err := s.db.FindCourseMembers(ctx, course.ID)
	if err != nil {
		return fmt.Errorf("find course members: %w", err)
	}
	teachers := 0
	for _, m := range members {
		if m.Role == lectern.MemberTeacher {
			teachers++
		}
	}
	resp := memberListResponse{Members: make([]memberJSON, 0, len(members))}
	for _, m := range members {
		owner := m.UserID == course.OwnerID
		lastTeacher := m.Role == lectern.MemberTeacher && teachers <= 1
		resp.Members = append(resp.Members, memberJSON{m, owner, !owner && !lastTeacher})
	}
	return c.JSON(http.StatusOK, resp)
}

// handleMemberRemove takes a member out of the course (its teachers and
// admins; students get 403, others 404): 404 when the user is not a
// member, 409 for the course's owner or last teacher.
func (s *Server) handleMemberRemove(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "remove its members")
	if err != nil {
		return err
	}
	userID := c.Param("user_id")
	if err := s.removeMember(ctx, course, userID); err != nil {
		switch {
		case lectern.ErrorCode(err) == lectern.ENOTFOUND:
			return lectern.Errorf(lectern.ENOTFOUND, "That person is not a member of this course.")
		case lectern.ErrorCode(err) == lectern.ECONFLICT && userID == course.OwnerID:
			return lectern.Errorf(lectern.ECONFLICT, "The teacher who created this course cannot be removed from it.")
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleCourseLeave takes the caller out of a course they follow (or
// co-teach): 404 for a non-member, 409 for the course's owner or last
// teacher.
func (s *Server) handleCourseLeave(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.db.FindCourse(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	if course.MyRole == "" {
		// An admin who is not a member sees the course but is not in it.
		return lectern.Errorf(lectern.ENOTFOUND, "You are not a member of this course.")
	}
	if course.OwnerID == u.ID {
		return lectern.Errorf(lectern.ECONFLICT, "You created this course, so you cannot leave it.")
	}
	if err := s.removeMember(ctx, course, u.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// removeMember removes userID from course. The last teacher's conflict
// gets a message a teacher can act on; the other errors are the
// database's.
func (s *Server) removeMember(ctx context.Context, course *lectern.Course, userID string) error {
	err := s.db.RemoveCourseMember(ctx, course.ID, userID)
	switch {
	case err == nil:
		// Their media links stop working now (authcache.go).
		s.invalidateAuth(ctx, "u:"+userID)
		return nil
	case lectern.ErrorCode(err) == lectern.ECONFLICT && userID != course.OwnerID:
		return lectern.Errorf(lectern.ECONFLICT, "A course needs a teacher: add another teacher before this one leaves.")
	case lectern.ErrorCode(err) == lectern.ENOTFOUND || lectern.ErrorCode(err) == lectern.ECONFLICT:
		return err
	}
	return fmt.Errorf("remove course member: %w", err)
}

// checkMediaHolder refuses a media request whose token holder may no
// longer see the lesson (removed from its course, or the lesson deleted)
// with 404, as the API answers them. It runs on every media request,
// playlists and segments alike: it is one indexed read, which replaced
// the lesson lookup media delivery already made per request.
func (s *Server) checkMediaHolder(ctx context.Context, tok mediaToken) error {
	if s.auth.allowed(tok.LessonID, tok.UserID) {
		return nil
	}
	gen, _ := s.auth.generation()
	err := s.db.CheckLessonAccess(ctx, tok.LessonID, tok.UserID)
	if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
		return fmt.Errorf("check media token holder: %w", err)
	}
	if err == nil {
		s.auth.allow(gen, tok.LessonID, tok.UserID)
	}
	return err
}
