package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// sessionLifetime is how long a browser login lasts.
const sessionLifetime = 14 * 24 * time.Hour

// errBadLogin is the one answer to a wrong email or a wrong password, so
// that the API does not reveal which emails have accounts.
func errBadLogin() error {
	return lectern.Errorf(lectern.EUNAUTHORIZED, "wrong email or password")
}

func (s *Server) registerSessionRoutes(g *echo.Group) {
	g.POST("/session", s.handleSessionCreate)
	// Logging out needs no valid session, so that a browser holding an
	// expired cookie can still clear it.
	g.DELETE("/session", s.handleSessionDelete)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	User userJSON `json:"user"`
}

// handleSessionCreate logs in with email and password and sets the
// session cookie. Failed logins are throttled (login_throttle.go); the
// password check waits for a hashing slot (hashSlots) and is refused with
// 503 when none frees up in time.
func (s *Server) handleSessionCreate(c echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || req.Password == "" {
		return lectern.Errorf(lectern.EINVALID, "email and password are required")
	}
	key := loginKey{account: accountKey(email), address: addressKey(c.RealIP())}
	if wait := s.logins.wait(key, s.clock.Now()); wait > 0 {
		return tooManyLogins(c, wait)
	}
	u, err := s.checkLogin(c, key, email, req.Password)
	if err != nil {
		return err
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{User: toUserJSON(u)})
}

// startSession logs the browser in as u: a new session, and its cookie.
func (s *Server) startSession(c echo.Context, u *lectern.User) error {
	secret := randomToken()
	sess := &lectern.Session{TokenHash: hashToken(secret), UserID: u.ID,
		ExpiresAt: s.clock.Now().Add(sessionLifetime), UserAgent: c.Request().UserAgent()}
	if err := s.db.CreateSession(c.Request().Context(), sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	c.SetCookie(s.sessionCookie(secret, sess.ExpiresAt))
	return nil
}

// accountKey is the login limiter's key for an email: a hash, so that
// the limiter's memory does not depend on what clients send.
func accountKey(email string) string { return hashToken(email) }

// tooManyLogins is the 429 of a throttled login.
func tooManyLogins(c echo.Context, wait time.Duration) error {
	secs := retryAfterSeconds(wait)
	setRetryAfter(c, secs)
	return lectern.Errorf(lectern.ERATELIMIT, "too many failed logins; try again in %d seconds", secs)
}

// checkLogin checks email and password in a hashing slot, with a failure
// counted in advance against key's budgets and given back unless the
// password is wrong.
func (s *Server) checkLogin(c echo.Context, key loginKey, email, password string) (*lectern.User, error) {
	if !s.hashes.acquire(c.Request().Context()) {
		setRetryAfter(c, retryAfterSeconds(s.limits.PasswordHashWait))
		return nil, errHashBusy()
	}
	defer s.hashes.release()
	attempt, wait := s.logins.begin(key, s.clock.Now())
	if wait > 0 {
		return nil, tooManyLogins(c, wait)
	}
	u, err := s.verifyLogin(c, email, password)
	switch {
	case err == nil:
		attempt.succeeded(s.clock.Now())
	case lectern.ErrorCode(err) != lectern.EUNAUTHORIZED:
		attempt.cancelled(s.clock.Now())
	}
	return u, err
}

// verifyLogin returns the user whose email and password these are. An
// unknown email still costs one password check, so that response time
// does not tell which emails exist. The caller holds a hashing slot.
func (s *Server) verifyLogin(c echo.Context, email, password string) (*lectern.User, error) {
	u, err := s.db.FindUserByEmail(c.Request().Context(), email)
	// Accounts made by an LMS launch have no password: they log in
	// through their LMS.
	if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && u.PasswordHash == "") {
		s.hashes.run(func() { _, _ = CheckPassword(s.dummyHash, password) })
		return nil, errBadLogin()
	}
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	var ok bool
	s.hashes.run(func() { ok, err = CheckPassword(u.PasswordHash, password) })
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", u.ID, err)
	}
	if !ok {
		return nil, errBadLogin()
	}
	// Told only to whoever knows the password, so that it reveals nothing
	// to anyone else.
	if u.DeactivatedAt != nil {
		return nil, lectern.Errorf(lectern.EFORBIDDEN, lectern.DeactivatedMessage)
	}
	if only, err := s.ssoOnly(c.Request().Context(), u); err != nil || only {
		if err == nil {
			err = s.errSSOOnly()
		}
		return nil, err
	}
	return u, nil
}

// handleSessionDelete logs out: the session, if any, is deleted and the
// cookie cleared.
func (s *Server) handleSessionDelete(c echo.Context) error {
	if cookie, err := c.Cookie(sessionCookie); err == nil && cookie.Value != "" {
		if err := s.db.DeleteSession(c.Request().Context(), hashToken(cookie.Value)); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		// Live event streams opened with this session end now, not at
		// their next periodic session check.
		s.endSessionStreams(c.Request().Context(), hashToken(cookie.Value))
		s.invalidateAuth(c.Request().Context(), "c:"+credSession+hashToken(cookie.Value))
	}
	expired := s.sessionCookie("", time.Unix(0, 0))
	expired.MaxAge = -1
	c.SetCookie(expired)
	return c.NoContent(http.StatusNoContent)
}

// sessionCookie builds the session cookie: HttpOnly so scripts cannot read
// it, SameSite=Lax so other sites cannot post with it, Secure when the
// server is reached over https.
func (s *Server) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   s.secureCookies,
		SameSite: http.SameSiteLaxMode,
	}
	if value != "" {
		c.MaxAge = int(expires.Sub(s.clock.Now()).Seconds())
	}
	return c
}
