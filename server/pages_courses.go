package server

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// handleCoursesPage lists my courses, with the forms to create one
// (teachers, admins) and to join one by code; with ?archived=true, my
// archived courses.
func (s *Server) handleCoursesPage(c echo.Context, u *lectern.User) error {
	ctx := c.Request().Context()
	archived := c.QueryParam("archived") == "true"
	find := s.db.FindCourses
	if archived {
		find = s.db.FindArchivedCourses
	}
	courses, err := find(ctx, u)
	if err != nil {
		return fmt.Errorf("find courses: %w", err)
	}
	notes, err := s.db.FindNotifications(ctx, u)
	if err != nil {
		return fmt.Errorf("find notifications: %w", err)
	}
	answers := answerNotes(notes)
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
	title := "My courses"
	if archived {
		title = "Archived courses"
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "courses", Title: title, User: u, Nav: "courses", Script: "js/courses.js",
		View: struct {
			Courses   []*lectern.Course
			CanCreate bool
			Answers   []answerNote
			Storage   string
			Archived  bool
		}{courses, canCreate, answers, storage, archived},
	})
}

// answerNote is an unread answer to one of my questions.
type answerNote struct {
	*lectern.Notification
	Link            string
	QuestionExcerpt string
	AnswerExcerpt   string
}

// answerNotes shows notifications as the pages list them.
func answerNotes(notes []*lectern.Notification) []answerNote {
	answers := make([]answerNote, 0, len(notes))
	for _, n := range notes {
		answers = append(answers, answerNote{n, watchLink(n.LessonID, n.AtMS),
			excerpt(n.Question, excerptLen), excerpt(n.Answer, excerptLen)})
	}
	return answers
}

// lessonRef names a lesson for a page script.
type lessonRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type coursePageView struct {
	Course   *lectern.Course
	Teaching bool
	// Editing is Teaching in a course that is not archived: the page
	// offers to add, move and rename.
	Editing bool
	// JoinCode is the course's join code as people read it, and JoinPath
	// the join link's path (teachers only).
	JoinCode string
	JoinPath string
	// Assisting is true for the course's teachers and teaching
	// assistants (and admins): they see analytics links.
	Assisting bool
	// MailEnabled says whether invitations can be sent by mail.
	MailEnabled bool
	Lessons     []coursePageLesson
	// Groups are the lessons in the course's order: those in no section
	// (ID ""), then each section, empty ones included.
	Groups         []coursePageGroup
	HasSections    bool
	OutlineVersion int64
	ReadyLessons   []lessonRef
	Students       []*lectern.CourseMember
	// LMS are the LMS courses the course is linked to, with their
	// rosters' sync state (teachers only; lti_roster.go).
	LMS []*db.LTIContextRow
	// TrashDays is how many days a deleted course can be restored.
	TrashDays int
}

// coursePageLesson is a lesson row of the course page: students get a
// Watch link only when Playable, else "Coming soon". Num is its place in
// the whole course, from 1.
type coursePageLesson struct {
	*lectern.Lesson
	Playable bool
	Num      int
}

// coursePageGroup is a section of the course page, or (ID "") the
// lessons in no section.
type coursePageGroup struct {
	ID      string
	Title   string
	Lessons []coursePageLesson
}

// courseGroups puts a course's lessons (in its order) into the outline's
// groups.
func courseGroups(o *lectern.Outline, lessons []coursePageLesson) []coursePageGroup {
	groups := []coursePageGroup{{}}
	at := map[string]int{"": 0}
	for _, sec := range o.Sections {
		at[sec.ID] = len(groups)
		groups = append(groups, coursePageGroup{ID: sec.ID, Title: sec.Title})
	}
	for _, l := range lessons {
		i, ok := at[l.SectionID]
		if !ok {
			i = 0
		}
		groups[i].Lessons = append(groups[i].Lessons, l)
	}
	return groups
}

// handleCoursePage shows a course's lessons with my progress and, to its
// teachers, the join code, the new-lesson form, each lesson's processing
// state (course.js renders it from the lessons' JSON and keeps it live)
// and each student's progress.
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
	v := coursePageView{Course: course, Teaching: mayTeach(u, course.MyRole), Assisting: mayAssist(u, course.MyRole),
		MailEnabled: s.mailConfigured(), ReadyLessons: []lessonRef{}}
	v.Editing = v.Teaching && course.ArchivedAt == nil
	// The page shows what the lessons API shows: the script's first
	// render and its polls then agree.
	scripted, err := s.courseLessons(ctx, course, lessons, u)
	if err != nil {
		return err
	}
	for i, l := range lessons {
		v.Lessons = append(v.Lessons, coursePageLesson{l, scripted[i].Playable, i + 1})
		if scripted[i].Playable {
			v.ReadyLessons = append(v.ReadyLessons, lessonRef{l.ID, l.Title})
		}
	}
	outline, err := s.db.FindOutline(ctx, course.ID)
	if err != nil {
		return err
	}
	v.Groups = courseGroups(outline, v.Lessons)
	v.HasSections = len(outline.Sections) > 0
	v.OutlineVersion = outline.Version
	data := map[string]any{
		"course_id":     course.ID,
		"teaching":      v.Teaching,
		"editing":       v.Editing,
		"ready_lessons": v.ReadyLessons,
	}
	if v.Teaching {
		data["outline_version"] = v.OutlineVersion
	}
	if v.Teaching {
		data["lessons"] = scripted
		v.TrashDays = s.trashDays()
		v.JoinCode = lectern.FormatJoinCode(course.JoinCode)
		v.JoinPath = joinPath(course.JoinCode)
		members, err := s.db.FindCourseMembers(ctx, course.ID)
		if err != nil {
			return fmt.Errorf("find course members: %w", err)
		}
		for _, m := range members {
			if m.Role == lectern.MemberStudent {
				v.Students = append(v.Students, m)
			}
		}
		if v.LMS, err = s.db.FindLTIContexts(ctx, course.ID); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "course", Title: course.Title, User: u, Nav: "courses", Script: "js/course.js",
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, ""}},
		View:   v,
		Data:   data,
	})
}

// joinPath is the path of a course's join link.
func joinPath(code string) string {
	return "/join/" + url.PathEscape(lectern.FormatJoinCode(code))
}

// handleJoinPage is where a join link leads: it names the course and
// offers to join it (the page's script posts to the join API; a GET
// changes nothing). A member goes straight to the course. Someone logged
// out comes back here after logging in (see page). An unknown code gets a
// page saying so, with the form to type a code.
func (s *Server) handleJoinPage(c echo.Context, u *lectern.User) error {
	raw, err := url.PathUnescape(c.Param("code"))
	if err != nil {
		raw = c.Param("code")
	}
	code := lectern.FormatJoinCode(raw)
	course, err := s.db.FindCourseByJoinCode(c.Request().Context(), code, u)
	status := http.StatusOK
	switch {
	case lectern.ErrorCode(err) == lectern.ENOTFOUND:
		course, status = nil, http.StatusNotFound
	case err != nil:
		return fmt.Errorf("find course by join code: %w", err)
	case course.MyRole != "":
		return c.Redirect(http.StatusSeeOther, "/courses/"+url.PathEscape(course.ID))
	}
	title := "Join a course"
	if course != nil {
		title = "Join " + course.Title
	}
	return s.render(c, status, pageView{
		Name: "join", Title: title, User: u, Nav: "courses", Script: "js/join.js",
		View: struct {
			Code   string
			Course *lectern.Course
			Admin  bool
		}{code, course, u.IsAdmin()},
	})
}
