package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/lti"
)

// ltiSessionLifetime is how long the session a launch opens lasts. Inside
// an iframe without third-party cookies its token is carried by the page
// (launchTokenHeader), where a script could read it: it is kept short.
const ltiSessionLifetime = 4 * time.Hour

// launchTokenKey is where a launch leaves its session token in the Echo
// context for render to put into the page.
const launchTokenKey = "lectern.launch_token"

// registerLTILaunchRoutes adds the routes an LMS sends browsers to.
func (s *Server) registerLTILaunchRoutes(e *echo.Echo) {
	e.GET("/lti/login", s.handleLTILogin)
	e.POST("/lti/login", s.handleLTILogin)
	e.POST("/lti/launch", s.handleLTILaunch)
}

// ltiBypass lists the paths an LMS's page posts to from another site:
// the cross-origin protection lets them through; the signed id_token and
// the state bound to the browser are their protection instead.
var ltiBypass = []string{"POST /lti/login", "POST /lti/launch"}

// ltiVerifyView is the page that reads the state back from the LMS's
// window and posts the launch again with it.
type ltiVerifyView struct {
	IDToken, State, StorageTarget, PlatformOrigin string
}

// ltiRetryView offers to start the launch again in a new window, where
// cookies work.
type ltiRetryView struct {
	LoginURL string
	Params   url.Values
}

// handleLTILaunch takes the id_token the platform posted: it checks that
// the launch comes back to the browser that started it, checks the token
// (lti.ParseIDToken), provisions the user, course and link, opens a
// session and shows what the launch is for.
func (s *Server) handleLTILaunch(c echo.Context) error {
	ctx := c.Request().Context()
	idToken, state := c.FormValue("id_token"), c.FormValue("state")
	if errText := c.FormValue("error"); errText != "" && idToken == "" {
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonMalformed, "The LMS did not let the launch through: %s %s",
			errText, c.FormValue("error_description")))
	}
	if idToken == "" || state == "" {
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonMissingClaim, "The launch lacks its id_token or state. Open the activity again from your course."))
	}
	login, err := s.db.FindLTILogin(ctx, hashToken(state))
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonState,
			"This launch has expired or was used already. Open the activity again from your course."))
	}
	if err != nil {
		return err
	}
	p, err := s.db.FindLTIPlatform(ctx, login.PlatformID)
	if err != nil {
		return err
	}
	if !s.ltiBound(c, state, login) {
		if login.StorageTarget != "" && c.FormValue("lti_storage_checked") == "" {
			ltiHeaders(c)
			return s.render(c, http.StatusOK, pageView{Name: "lti_verify", Title: "Opening Lectern", Script: "js/lti.js",
				View: ltiVerifyView{IDToken: idToken, State: state, StorageTarget: login.StorageTarget, PlatformOrigin: origin(p.AuthLoginURL)}})
		}
		return s.ltiRefuseRetry(c, p, login)
	}
	if _, err := s.db.ConsumeLTILogin(ctx, hashToken(state)); err != nil {
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return s.ltiRefuse(c, p, nil, lti.Refuse(lti.ReasonState, "This launch was used already. Open the activity again from your course."))
		}
		return err
	}
	l, err := lti.ParseIDToken(ctx, idToken, s.lti.keySets, lti.Expect{
		Issuer: p.Issuer, ClientID: p.ClientID, Deployments: p.Deployments, Nonce: login.Nonce,
		JWKSURL: p.JWKSURL, Now: s.clock.Now()})
	if err != nil {
		return s.ltiRefuse(c, p, nil, err)
	}
	return s.ltiLaunch(c, p, l)
}

// ltiBound reports whether the launch came back to the browser that
// started the login: its state cookie, or the state it read back from
// the platform's postMessage storage, matches.
func (s *Server) ltiBound(c echo.Context, state string, login *lectern.LTILogin) bool {
	if ck, err := c.Cookie(ltiStateCookieName(state)); err == nil && ck.Value == state {
		return true
	}
	return login.StorageTarget != "" && c.FormValue("lti_storage_state") == state
}

// ltiRoles maps the launch's LTI roles to an account role and a course
// role, or refuses.
func ltiRoles(p *lectern.LTIPlatform, l *lti.Launch) (lectern.Role, lectern.MemberRole, error) {
	account, member, ok := ltiRoleFor(p, l.Role())
	if !ok {
		return "", "", lti.Refuse(lti.ReasonRole,
			"Your role in this LMS course does not give access to Lectern: only instructors, learners and administrators may open it.")
	}
	return account, member, nil
}

