package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Password reset by email. Asking for a reset always gets the same
// answer, and does the same work (one outbox row), whether or not the
// address has an account: the sender finds out when it makes the mail
// (composePasswordReset), off the request's path, so neither the answer
// nor its timing tells which addresses exist. The link is single-use,
// expires after resetLinkTTL, and only its hash is stored; using it sets
// the new password, ends every session of the account and every other
// reset link, and logs the browser in.

const (
	// resetLinkTTL is how long a reset link works; a reset mail not sent
	// within it is dropped.
	resetLinkTTL = time.Hour
	// resetsPerAccount links are sent to one account per resetLinkTTL at
	// most, whoever asks.
	resetsPerAccount = 3
	// Requests per address asked for (3, then one every 20 minutes) and
	// per client address (10, then one every 6 minutes).
	resetEmailBurst   = 3
	resetEmailEvery   = 20 * time.Minute
	resetClientBurst  = 10
	resetClientEvery  = 6 * time.Minute
	resetPagePath     = "/reset-password"
	forgotPagePath    = "/forgot-password"
	resetRequestReply = "If an account uses this address, a link to set a new password is on its way. It works for one hour."
)

// resetLimits throttle reset requests in this process.
type resetLimits struct {
	byEmail, byClient *limiterSet
}

func newResetLimits() *resetLimits {
	return &resetLimits{
		byEmail:  newLimiterSet(resetEmailEvery, resetEmailBurst, limiterMaxKeys),
		byClient: newLimiterSet(resetClientEvery, resetClientBurst, limiterMaxKeys),
	}
}

func (s *Server) registerPasswordResetRoutes(e *echo.Echo, g *echo.Group) {
	g.POST("/password-reset", s.handlePasswordResetRequest)
	g.POST("/password-reset/confirm", s.handlePasswordResetConfirm)
	e.GET(forgotPagePath, s.handleForgotPage, s.pageHeaders)
	e.GET(resetPagePath, s.handleResetPage, s.pageHeaders)
}

type resetRequest struct {
	Email string `json:"email"`
}

type messageJSON struct {
	Message string `json:"message"`
}

// handlePasswordResetRequest queues a reset mail for the address and
// answers 202 with the same words whether or not it has an account.
func (s *Server) handlePasswordResetRequest(c echo.Context) error {
	if !s.mailConfigured() {
		return errMailNotSetUp("password reset")
	}
	var req resetRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	client, account := addressKey(c.RealIP()), accountKey(email)
	if wait := s.resets.byClient.wait(client, now); wait > 0 {
		return tooManyResets(c, wait)
	}
	if wait := s.resets.byEmail.take(account, now); wait > 0 {
		return tooManyResets(c, wait)
	}
	_ = s.resets.byClient.take(client, now)
	m := &lectern.OutgoingMail{Kind: lectern.MailPasswordReset, To: email, ExpiresAt: now.Add(resetLinkTTL)}
	if err := s.queueMail(c.Request().Context(), m); err != nil {
		return fmt.Errorf("queue reset mail: %w", err)
	}
	return c.JSON(http.StatusAccepted, messageJSON{resetRequestReply})
}

func tooManyResets(c echo.Context, wait time.Duration) error {
	secs := retryAfterSeconds(wait)
	setRetryAfter(c, secs)
	return lectern.Errorf(lectern.ERATELIMIT, "too many reset requests; try again in %d minutes", (secs+59)/60)
}

