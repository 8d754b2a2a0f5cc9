package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// A user's own account: name, password, email address (changed only once
// the new mailbox confirms it, with a notice to the old one), and their
// sessions, which they see and end.

const (
	// emailChangeTTL is how long an address confirmation link works.
	emailChangeTTL = 24 * time.Hour
	// emailNoticeTTL is how long the notice of a changed address may
	// wait in the outbox.
	emailNoticeTTL       = 7 * 24 * time.Hour
	confirmEmailPagePath = "/confirm-email"
	emailChangeReply     = "A link to confirm the new address is on its way to it. Your address changes when you open that link; it works for 24 hours."
)

func (s *Server) registerAccountRoutes(e *echo.Echo, g *echo.Group) {
	g.PUT("/me/password", s.handlePasswordChange, s.requireUser)
	g.PATCH("/me", s.handleMeUpdate, s.requireUser)
	g.POST("/me/email", s.handleEmailChangeRequest, s.requireUser)
	g.POST("/me/email/confirm", s.handleEmailChangeConfirm)
	g.GET("/me/sessions", s.handleSessionList, s.requireUser)
	g.DELETE("/me/sessions", s.handleOtherSessionsDelete, s.requireUser)
	g.DELETE("/me/sessions/:id", s.handleMySessionDelete, s.requireUser)
	e.GET(confirmEmailPagePath, s.handleConfirmEmailPage, s.pageHeaders)
	e.GET("/account", s.page(s.handleAccountPage), s.pageHeaders)
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// EndAPITokens deletes every API token of the caller too.
	EndAPITokens bool `json:"end_api_tokens"`
}

// currentSessionHash is the token hash of the browser session the
// request came with, or "" when it came with an API token.
func currentSessionHash(c echo.Context) string {
	if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		return ""
	}
	if secret := c.Request().Header.Get(launchTokenHeader); secret != "" {
		return hashToken(secret)
	}
	if cookie, err := c.Cookie(sessionCookie); err == nil && cookie.Value != "" {
		return hashToken(cookie.Value)
	}
	return ""
}

// handlePasswordChange sets a new password for the caller, who proves
// they know the current one (a wrong one counts against the login
// limits); every other session of theirs ends, this one stays, and their
// API tokens too when they ask.
func (s *Server) handlePasswordChange(c echo.Context) error {
	var req passwordChangeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	if req.CurrentPassword == "" {
		return lectern.Errorf(lectern.EINVALID, "current_password is required")
	}
	if err := validatePassword(req.NewPassword); err != nil {
		return err
	}
	if err := s.checkCurrentPassword(c, u, req.CurrentPassword); err != nil {
		return err
	}
	hash, err := s.hashNewPassword(c, req.NewPassword)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ended, err := s.db.ChangePassword(ctx, u.ID, hash, currentSessionHash(c))
	if err != nil {
		return err
	}
	if req.EndAPITokens {
		if err := s.endAPITokens(ctx, u.ID); err != nil {
			return err
		}
	}
	s.invalidateAuth(ctx, "u:"+u.ID)
	for _, h := range ended {
		s.endSessionStreams(ctx, h)
	}
	return c.NoContent(http.StatusNoContent)
}

// checkCurrentPassword checks the caller's current password, counting a
// wrong one against the login limits: 403 when wrong.
func (s *Server) checkCurrentPassword(c echo.Context, u *lectern.User, password string) error {
	key := loginKey{account: accountKey(u.Email), address: addressKey(c.RealIP())}
	if wait := s.logins.wait(key, s.clock.Now()); wait > 0 {
		return tooManyLogins(c, wait)
	}
	if _, err := s.checkLogin(c, key, u.Email, password); err != nil {
		if lectern.ErrorCode(err) == lectern.EUNAUTHORIZED {
			return lectern.Errorf(lectern.EFORBIDDEN, "the current password is wrong")
		}
		return err
	}
	return nil
}

// endAPITokens deletes the user's API tokens; the caller invalidates
// the auth cache for the user.
func (s *Server) endAPITokens(ctx context.Context, userID string) error {
	_, err := s.db.DeleteUserAPITokens(ctx, userID)
	return err
}

type meUpdateRequest struct {
	Name *string `json:"name"`
}