// ltiRoleFor maps an LTI role to an account role and a course role, as
// launches and roster syncs do; ok is false for a role Lectern lets in
// nowhere.
func ltiRoleFor(p *lectern.LTIPlatform, r lti.Role) (lectern.Role, lectern.MemberRole, bool) {
	switch r {
	case lti.RoleAdministrator:
		switch p.AdminRole {
		case lectern.RoleAdmin:
			return lectern.RoleAdmin, lectern.MemberTeacher, true
		case lectern.RoleStudent:
			return lectern.RoleStudent, lectern.MemberStudent, true
		}
		return lectern.RoleTeacher, lectern.MemberTeacher, true
	case lti.RoleInstructor:
		return lectern.RoleTeacher, lectern.MemberTeacher, true
	case lti.RoleLearner:
		return lectern.RoleStudent, lectern.MemberStudent, true
	}
	return "", "", false
}

// ltiLaunch acts on a validated launch.
func (s *Server) ltiLaunch(c echo.Context, p *lectern.LTIPlatform, l *lti.Launch) error {
	ctx := c.Request().Context()
	account, member, err := ltiRoles(p, l)
	if err != nil {
		return s.ltiRefuse(c, p, l, err)
	}
	if l.MessageType == lti.MessageDeepLinkingRequest && member != lectern.MemberTeacher {
		return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonRole, "Only the course's teachers may add Lectern lessons to it."))
	}
	if l.MessageType == lti.MessageDeepLinkingRequest {
		if err := checkDeepLinkingSettings(l); err != nil {
			return s.ltiRefuse(c, p, l, err)
		}
	}
	if l.Context == nil {
		return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonContext,
			"The launch does not come from a course (no context claim); Lectern opens lessons of a course."))
	}
	apply := db.LTILaunchApply{
		PlatformID: p.ID, CourseRole: member, MayCreateCourse: member == lectern.MemberTeacher,
		Person:  db.LTIPerson{Issuer: l.Issuer, Sub: l.Subject, Name: l.Name, Email: l.Email, Role: account},
		Context: &db.LTIContext{ID: l.Context.ID, Title: firstNonEmpty(l.Context.Title, l.Context.Label)},
	}
	if l.NRPS != nil {
		apply.Context.MembershipsURL = l.NRPS.MembershipsURL
	}
	if l.AGS != nil {
		apply.Context.LineItemsURL = l.AGS.LineItems
	}
	if l.ResourceLink != nil && l.MessageType == lti.MessageResourceLink {
		apply.Link = &db.LTILink{ID: l.ResourceLink.ID, Title: l.ResourceLink.Title, LessonID: l.Custom[lti.CustomLesson]}
		if l.AGS != nil && l.AGS.HasScope(lti.ScopeScore) {
			apply.Link.LineItemURL = l.AGS.LineItem
		}
	}
	res, err := s.db.ApplyLTILaunch(ctx, apply)
	if code := lectern.ErrorCode(err); code == lectern.ENOTFOUND || code == lectern.ECONFLICT {
		return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonContext, "%s", lectern.ErrorMessage(err)))
	}
	if err != nil {
		return err
	}
	// A launch may have changed the user's name or role: their other
	// sessions and tokens are read again (authcache.go).
	s.invalidateAuth(ctx, "u:"+res.User.ID)
	if err := s.ltiSession(c, res.User); err != nil {
		return err
	}
	s.recordLTILaunch(ctx, p, l, &res.User.ID, "ok", "")
	if l.MessageType == lti.MessageDeepLinkingRequest {
		return s.ltiDeepLinkingPicker(c, p, l, res)
	}
	return s.ltiOpen(c, p, l, member, res)
}

// ltiOpen shows what a resource link opens: its lesson, or, for a link
// not tied to a lesson yet, the course to its teachers.
func (s *Server) ltiOpen(c echo.Context, p *lectern.LTIPlatform, l *lti.Launch, member lectern.MemberRole, res *db.LTILaunchResult) error {
	switch {
	case res.ForeignLesson:
		return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonContext,
			"This activity points to a lesson of another Lectern course. Ask your teacher to choose the lesson again."))
	case res.LessonID != "":
		return s.renderLaunched(c, res.User, res.LessonID, s.handleWatchPage)
	case member == lectern.MemberTeacher:
		return s.renderLaunched(c, res.User, res.CourseID, s.handleCoursePage)
	}
	return s.ltiRefuse(c, p, l, lti.Refuse(lti.ReasonContext,
		"Your teacher has not chosen a lesson for this activity yet."))
}