// composePasswordReset makes the reset mail for m.To: a fresh link for
// the account with that address, or errNothingToSend when there is none
// (or it has no password, being an LMS account, or has had its share of
// links this hour).
func (s *Server) composePasswordReset(ctx context.Context, m *lectern.OutgoingMail) (mailContent, func(context.Context) error, error) {
	u, err := s.db.FindUserByEmail(ctx, m.To)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && u.PasswordHash == "") {
		return mailContent{}, nil, errNothingToSend
	}
	if err != nil {
		return mailContent{}, nil, err
	}
	// Users who log in with single sign-on have no Lectern password to
	// reset (their school's identity provider keeps it).
	if only, err := s.ssoOnly(ctx, u); err != nil || only {
		return mailContent{}, nil, cmp.Or(err, errNothingToSend)
	}
	now := s.clock.Now()
	n, err := s.db.CountUserTokens(ctx, u.ID, lectern.TokenPasswordReset, now.Add(-resetLinkTTL))
	if err != nil {
		return mailContent{}, nil, err
	}
	if n >= resetsPerAccount {
		s.logger.WarnContext(ctx, "password reset mail not sent: the account had its share this hour", slog.String("user", u.ID))
		return mailContent{}, nil, errNothingToSend
	}
	secret := randomToken()
	ut := &lectern.UserToken{TokenHash: hashToken(secret), UserID: u.ID, Purpose: lectern.TokenPasswordReset,
		ExpiresAt: now.Add(resetLinkTTL)}
	if err := s.db.CreateUserToken(ctx, ut); err != nil {
		return mailContent{}, nil, err
	}
	link := s.mail.publicURL + resetPagePath + "?token=" + url.QueryEscape(secret)
	body := fmt.Sprintf(`Hello %s,

Someone (we hope you) asked to set a new password for your Lectern account, %s.
To choose a new password, open this link within the next hour:

%s

The link works once. Using it logs you out everywhere else.
If you did not ask for this, ignore this mail: your password stays as it is.
`, u.Name, u.Email, link)
	undo := func(ctx context.Context) error { return s.db.DeleteUserToken(ctx, ut.TokenHash) }
	return mailContent{Subject: "Set a new password for Lectern", Body: body}, undo, nil
}

type resetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	// EndAPITokens deletes the account's API tokens too; by default
	// they keep working.
	EndAPITokens bool `json:"end_api_tokens"`
}

// handlePasswordResetConfirm sets a new password with a reset link's
// token, ends the account's sessions, and logs this browser in.
func (s *Server) handlePasswordResetConfirm(c echo.Context) error {
	var req resetConfirmRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return lectern.Errorf(lectern.EINVALID, "token is required")
	}
	if err := validatePassword(req.Password); err != nil {
		return err
	}
	hash, err := s.hashNewPassword(c, req.Password)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, ended, err := s.db.ResetPassword(ctx, hashToken(req.Token), hash)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return lectern.Errorf(lectern.EINVALID, "this reset link has expired or was already used; ask for a new one")
	}
	if err != nil {
		return err
	}
	if req.EndAPITokens {
		if err := s.endAPITokens(ctx, u.ID); err != nil {
			return err
		}
	}
	// Sessions kept in memory here and in other API processes end too.
	s.invalidateAuth(ctx, "u:"+u.ID)
	for _, h := range ended {
		s.endSessionStreams(ctx, h)
	}
	// Failures counted against the account before are forgiven: its
	// owner has just proved they hold its mailbox.
	s.logins.account.reset(accountKey(u.Email))
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{User: toUserJSON(u)})
}

// hashNewPassword hashes a new password in a hashing slot.
func (s *Server) hashNewPassword(c echo.Context, password string) (string, error) {
	if !s.hashes.acquire(c.Request().Context()) {
		setRetryAfter(c, retryAfterSeconds(s.limits.PasswordHashWait))
		return "", errHashBusy()
	}
	defer s.hashes.release()
	var (
		hash string
		err  error
	)
	s.hashes.run(func() { hash, err = HashPassword(password) })
	return hash, err
}

// handleForgotPage shows the form that asks for a reset link, or says
// that this server cannot send one.
func (s *Server) handleForgotPage(c echo.Context) error {
	return s.render(c, http.StatusOK, pageView{
		Name: "forgot", Title: "Forgot password", Script: "js/password_reset.js",
		View: struct{ MailConfigured bool }{s.mailConfigured()},
	})
}

// handleResetPage shows the new-password form of a reset link, or says
// that the link no longer works.
func (s *Server) handleResetPage(c echo.Context) error {
	token := c.QueryParam("token")
	valid := false
	if token != "" {
		_, err := s.db.FindUserToken(c.Request().Context(), hashToken(token), lectern.TokenPasswordReset)
		if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
			return s.renderError(c, nil, err)
		}
		valid = err == nil
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "reset", Title: "Set a new password", Script: "js/password_reset.js",
		View: struct {
			Token string
			Valid bool
		}{token, valid},
	})
}
