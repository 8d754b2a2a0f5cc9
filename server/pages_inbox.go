package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// inboxPageSize is how many questions the inbox page shows at once.
const inboxPageSize = 100

// inboxTab is one of the inbox's status tabs.
type inboxTab struct {
	Status  lectern.QuestionStatus
	Label   string
	Current bool
}

// handleInboxPage lists the questions across the courses the caller
// teaches, oldest first, with a form to answer each in place.
func (s *Server) handleInboxPage(c echo.Context, u *lectern.User) error {
	counts, err := s.db.FindInboxCounts(c.Request().Context(), u)
	if err != nil {
		return fmt.Errorf("find inbox counts: %w", err)
	}
	if !counts.Teaches {
		return s.renderAnswersInbox(c, u, counts)
	}
	status := lectern.QuestionStatus(c.QueryParam("status"))
	if status == "" {
		status = lectern.QuestionOpen
	}
	if !status.Valid() {
		return lectern.Errorf(lectern.EINVALID, "Choose open, answered or resolved questions.")
	}
	inbox, err := s.db.FindInbox(c.Request().Context(), u, lectern.InboxFilter{Status: status, Limit: inboxPageSize})
	if err != nil {
		return fmt.Errorf("find inbox: %w", err)
	}
	tabs := []inboxTab{{lectern.QuestionOpen, "Open", false}, {lectern.QuestionAnswered, "Answered", false}, {lectern.QuestionResolved, "Resolved", false}}
	for i := range tabs {
		tabs[i].Current = tabs[i].Status == status
	}
	type item struct {
		*lectern.InboxQuestion
		Link string
	}
	items := make([]item, 0, len(inbox.Questions))
	for _, q := range inbox.Questions {
		items = append(items, item{q, watchLink(q.LessonID, q.AtMS)})
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "inbox", Title: "Inbox", User: u, Counts: counts, Nav: "inbox", Script: "js/inbox.js",
		View: struct {
			Teaching  bool
			Status    lectern.QuestionStatus
			Tabs      []inboxTab
			Questions []item
			Lessons   []lectern.LessonQuestionCount
			More      bool
		}{true, status, tabs, items, inbox.Lessons, inbox.Next != ""},
	})
}

// renderAnswersInbox is the inbox of someone who teaches no course: no
// questions wait for them, so it says so and shows what does concern them,
// the unread answers to their own questions.
func (s *Server) renderAnswersInbox(c echo.Context, u *lectern.User, counts *lectern.InboxCounts) error {
	notes, err := s.db.FindNotifications(c.Request().Context(), u)
	if err != nil {
		return fmt.Errorf("find notifications: %w", err)
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "inbox", Title: "Inbox", User: u, Counts: counts, Nav: "courses", Script: "js/common.js",
		View: struct {
			Teaching  bool
			CanCreate bool
			Answers   []answerNote
		}{false, u.Role == lectern.RoleTeacher || u.IsAdmin(), answerNotes(notes)},
	})
}

// handleAdminUsersPage lists every account, with a form to create one.
func (s *Server) handleAdminUsersPage(c echo.Context, u *lectern.User) error {
	if !u.IsAdmin() {
		return lectern.Errorf(lectern.ENOTFOUND, "page not found")
	}
	users, err := s.db.FindUsers(c.Request().Context())
	if err != nil {
		return fmt.Errorf("find users: %w", err)
	}
	// Storage use of every course owner (quota.go).
	usage, err := s.storageUsage(c.Request().Context(), "")
	if err != nil {
		return err
	}
	rows := make([]adminUserRow, len(users))
	for i, user := range users {
		rows[i] = adminUserRow{User: user}
		if user.Role != lectern.RoleStudent {
			q := quota{Used: usage[user.ID]}
			if !user.IsAdmin() {
				q.Limit = s.storageQuota
			}
			rows[i].Storage = q.String()
		}
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "admin_users", Title: "Users", User: u, Nav: "admin", Script: "js/admin.js",
		View: struct {
			Users                    []adminUserRow
			PasswordMin, PasswordMax int
		}{rows, minPasswordLen, maxPasswordLen},
	})
}

// adminUserRow is a user on the admin users page, with the storage their
// courses take ("" for students).
type adminUserRow struct {
	*lectern.User
	Storage string
}

// adminJobStates are the filters of the jobs page, "" meaning all.
var adminJobStates = []lectern.JobState{"", lectern.JobQueued, lectern.JobRunning, lectern.JobRetrying, lectern.JobFailed, lectern.JobSucceeded, lectern.JobCanceled}

func validJobStateFilter(s lectern.JobState) bool {
	for _, v := range adminJobStates[1:] {
		if s == v {
			return true
		}
	}
	return false
}

// handleAdminJobsPage lists recent transcode jobs, newest first, and
// links to the queue's own web UI. Its script renders the jobs from the
// same JSON as GET /api/v1/admin/jobs and refreshes them while any is
// unfinished.
func (s *Server) handleAdminJobsPage(c echo.Context, u *lectern.User) error {
	if !u.IsAdmin() {
		return lectern.Errorf(lectern.ENOTFOUND, "page not found")
	}
	f := db.JobFilter{Limit: jobsListLimit}
	state := lectern.JobState(c.QueryParam("state"))
	if state != "" {
		if !validJobStateFilter(state) {
			return lectern.Errorf(lectern.EINVALID, "Choose queued, running, retrying, failed, succeeded or canceled jobs.")
		}
		f.State = &state
	}
	jobs, err := s.db.FindJobDetails(c.Request().Context(), f)
	if err != nil {
		return fmt.Errorf("find jobs: %w", err)
	}
	out := make([]adminJobJSON, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, toAdminJobJSON(j))
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "admin_jobs", Title: "Transcode jobs", User: u, Nav: "admin", Script: "js/admin_jobs.js", Wide: true,
		View: struct {
			Jobs   []adminJobJSON
			State  lectern.JobState
			States []lectern.JobState
		}{out, state, adminJobStates},
		Data: map[string]any{"jobs": out, "state": state},
	})
}
