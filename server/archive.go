package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// An archived course is read-only for everyone: no uploads, comments,
// questions, edits or outline changes, while its members keep watching
// (playback and progress heartbeats go on). Rather than each write
// handler remembering to ask, requireUser refuses every state-changing
// request to a route under a course, lesson or comment of an archived
// course, except those listed in archiveExempt. A route added later under
// those paths is covered without doing anything.

// errCourseArchived is the answer to a write to an archived course.
func errCourseArchived() error {
	return lectern.Errorf(lectern.ECONFLICT,
		"This course is archived, so it is read-only. A teacher can restore it from the archive to change it.")
}

// archiveExempt are the writes an archived course still takes, by method
// and route.
var archiveExempt = map[string]bool{
	// Watching goes on.
	"PUT /api/v1/lessons/:id/progress":  true,
	"POST /api/v1/lessons/:id/progress": true,
	// Restoring it, or moving it to the trash, is what one does with an
	// archived course; a member may still leave it.
	"POST /api/v1/courses/:id/unarchive":    true,
	"POST /api/v1/courses/:id/archive":      true,
	"DELETE /api/v1/courses/:id":            true,
	"DELETE /api/v1/courses/:id/membership": true,
	// Who may see it is not its content: a teacher can still take a
	// student's access away.
	"DELETE /api/v1/courses/:id/members/:user_id": true,
}

// archiveTarget returns what the course of a request is found from: a
// course, lesson or comment and its id; "" for a request that reads, or
// whose route is not under one.
func archiveTarget(c echo.Context) (kind, id string) {
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "", ""
	}
	p := c.Path()
	if archiveExempt[c.Request().Method+" "+p] {
		return "", ""
	}
	for _, t := range []struct{ prefix, kind string }{
		{"/api/v1/courses/:id", string(lectern.TrashCourse)},
		{"/api/v1/lessons/:id", string(lectern.TrashLesson)},
		{"/api/v1/comments/:id", "comment"},
	} {
		if p == t.prefix || strings.HasPrefix(p, t.prefix+"/") {
			return t.kind, c.Param("id")
		}
	}
	return "", ""
}

// refuseArchivedWrite answers a state-changing request of u to an
// archived course of theirs with a conflict.
func (s *Server) refuseArchivedWrite(c echo.Context, u *lectern.User) error {
	kind, id := archiveTarget(c)
	if kind == "" {
		return nil
	}
	archived, err := s.db.ArchivedCourseOf(c.Request().Context(), kind, id, u)
	if err != nil {
		return fmt.Errorf("check archived course: %w", err)
	}
	if archived {
		return errCourseArchived()
	}
	return nil
}