// renderLaunched renders the page h for the launch's user, with the
// resource id as the route's :id, framable by the LMS.
func (s *Server) renderLaunched(c echo.Context, u *lectern.User, id string, h pageHandler) error {
	ltiHeaders(c)
	c.SetParamNames("id")
	c.SetParamValues(id)
	if err := h(c, u); err != nil {
		return s.renderError(c, u, err)
	}
	return nil
}

// ltiSession opens the launch's session: a cookie where the browser
// keeps it, and the same token carried by the page (render puts it in a
// meta tag that api.js sends as launchTokenHeader) where it does not.
func (s *Server) ltiSession(c echo.Context, u *lectern.User) error {
	secret := randomToken()
	expires := s.clock.Now().Add(ltiSessionLifetime)
	sess := &lectern.Session{TokenHash: hashToken(secret), UserID: u.ID, ExpiresAt: expires}
	if err := s.db.CreateSession(c.Request().Context(), sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	ck := s.sessionCookie(secret, expires)
	s.thirdPartyCookie(ck)
	c.SetCookie(ck)
	c.Set(launchTokenKey, secret)
	return nil
}

// ltiRefusedView is the page of a refused launch.
type ltiRefusedView struct {
	Message string
	Reason  string
	Retry   *ltiRetryView
}

// ltiRefuse shows why a launch was refused, in words, and records it on
// the platform's list of launches. Errors that are not refusals are
// shown as the error page (and logged when internal).
func (s *Server) ltiRefuse(c echo.Context, p *lectern.LTIPlatform, l *lti.Launch, err error) error {
	var r *lti.Refusal
	if !errors.As(err, &r) {
		ltiHeaders(c)
		return s.renderError(c, nil, err)
	}
	if p != nil {
		s.recordLTILaunch(c.Request().Context(), p, l, nil, r.Reason, r.Message)
	}
	s.logger.InfoContext(c.Request().Context(), "lti launch refused", slog.String("reason", r.Reason), slog.Any("error", err))
	return s.renderLTIRefused(c, ltiRefusedView{Message: r.Message, Reason: r.Reason})
}

// ltiRefuseRetry refuses a launch that came back without proof that it
// started in this browser (cookies blocked and no platform storage) and
// offers to start it again in a window of its own, where cookies work.
func (s *Server) ltiRefuseRetry(c echo.Context, p *lectern.LTIPlatform, login *lectern.LTILogin) error {
	r := lti.Refuse(lti.ReasonState, "Lectern could not confirm that this launch started in this browser: "+
		"the browser blocks Lectern's cookie inside the LMS's page, and the LMS does not offer LTI platform storage. "+
		"Open the activity in a new window to continue.")
	s.recordLTILaunch(c.Request().Context(), p, nil, nil, r.Reason, r.Message)
	params, _ := url.ParseQuery(login.Params)
	params.Del("lti_storage_target")
	return s.renderLTIRefused(c, ltiRefusedView{Message: r.Message, Reason: r.Reason,
		Retry: &ltiRetryView{LoginURL: s.ltiBase(c) + "/lti/login", Params: params}})
}

func (s *Server) renderLTIRefused(c echo.Context, v ltiRefusedView) error {
	ltiHeaders(c)
	return s.render(c, http.StatusForbidden, pageView{Name: "lti_refused", Title: "Lectern could not open this activity",
		Script: "js/lti.js", View: v})
}

// recordLTILaunch adds a launch to the platform's list; a failure to
// record is logged, not shown.
func (s *Server) recordLTILaunch(ctx context.Context, p *lectern.LTIPlatform, l *lti.Launch, userID *string, outcome, detail string) {
	r := &lectern.LTILaunchRecord{PlatformID: p.ID, UserID: userID, Outcome: outcome, Detail: detail}
	if l != nil {
		r.Sub, r.MessageType = l.Subject, l.MessageType
		if l.Context != nil {
			r.ContextID = l.Context.ID
		}
		if l.ResourceLink != nil {
			r.ResourceLinkID = l.ResourceLink.ID
		}
	}
	if err := s.db.RecordLTILaunch(ctx, r); err != nil {
		s.logger.WarnContext(ctx, "record lti launch", slog.Any("error", err))
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
