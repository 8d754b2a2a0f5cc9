package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// lessonForPage finds a lesson and its course for viewer.
func (s *Server) lessonForPage(c echo.Context, u *lectern.User) (*lectern.Lesson, *lectern.Course, error) {
	ctx := c.Request().Context()
	l, _, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return nil, nil, fmt.Errorf("find lesson: %w", err)
	}
	course, err := s.db.FindCourse(ctx, l.CourseID, u)
	if err != nil {
		return nil, nil, fmt.Errorf("find course: %w", err)
	}
	return l, course, nil
}

// humanBytes formats a byte count with a binary unit (KiB, MiB, …).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.3g %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// handleUploadPage lets a course teacher upload or replace a lesson's
// recording and follow its processing.
func (s *Server) handleUploadPage(c echo.Context, u *lectern.User) error {
	l, course, err := s.lessonForPage(c, u)
	if err != nil {
		return err
	}
	if !mayTeach(u, course.MyRole) {
		return lectern.Errorf(lectern.EFORBIDDEN, "Only the course's teachers may upload its recordings.")
	}
	lj, err := s.lessonDetail(c.Request().Context(), l, course.MyRole, u)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "upload", Title: "Upload · " + l.Title, User: u, Nav: "courses",
		Script: "js/upload.js", Vendor: []string{"vendor/tus.min.js"},
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, "/courses/" + course.ID}, {l.Title, ""}},
		View: struct {
			Lesson   *lectern.Lesson
			Playable bool
			MaxSize  string
			Archived bool
		}{l, lj.Playable, humanBytes(s.uploadLimit()), course.ArchivedAt != nil},
		Data: map[string]any{"lesson_id": l.ID, "course_id": course.ID, "lesson": lj},
	})
}

// nextLesson is the first lesson after l, in its course's order, that can
// be watched; nil when there is none.
func (s *Server) nextLesson(ctx context.Context, l *lectern.Lesson, u *lectern.User) (*lessonRef, error) {
	lessons, err := s.db.FindLessons(ctx, l.CourseID, u)
	if err != nil {
		return nil, fmt.Errorf("find lessons: %w", err)
	}
	after := false
	for _, o := range lessons {
		if after && o.OutputPrefix != "" {
			return &lessonRef{o.ID, o.Title}, nil
		}
		after = after || o.ID == l.ID
	}
	return nil, nil
}

// handleWatchPage is the player with the conversation beside it. A lesson
// with nothing playable yet shows a "coming soon" panel instead of the
// player's controls (and, to its teachers, the state of its processing);
// the page's script starts the player once the lesson becomes playable.
func (s *Server) handleWatchPage(c echo.Context, u *lectern.User) error {
	l, course, err := s.lessonForPage(c, u)
	if err != nil {
		return err
	}
	lj, err := s.lessonDetail(c.Request().Context(), l, course.MyRole, u)
	if err != nil {
		return err
	}
	teaching := mayTeach(u, course.MyRole)
	prefs, err := s.db.FindPreferences(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	next, err := s.nextLesson(c.Request().Context(), l, u)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "watch", Title: l.Title, User: u, Nav: "courses", Wide: true,
		Script: "js/watch.js", Vendor: []string{"vendor/hls.min.js"},
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, "/courses/" + course.ID}, {l.Title, ""}},
		View: struct {
			Lesson    *lectern.Lesson
			Course    *lectern.Course
			Teaching  bool
			Assisting bool
			Playable  bool
			PosterURL string
			Next      *lessonRef
		}{l, course, teaching, mayAssist(u, course.MyRole), lj.Playable, "", next},
		Data: map[string]any{
			"lesson_id":   l.ID,
			"course_id":   course.ID,
			"lesson":      lj,
			"duration_ms": l.DurationMS,
			"user_id":     u.ID,
			"user_name":   u.Name,
			"teaching":    teaching,
			"preferences": toPreferencesJSON(prefs),
		},
	})
}
