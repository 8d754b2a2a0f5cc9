package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// handleCoursesPage lists my courses, with the forms to create one
// (teachers, admins) and to join one by code.
func (s *Server) handleCoursesPage(c echo.Context, u *lectern.User) error {
	ctx := c.Request().Context()
	courses, err := s.db.FindCourses(ctx, u)
	if err != nil {
		return fmt.Errorf("find courses: %w", err)
	}
	notes, err := s.db.FindNotifications(ctx, u)
	if err != nil {
		return fmt.Errorf("find notifications: %w", err)
	}
	answers := make([]answerNote, 0, len(notes))
	for _, n := range notes {
		answers = append(answers, answerNote{n, watchLink(n.LessonID, n.AtMS),
			excerpt(n.Question, excerptLen), excerpt(n.Answer, excerptLen)})
	}
	canCreate := u.Role == lectern.RoleTeacher || u.IsAdmin()
	// Storage use (quota.go), for those who own courses.
	var storage string
	if canCreate {
		q, err := s.quotaOf(ctx, u)
		if err != nil {
			return err
		}
		storage = q.String()
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "courses", Title: "My courses", User: u, Nav: "courses", Script: "js/courses.js",
		View: struct {
			Courses   []*lectern.Course
			CanCreate bool
			Answers   []answerNote
			Storage   string
		}{courses, canCreate, answers, storage},
	})
}

// answerNote is an unread answer to one of my questions.
type answerNote struct {
	*lectern.Notification
	Link            string
	QuestionExcerpt string
	AnswerExcerpt   string
}

// lessonRef names a lesson for a page script.
type lessonRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type coursePageView struct {
	Course       *lectern.Course
	Teaching     bool
	Lessons      []*lectern.Lesson
	ReadyLessons []lessonRef
	Students     []*lectern.CourseMember
}

// handleCoursePage shows a course's lessons with my progress and, to its
// teachers, the join code, the new-lesson form and each student's progress.
func (s *Server) handleCoursePage(c echo.Context, u *lectern.User) error {
	ctx := c.Request().Context()
	course, err := s.db.FindCourse(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	lessons, err := s.db.FindLessons(ctx, course.ID)
	if err != nil {
		return fmt.Errorf("find lessons: %w", err)
	}
	v := coursePageView{Course: course, Teaching: mayTeach(u, course.MyRole), Lessons: lessons, ReadyLessons: []lessonRef{}}
	for _, l := range lessons {
		if l.Status == lectern.LessonReady {
			v.ReadyLessons = append(v.ReadyLessons, lessonRef{l.ID, l.Title})
		}
	}
	if v.Teaching {
		members, err := s.db.FindCourseMembers(ctx, course.ID)
		if err != nil {
			return fmt.Errorf("find course members: %w", err)
		}
		for _, m := range members {
			if m.Role == lectern.MemberStudent {
				v.Students = append(v.Students, m)
			}
		}
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "course", Title: course.Title, User: u, Nav: "courses", Script: "js/course.js",
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, ""}},
		View:   v,
		Data: map[string]any{
			"course_id":     course.ID,
			"teaching":      v.Teaching,
			"ready_lessons": v.ReadyLessons,
		},
	})
}
