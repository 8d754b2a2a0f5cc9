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

func (s *Server) registerLessonRoutes(g *echo.Group) {
	g.GET("/courses/:id/lessons", s.handleLessonList, s.requireUser)
	g.POST("/courses/:id/lessons", s.handleLessonCreate, s.requireUser)
	g.GET("/lessons/:id", s.handleLessonGet, s.requireUser)
	g.PATCH("/lessons/:id", s.handleLessonUpdate, s.requireUser)
	g.DELETE("/lessons/:id", s.handleLessonDelete, s.requireUser)
	g.GET("/lessons/:id/playback", s.handlePlayback, s.requireUser)
}

// lessonJSON is a lesson as the API shows it.
type lessonJSON struct {
	ID          string               `json:"id"`
	CourseID    string               `json:"course_id"`
	Title       string               `json:"title"`
	Description string               `json:"description"`
	Status      lectern.LessonStatus `json:"status"`
	DurationMS  int64                `json:"duration_ms"`
	// SectionID is the course section the lesson is in; null for none.
	SectionID *string `json:"section_id"`
	// Renditions lists the published HLS variants; empty until the
	// transcoder publishes.
	Renditions lectern.Renditions `json:"renditions"`
	// Playable says that a published output can be watched, even while a
	// re-upload is being processed.
	Playable bool `json:"playable"`
	// Transcode is the state of the lesson's latest transcode job, for the
	// course's teachers and admins; null for students and before any
	// upload.
	Transcode *transcodeJSON `json:"transcode"`
	// PosterURL is null until a poster has been published (never, for an
	// audio-only lesson); else a media URL signed for the viewer.
	PosterURL *string `json:"poster_url"`
	// Chapters are the lesson's chapters by start; [] when it has none.
	Chapters  []lectern.Chapter `json:"chapters"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Progress is the viewer's own progress in the lesson; absent until
	// they have sent a heartbeat for it.
	Progress *lectern.Progress `json:"progress,omitempty"`
}

// toLessonJSON shows l to viewer; the poster URL carries a media token
// signed for viewer.
func (s *Server) toLessonJSON(l *lectern.Lesson, viewer *lectern.User) (lessonJSON, error) {
	resp := lessonJSON{
		ID:          l.ID,
		CourseID:    l.CourseID,
		Title:       l.Title,
		Description: l.Description,
		Status:      l.Status,
		DurationMS:  l.DurationMS,
		SectionID:   optString(l.SectionID),
		Renditions:  l.Renditions,
		Playable:    l.OutputPrefix != "",
		Chapters:    []lectern.Chapter{},
		CreatedAt:   l.CreatedAt,
		UpdatedAt:   l.UpdatedAt,
	}
	if resp.Renditions == nil {
		resp.Renditions = lectern.Renditions{}
	}
	if l.OutputPrefix != "" && l.Poster != "" {
		g, err := s.grantMedia(l, viewer)
		if err != nil {
			return lessonJSON{}, err
		}
		resp.PosterURL = g.optURL(l.Poster)
	}
	return resp, nil
}

// mayTeach reports whether a user with this role in a course (or an admin)
// may change the course's lessons.
func mayTeach(u *lectern.User, role lectern.MemberRole) bool {
	return role == lectern.MemberTeacher || u.IsAdmin()
}

// mayAssist reports whether a user with this role in a course (or an
// admin) helps teach it: teachers and teaching assistants answer
// questions and see analytics; only teachers change lessons (mayTeach).
func mayAssist(u *lectern.User, role lectern.MemberRole) bool {
	return role.Assists() || u.IsAdmin()
}

// findAssistedLesson is findTaughtLesson for what teaching assistants
// may do too (see analytics): EFORBIDDEN "only the course's teachers and
// teaching assistants may <doing>" for a student.
func (s *Server) findAssistedLesson(ctx context.Context, id string, u *lectern.User, doing string) (*lectern.Lesson, error) {
	return s.findLessonFor(ctx, id, u, mayAssist, "teachers and teaching assistants", doing)
}

// findTaughtLesson finds lesson id for u when u teaches its course (or is
// an admin): ENOTFOUND when u may not see it at all, EFORBIDDEN "only the
// course's teachers may <doing>" when u only follows the course.
func (s *Server) findTaughtLesson(ctx context.Context, id string, u *lectern.User, doing string) (*lectern.Lesson, error) {
	return s.findLessonFor(ctx, id, u, mayTeach, "teachers", doing)
}

// findLessonFor finds lesson id for u when may allows u's role in its
// course: ENOTFOUND when u may not see it at all, EFORBIDDEN "only the
// course's <who> may <doing>" otherwise.
func (s *Server) findLessonFor(ctx context.Context, id string, u *lectern.User,
	may func(*lectern.User, lectern.MemberRole) bool, who, doing string) (*lectern.Lesson, error) {
	l, role, err := s.db.FindLesson(ctx, id, u)
	if err != nil {
		return nil, fmt.Errorf("find lesson: %w", err)
	}
	if !may(u, role) {
		return nil, lectern.Errorf(lectern.EFORBIDDEN, "only the course's %s may %s", who, doing)
	}
	return l, nil
}

// findTaughtCourse is findTaughtLesson for a course.
func (s *Server) findTaughtCourse(ctx context.Context, id string, u *lectern.User, doing string) (*lectern.Course, error) {
	course, err := s.db.FindCourse(ctx, id, u)
	if err != nil {
		return nil, fmt.Errorf("find course: %w", err)
	}
	if !mayTeach(u, course.MyRole) {
		return nil, lectern.Errorf(lectern.EFORBIDDEN, "only the course's teachers may %s", doing)
	}
	return course, nil
}

type lessonListResponse struct {
	Lessons []lessonJSON `json:"lessons"`
}

// handleLessonList lists a course's lessons in the course's order, to its members;
// the course's teachers (and admins) also get each lesson's transcode.
func (s *Server) handleLessonList(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.db.FindCourse(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	lessons, err := s.db.FindLessons(ctx, course.ID)
	if err != nil {
		return fmt.Errorf("find lessons: %w", err)
	}
	resp, err := s.courseLessons(ctx, course, lessons, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, lessonListResponse{Lessons: resp})
}

// courseLessons shows a course's lessons to u as the lesson list API does
// (the course page hands the same JSON to its script): each with u's
// progress, and, to the course's teachers and admins, its transcode.
func (s *Server) courseLessons(ctx context.Context, course *lectern.Course, lessons []*lectern.Lesson, u *lectern.User) ([]lessonJSON, error) {
	progress, err := s.viewerProgress(ctx, u, course.ID)
	if err != nil {
		return nil, err
	}
	chapters, err := s.db.FindCourseChapters(ctx, course.ID)
	if err != nil {
		return nil, err
	}
	var jobs map[string]*db.JobStatus
	if mayTeach(u, course.MyRole) {
		if jobs, err = s.db.FindCurrentJobs(ctx, course.ID); err != nil {
			return nil, fmt.Errorf("find the lessons' transcodes: %w", err)
		}
	}
	out := make([]lessonJSON, 0, len(lessons))
	for _, l := range lessons {
		lj, err := s.toLessonJSON(l, u)
		if err != nil {
			return nil, err
		}
		lj.Progress = progress[l.ID]
		if chs, ok := chapters[l.ID]; ok {
			lj.Chapters = chs
		}
		if j, ok := jobs[l.ID]; ok {
			lj.Transcode = toTranscodeJSON(j)
		}
		out = append(out, lj)
	}
	return out, nil
}

// lessonCreateRequest is a new lesson; without section_id it goes at the
// end of the course's last section (see db.CreateLesson).
type lessonCreateRequest struct {
	courseRequest
	SectionID string `json:"section_id"`
}

// handleLessonCreate adds a lesson awaiting its upload to a course. Only
// the course's teachers (and admins) may; other members get 403 and
// non-members 404.
func (s *Server) handleLessonCreate(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, "add lessons")
	if err != nil {
		return err
	}
	var req lessonCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	l := &lectern.Lesson{CourseID: course.ID, Title: req.Title, Description: req.Description, SectionID: req.SectionID}
	if err := s.db.CreateLesson(ctx, l); err != nil {
		return fmt.Errorf("create lesson: %w", err)
	}
	resp, err := s.toLessonJSON(l, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, resp)
}

// handleLessonGet shows one lesson to a member of its course, with the
// state of its latest transcode job to the course's teachers and admins.
func (s *Server) handleLessonGet(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, role, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	resp, err := s.lessonDetail(ctx, l, role, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// lessonDetail shows lesson l to u, whose role in its course is role, as
// GET /api/v1/lessons/{id} does (the upload and watch pages hand the same
// JSON to their scripts): with u's progress and, to the course's teachers
// and admins, the state of its latest transcode job.
func (s *Server) lessonDetail(ctx context.Context, l *lectern.Lesson, role lectern.MemberRole, u *lectern.User) (lessonJSON, error) {
	resp, err := s.toLessonJSON(l, u)
	if err != nil {
		return lessonJSON{}, err
	}
	progress, err := s.viewerProgress(ctx, u, l.CourseID)
	if err != nil {
		return lessonJSON{}, err
	}
	resp.Progress = progress[l.ID]
	if err := s.withChapters(ctx, &resp); err != nil {
		return lessonJSON{}, err
	}
	if mayTeach(u, role) {
		if resp.Transcode, err = s.lessonTranscode(ctx, l.ID); err != nil {
			return lessonJSON{}, err
		}
	}
	return resp, nil
}

// lessonUpdateRequest holds the lesson fields a teacher may change; an
// absent field is left as it is.
type lessonUpdateRequest struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

// handleLessonUpdate changes a lesson's title or description (course
// teachers and admins; other members get 403, everyone else 404).
func (s *Server) handleLessonUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "edit lessons")
	if err != nil {
		return err
	}
	var req lessonUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var upd lectern.LessonUpdate
	if req.Title != nil {
		title, err := validateText("title", *req.Title, 1, maxTitleLen)
		if err != nil {
			return err
		}
		upd.Title = &title
	}
	if req.Description != nil {
		desc, err := validateText("description", *req.Description, 0, maxDescriptionLen)
		if err != nil {
			return err
		}
		upd.Description = &desc
	}
	if upd.Title == nil && upd.Description == nil {
		return lectern.Errorf(lectern.EINVALID, "nothing to change: send a title or a description")
	}
	l, err = s.db.UpdateLesson(ctx, l.ID, upd)
	if err != nil {
		return fmt.Errorf("update lesson: %w", err)
	}
	resp, err := s.toLessonJSON(l, u)
	if err != nil {
		return err
	}
	if err := s.withChapters(ctx, &resp); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}