// handleMeUpdate changes the caller's name.
func (s *Server) handleMeUpdate(c echo.Context) error {
	var req meUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	if req.Name == nil {
		return c.JSON(http.StatusOK, toUserJSON(u))
	}
	name := strings.TrimSpace(*req.Name)
	switch {
	case name == "":
		return lectern.Errorf(lectern.EINVALID, "name is required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return lectern.Errorf(lectern.EINVALID, "name must be at most %d characters", maxNameLen)
	}
	ctx := c.Request().Context()
	nu, err := s.db.UpdateUserName(ctx, u.ID, name)
	if err != nil {
		return err
	}
	s.invalidateAuth(ctx, "u:"+u.ID)
	return c.JSON(http.StatusOK, toUserJSON(nu))
}

type emailChangeRequest struct {
	Email           string `json:"email"`
	CurrentPassword string `json:"current_password"`
}

// handleEmailChangeRequest queues a confirmation link to the new address.
// A caller with a password proves it. The answer is the same whether or
// not another account uses the address: that mailbox's owner is told,
// nobody else.
func (s *Server) handleEmailChangeRequest(c echo.Context) error {
	if !s.mailConfigured() {
		return errMailNotSetUp("changing your address")
	}
	var req emailChangeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if email == u.Email {
		return lectern.Errorf(lectern.EINVALID, "this is already your address")
	}
	if u.PasswordHash != "" {
		if req.CurrentPassword == "" {
			return lectern.Errorf(lectern.EINVALID, "current_password is required")
		}
		if err := s.checkCurrentPassword(c, u, req.CurrentPassword); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	if wait := s.resets.byEmail.take(accountKey("change:"+u.ID), now); wait > 0 {
		secs := retryAfterSeconds(wait)
		setRetryAfter(c, secs)
		return lectern.Errorf(lectern.ERATELIMIT, "too many address changes; try again in %d minutes", (secs+59)/60)
	}
	uid := u.ID
	m := &lectern.OutgoingMail{Kind: lectern.MailEmailChange, UserID: &uid, To: email, Payload: email,
		ExpiresAt: now.Add(emailChangeTTL)}
	if err := s.queueMail(c.Request().Context(), m); err != nil {
		return fmt.Errorf("queue email change mail: %w", err)
	}
	return c.JSON(http.StatusAccepted, messageJSON{emailChangeReply})
}

// composeEmailChange makes the confirmation mail to the new address: a
// fresh link, or, when another account has the address, word of that.
func (s *Server) composeEmailChange(ctx context.Context, m *lectern.OutgoingMail) (mailContent, func(context.Context) error, error) {
	if m.UserID == nil {
		return mailContent{}, nil, errNothingToSend
	}
	u, err := s.db.FindUserByID(ctx, *m.UserID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return mailContent{}, nil, errNothingToSend
	}
	if err != nil {
		return mailContent{}, nil, err
	}
	if other, err := s.db.FindUserByEmail(ctx, m.To); err == nil && other.ID != u.ID {
		return mailContent{Subject: "Your Lectern address was not changed", Body: fmt.Sprintf(`Hello,

Someone asked to make %s the address of another Lectern account. It was
not changed: this address already belongs to an account on %s.
If you did not ask for this, ignore this mail.
`, m.To, s.mail.publicURL)}, nil, nil
	} else if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
		return mailContent{}, nil, err
	}
	secret := randomToken()
	ut := &lectern.UserToken{TokenHash: hashToken(secret), UserID: u.ID, Purpose: lectern.TokenEmailChange,
		Email: m.Payload, ExpiresAt: s.clock.Now().Add(emailChangeTTL)}
	if err := s.db.CreateUserToken(ctx, ut); err != nil {
		return mailContent{}, nil, err
	}
	link := s.mail.publicURL + confirmEmailPagePath + "?token=" + url.QueryEscape(secret)
	body := fmt.Sprintf(`Hello %s,

You asked to change the address of your Lectern account from %s to this one.
To confirm, open this link within 24 hours:

%s

The link works once. Until you open it, your address stays as it is.
If you did not ask for this, ignore this mail.
`, u.Name, u.Email, link)
	undo := func(ctx context.Context) error { return s.db.DeleteUserToken(ctx, ut.TokenHash) }
	return mailContent{Subject: "Confirm your new Lectern address", Body: body}, undo, nil
}

// composeEmailChanged makes the notice to an old address that it was
// replaced (m.Payload is the new one).
func (s *Server) composeEmailChanged(m *lectern.OutgoingMail) mailContent {
	return mailContent{Subject: "Your Lectern address was changed", Body: fmt.Sprintf(`Hello,

The address of your Lectern account was changed from %s to %s.
Mail from Lectern now goes to the new address.

If you did not do this, ask your Lectern admin for help at once.
`, m.To, m.Payload)}
}

type linkTokenRequest struct {
	Token string `json:"token"`
}

// handleEmailChangeConfirm spends an address confirmation link: the
// account's address becomes the new one and the old one is told. It
// needs no login, the link being the proof.
func (s *Server) handleEmailChangeConfirm(c echo.Context) error {
	var req linkTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return lectern.Errorf(lectern.EINVALID, "token is required")
	}
	ctx := c.Request().Context()
	notice := &lectern.OutgoingMail{Kind: lectern.MailEmailChanged, ExpiresAt: s.clock.Now().Add(emailNoticeTTL)}
	ut, err := s.db.FindUserToken(ctx, hashToken(req.Token), lectern.TokenEmailChange)
	if err == nil {
		notice.Payload = ut.Email
	}
	var u *lectern.User
	if err == nil {
		u, err = s.db.ConfirmEmailChange(ctx, hashToken(req.Token), notice)
	}
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.EINVALID, "this confirmation link has expired or was already used; ask for a new one from your account page")
	}
	if err != nil {
		return err
	}
	s.wakeMailSender()
	s.invalidateAuth(ctx, "u:"+u.ID)
	return c.JSON(http.StatusOK, toUserJSON(u))
}

