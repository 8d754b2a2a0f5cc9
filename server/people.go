package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// People in a course (issue 15): its teachers add people by email with a
// role (teacher, teaching assistant or student), change roles, and give
// the course a new join code. An address with no account gets an
// invitation by mail: a one-time link, made when the mail is sent (as a
// password reset's), where the person chooses a name and password and
// lands in the course.

const (
	// inviteLinkTTL is how long an invitation link works; an invitation
	// mail not sent within it is dropped.
	inviteLinkTTL = 7 * 24 * time.Hour
	// invitesPerAddress invitations to one course go to one address per
	// day at most.
	invitesPerAddress = 3
	invitePagePath    = "/invitation"
)

func (s *Server) registerPeopleRoutes(e *echo.Echo, g *echo.Group) {
	g.POST("/courses/:id/members", s.handleMemberAdd, s.requireUser)
	g.PATCH("/courses/:id/members/:user_id", s.handleMemberRole, s.requireUser)
	g.POST("/courses/:id/join-code", s.handleJoinCodeRotate, s.requireUser)
	g.POST("/invitations/accept", s.handleInvitationAccept)
	e.GET(invitePagePath, s.handleInvitationPage, s.pageHeaders)
}

type memberAddRequest struct {
	Email string             `json:"email"`
	Role  lectern.MemberRole `json:"role"`
}

// memberAddResponse says what adding an address did: added an account
// (Member), or sent an invitation (Invited).
type memberAddResponse struct {
	Member  *lectern.CourseMember `json:"member,omitempty"`
	Invited bool                  `json:"invited"`
	Message string                `json:"message"`
}

// handleMemberAdd adds the account with this email to the course with
// the role given (student by default): 201. An address with no account
// gets an invitation by mail: 202, or 503 when mail is not set up. 409
// for someone already in the course.
func (s *Server) handleMemberAdd(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, "add members")
	if err != nil {
		return err
	}
	var req memberAddRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = lectern.MemberStudent
	}
	if !req.Role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be teacher, ta or student")
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	who, err := s.db.FindUserByEmail(ctx, email)
	switch {
	case err == nil:
		if err := s.db.AddNewCourseMember(ctx, course.ID, who.ID, req.Role); err != nil {
			if lectern.ErrorCode(err) == lectern.ECONFLICT {
				return lectern.Errorf(lectern.ECONFLICT, "%s is already in this course; change their role in the member list", email)
			}
			return err
		}
		m := &lectern.CourseMember{CourseID: course.ID, UserID: who.ID, Name: who.Name, Email: who.Email,
			Role: req.Role, JoinedAt: s.clock.Now()}
		return c.JSON(http.StatusCreated, memberAddResponse{Member: m,
			Message: fmt.Sprintf("%s is now in this course as %s.", displayName(who), roleName(req.Role))})
	case lectern.ErrorCode(err) != lectern.ENOTFOUND:
		return fmt.Errorf("find user by email: %w", err)
	}
	if !s.mailConfigured() {
		return lectern.Errorf(lectern.EUNAVAILABLE, "No account uses %s, and this server cannot send mail, so no invitation can be sent. Share the join link with them instead, or ask your admin to create their account.", email)
	}
	now := s.clock.Now()
	n, err := s.db.CountCourseInvitations(ctx, course.ID, email, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if n >= invitesPerAddress {
		return lectern.Errorf(lectern.ERATELIMIT, "%s was invited %d times today already; try again tomorrow", email, n)
	}
	payload, _ := json.Marshal(invitePayload{CourseID: course.ID, Role: req.Role, InvitedBy: u.ID})
	m := &lectern.OutgoingMail{Kind: lectern.MailCourseInvitation, To: email, Payload: string(payload),
		ExpiresAt: now.Add(inviteLinkTTL)}
	if err := s.queueMail(ctx, m); err != nil {
		return fmt.Errorf("queue invitation mail: %w", err)
	}
	return c.JSON(http.StatusAccepted, memberAddResponse{Invited: true,
		Message: fmt.Sprintf("No account uses %s yet: an invitation is on its way. Its link works for 7 days and brings them into this course as %s.", email, roleName(req.Role))})
}

// invitePayload is an invitation mail's outbox payload.
type invitePayload struct {
	CourseID  string             `json:"course_id"`
	Role      lectern.MemberRole `json:"role"`
	InvitedBy string             `json:"invited_by"`
}

