package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
	// ReadyUntilMS and EncodedMS say, while a lesson published before all
	// of it is encoded is processing, where the part that plays without
	// waiting ends and how long the stored parts are in all (see
	// withEncodingProgress); absent otherwise.
	ReadyUntilMS *int64 `json:"ready_until_ms,omitempty"`
	EncodedMS    *int64 `json:"encoded_ms,omitempty"`
	// Transcode is the state of the lesson's latest transcode job, for the
	// course's teachers and admins; null for students and before any
	// upload.
	Transcode *transcodeJSON `json:"transcode"`
	// PosterURL is null until a poster has been published (never, for an
	// audio-only lesson); else a media URL signed for the viewer.
	PosterURL *string `json:"poster_url"`
	// Chapters are the lesson's chapters by start; [] when it has none.
	Chapters []lectern.Chapter `json:"chapters"`
	// WatchBy is when students should have watched the lesson by; null
	// for no date.
	WatchBy *time.Time `json:"watch_by"`
	// Publication is whether the lesson is a draft, scheduled or
	// published, for the course's teachers and admins; absent for
	// students, who see only published lessons.
	Publication *publicationJSON `json:"publication,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
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
	lessons, err := s.db.FindLessons(ctx, course.ID, u)
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
	var encoding map[string]lectern.EncodingProgress
	if slices.ContainsFunc(lessons, func(l *lectern.Lesson) bool {
		return l.Status == lectern.LessonProcessing && l.OutputPrefix != ""
	}) {
		if encoding, err = s.db.FindEncodingProgress(ctx, course.ID); err != nil {
			return nil, err
		}
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
		setEncodingProgress(&lj, l, encoding)
		s.withPublication(&lj, l, mayTeach(u, course.MyRole), course.TimeZone)
		out = append(out, lj)
	}
	return out, nil
}

// lessonCreateRequest is a new lesson; without section_id it goes at the
// end of the course's last section (see db.CreateLesson).
// A new lesson is a draft unless publish_at says otherwise.
type lessonCreateRequest struct {
	courseRequest
	publicationRequest
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
	var pub lectern.Publication
	if err := req.apply(&pub, s.clock.Now(), course.TimeZone); err != nil {
		return err
	}
	l := &lectern.Lesson{CourseID: course.ID, Title: req.Title, Description: req.Description, SectionID: req.SectionID,
		PublishedAt: pub.PublishedAt, WatchBy: pub.WatchBy}
	if err := s.db.CreateLesson(ctx, l); err != nil {
		return fmt.Errorf("create lesson: %w", err)
	}
	resp, err := s.toLessonJSON(l, u)
	if err != nil {
		return err
	}
	s.withPublication(&resp, l, true, course.TimeZone)
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
	if err := s.withEncodingProgress(ctx, &resp, l); err != nil {
		return lessonJSON{}, err
	}
	if err := s.withChapters(ctx, &resp); err != nil {
		return lessonJSON{}, err
	}
	teaching := mayTeach(u, role)
	zone := ""
	if teaching {
		if resp.Transcode, err = s.lessonTranscode(ctx, l.ID); err != nil {
			return lessonJSON{}, err
		}
		course, err := s.db.FindCourse(ctx, l.CourseID, u)
		if err != nil {
			return lessonJSON{}, fmt.Errorf("find course: %w", err)
		}
		zone = course.TimeZone
	}
	s.withPublication(&resp, l, teaching, zone)
	return resp, nil
}

// withEncodingProgress adds to resp how much of lesson l is stored while
// it is processing but already playable (published chunk by chunk): for
// students and teachers alike, since both watch it.
func (s *Server) withEncodingProgress(ctx context.Context, resp *lessonJSON, l *lectern.Lesson) error {
	if l.Status != lectern.LessonProcessing || l.OutputPrefix == "" {
		return nil
	}
	progress, err := s.db.FindEncodingProgress(ctx, l.CourseID)
	if err != nil {
		return err
	}
	setEncodingProgress(resp, l, progress)
	return nil
}

// setEncodingProgress sets resp's ready_until_ms and encoded_ms from
// progress, by lesson ID (db.FindEncodingProgress): a lesson not in it
// plays all of what it plays (a previous recording, during a re-upload).
func setEncodingProgress(resp *lessonJSON, l *lectern.Lesson, progress map[string]lectern.EncodingProgress) {
	p, ok := progress[l.ID]
	if !ok || l.Status != lectern.LessonProcessing || l.OutputPrefix == "" {
		return
	}
	ready, encoded := p.Extent(l.DurationMS)
	resp.ReadyUntilMS, resp.EncodedMS = &ready, &encoded
}

// lessonUpdateRequest holds the lesson fields a teacher may change; an
// absent field is left as it is.
type lessonUpdateRequest struct {
	publicationRequest
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

// handleLessonUpdate changes a lesson's title, description or
// publication: publish it now, schedule it, make it a draft again, set or
// clear its watch-by date (course teachers and admins; other members get
// 403, everyone else 404). A change of publication takes effect at once,
// for media links already given out too.
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
	if upd.Title == nil && upd.Description == nil && !req.changes() {
		return lectern.Errorf(lectern.EINVALID, "nothing to change: send a title, a description, publish_at or watch_by")
	}
	course, err := s.db.FindCourse(ctx, l.CourseID, u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	pub := lectern.Publication{PublishedAt: l.PublishedAt, WatchBy: l.WatchBy}
	if err := req.apply(&pub, s.clock.Now(), course.TimeZone); err != nil {
		return err
	}
	if upd.Title != nil || upd.Description != nil {
		if l, err = s.db.UpdateLesson(ctx, l.ID, upd); err != nil {
			return fmt.Errorf("update lesson: %w", err)
		}
	}
	if req.changes() {
		if l, err = s.db.SetLessonPublication(ctx, l.ID, pub); err != nil {
			return fmt.Errorf("publish lesson: %w", err)
		}
		// Media links given out for the lesson must stop at once when it
		// goes back to a draft (a refusal is never cached, so a lesson
		// published later plays at its time without this).
		s.invalidateAuth(ctx, "l:"+l.ID)
	}
	resp, err := s.toLessonJSON(l, u)
	if err != nil {
		return err
	}
	if err := s.withChapters(ctx, &resp); err != nil {
		return err
	}
	s.withPublication(&resp, l, true, course.TimeZone)
	return c.JSON(http.StatusOK, resp)
}