// sessionJSON is one of the caller's sessions.
type sessionJSON struct {
	ID         string     `json:"id"`
	Browser    string     `json:"browser"`
	UserAgent  string     `json:"user_agent"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Current    bool       `json:"current"`
}

// mySessions lists u's sessions, the one c came with marked current.
func (s *Server) mySessions(c echo.Context, u *lectern.User) ([]sessionJSON, error) {
	sessions, err := s.db.FindSessions(c.Request().Context(), u.ID)
	if err != nil {
		return nil, err
	}
	cur := currentSessionHash(c)
	out := make([]sessionJSON, 0, len(sessions))
	for _, ss := range sessions {
		seen := ss.LastSeenAt
		if seen == nil {
			seen = &ss.CreatedAt
		}
		out = append(out, sessionJSON{ID: ss.ID, Browser: describeUserAgent(ss.UserAgent), UserAgent: ss.UserAgent,
			CreatedAt: ss.CreatedAt, LastSeenAt: seen, ExpiresAt: ss.ExpiresAt, Current: ss.TokenHash == cur})
	}
	return out, nil
}

// handleSessionList lists the caller's sessions, this one marked current.
func (s *Server) handleSessionList(c echo.Context) error {
	out, err := s.mySessions(c, currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Sessions []sessionJSON `json:"sessions"`
	}{out})
}

// handleMySessionDelete ends one of the caller's sessions (the current one
// too: that is a logout).
func (s *Server) handleMySessionDelete(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	hash, err := s.db.EndSession(ctx, u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	s.endSessions(ctx, []string{hash})
	return c.NoContent(http.StatusNoContent)
}

// handleOtherSessionsDelete ends every session of the caller but this one.
func (s *Server) handleOtherSessionsDelete(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	ended, err := s.db.EndOtherSessions(ctx, u.ID, currentSessionHash(c))
	if err != nil {
		return err
	}
	s.endSessions(ctx, ended)
	return c.JSON(http.StatusOK, struct {
		Ended int `json:"ended"`
	}{len(ended)})
}

// endSessions drops ended sessions from every process's cache and closes
// their event streams.
func (s *Server) endSessions(ctx context.Context, hashes []string) {
	for _, h := range hashes {
		s.invalidateAuth(ctx, "c:"+credSession+h)
		s.endSessionStreams(ctx, h)
	}
}

// describeUserAgent names the browser and system of a User-Agent header
// for people ("Firefox on Windows"); "Unknown browser" when it cannot.
func describeUserAgent(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome"},
		{"Chrome/", "Chrome"}, {"CriOS/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case browser == "" && system == "":
		return "Unknown browser"
	case browser == "":
		return "A browser on " + system
	case system == "":
		return browser
	}
	return browser + " on " + system
}