func displayName(u *lectern.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// roleName is how pages and messages name a course role.
func roleName(r lectern.MemberRole) string {
	switch r {
	case lectern.MemberTeacher:
		return "a teacher"
	case lectern.MemberTA:
		return "a teaching assistant"
	}
	return "a student"
}

// composeCourseInvitation makes the invitation mail: a fresh one-time
// link to the invitation page.
func (s *Server) composeCourseInvitation(ctx context.Context, m *lectern.OutgoingMail) (mailContent, func(context.Context) error, error) {
	var p invitePayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return mailContent{}, nil, fmt.Errorf("invitation payload: %w", err)
	}
	secret := randomToken()
	var by *string
	if p.InvitedBy != "" {
		by = &p.InvitedBy
	}
	inv := &db.CourseInvitation{TokenHash: hashToken(secret), CourseID: p.CourseID, Email: m.To, Role: p.Role,
		InvitedBy: by, ExpiresAt: s.clock.Now().Add(inviteLinkTTL)}
	if err := s.db.CreateCourseInvitation(ctx, inv); err != nil {
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return mailContent{}, nil, errNothingToSend // the course is gone
		}
		return mailContent{}, nil, err
	}
	undo := func(ctx context.Context) error { return s.db.DeleteCourseInvitation(ctx, inv.TokenHash) }
	found, err := s.db.FindCourseInvitation(ctx, inv.TokenHash)
	if err != nil {
		_ = undo(ctx)
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return mailContent{}, nil, errNothingToSend
		}
		return mailContent{}, nil, err
	}
	inviter := "A teacher"
	if by != nil {
		if who, err := s.db.FindUserByID(ctx, *by); err == nil {
			inviter = displayName(who)
		}
	}
	link := s.mail.publicURL + invitePagePath + "?token=" + url.QueryEscape(secret)
	body := fmt.Sprintf(`Hello,

%s invites you to the course "%s" on Lectern, as %s.
To accept, open this link within 7 days, choose your name and a password,
and you will be taken to the course:

%s

The link works once. If you did not expect this, ignore this mail.
`, inviter, found.CourseTitle, roleName(p.Role), link)
	return mailContent{Subject: "You are invited to " + found.CourseTitle + " on Lectern", Body: body}, undo, nil
}

type memberRoleRequest struct {
	Role lectern.MemberRole `json:"role"`
}

// handleMemberRole changes a member's role (the course's teachers and
// admins): 404 for a non-member, 409 for the owner or the last teacher.
func (s *Server) handleMemberRole(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "change roles")
	if err != nil {
		return err
	}
	var req memberRoleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	userID := c.Param("user_id")
	if err := s.db.SetCourseMemberRole(ctx, course.ID, userID, req.Role); err != nil {
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return lectern.Errorf(lectern.ENOTFOUND, "That person is not a member of this course.")
		}
		return err
	}
	// What they may do changes now: cached answers about them go.
	s.invalidateAuth(ctx, "u:"+userID)
	members, err := s.db.FindCourseMembers(ctx, course.ID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.UserID == userID {
			return c.JSON(http.StatusOK, m)
		}
	}
	return lectern.Errorf(lectern.ENOTFOUND, "That person is not a member of this course.")
}

type joinCodeResponse struct {
	JoinCode string `json:"join_code"`
	JoinPath string `json:"join_path"`
}

// handleJoinCodeRotate gives the course a new join code; the old code
// and its link stop working at once.
func (s *Server) handleJoinCodeRotate(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "change its join code")
	if err != nil {
		return err
	}
	code, err := s.db.RotateJoinCode(ctx, course.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, joinCodeResponse{JoinCode: lectern.FormatJoinCode(code), JoinPath: joinPath(code)})
}

type invitationAcceptRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type invitationAcceptResponse struct {
	User     userJSON `json:"user"`
	CourseID string   `json:"course_id"`
}

// handleInvitationAccept creates the invited person's account with the
// name and password they chose, makes them a member of the course, and
// logs this browser in.
func (s *Server) handleInvitationAccept(c echo.Context) error {
	var req invitationAcceptRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return lectern.Errorf(lectern.EINVALID, "token is required")
	}
	ctx := c.Request().Context()
	inv, err := s.db.FindCourseInvitation(ctx, hashToken(req.Token))
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.EINVALID, "this invitation has expired or was already used; ask the teacher for a new one")
	}
	if err != nil {
		return err
	}
	if !s.hashes.acquire(ctx) {
		setRetryAfter(c, retryAfterSeconds(s.limits.PasswordHashWait))
		return errHashBusy()
	}
	var u *lectern.User
	s.hashes.run(func() { u, err = NewUser(inv.Email, req.Name, lectern.RoleStudent, req.Password) })
	s.hashes.release()
	if err != nil {
		return err
	}
	if _, err := s.db.AcceptCourseInvitation(ctx, hashToken(req.Token), u); err != nil {
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return lectern.Errorf(lectern.EINVALID, "this invitation has expired or was already used; ask the teacher for a new one")
		}
		return err
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, invitationAcceptResponse{User: toUserJSON(u), CourseID: inv.CourseID})
}

// handleInvitationPage shows an invitation's form (name and password),
// or says the link no longer works.
func (s *Server) handleInvitationPage(c echo.Context) error {
	token := c.QueryParam("token")
	var inv *db.CourseInvitation
	if token != "" {
		found, err := s.db.FindCourseInvitation(c.Request().Context(), hashToken(token))
		if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
			return s.renderError(c, nil, err)
		}
		inv = found
	}
	title := "Invitation"
	var view struct {
		Valid       bool
		Token       string
		Email       string
		CourseTitle string
		Role        string
	}
	if inv != nil {
		title = "Join " + inv.CourseTitle
		view.Valid, view.Token, view.Email, view.CourseTitle, view.Role = true, token, inv.Email, inv.CourseTitle, roleName(inv.Role)
	}
	return s.render(c, http.StatusOK, pageView{Name: "invitation", Title: title, Script: "js/invitation.js", View: view})
}
