package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

const (
	// sessionCookie names the browser session cookie.
	sessionCookie = "lectern_session"
	// apiTokenPrefix marks API tokens so that they are recognisable in
	// logs, configs and secret scanners.
	apiTokenPrefix = "lct_"
	// userKey is where requireUser stores the authenticated user in the
	// Echo context.
	userKey = "lectern.user"
	// launchTokenHeader carries the session token of an LTI launch from
	// pages inside an LMS's iframe, where the browser may block the
	// session cookie (lti_launch.go). Only a script of the page can set
	// it, so it is no more open to cross-site requests than a bearer token.
	launchTokenHeader = "X-Lectern-Launch"
)

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what the database stores for a session cookie or API
// token: the hex SHA-256 of the secret. The secrets are 256-bit random, so
// a fast hash is enough.
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// requireUser authenticates the request by its bearer token or session
// cookie and stores the user for currentUser. No credentials, or unknown
// or expired ones, are 401.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.authenticate(c)
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		if err := s.refuseArchivedWrite(c, u); err != nil {
			return err
		}
		return next(c)
	}
}

func (s *Server) authenticate(c echo.Context) (*lectern.User, error) {
	ctx := c.Request().Context()
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return nil, lectern.Errorf(lectern.EUNAUTHORIZED, "authorization header must be \"Bearer <token>\"")
		}
		hash := hashToken(token)
		u, err := s.credentialUser(ctx, credToken, hash, s.db.FindAPITokenCredential)
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return nil, lectern.Errorf(lectern.EUNAUTHORIZED, "invalid, expired or revoked API token")
		}
		if err != nil {
			return nil, fmt.Errorf("find user by api token: %w", err)
		}
		// Recorded in the background, at most once a minute: a read
		// must not wait for the database's writer.
		s.tokenUses.Note(hash)
		return u, nil
	}
	secret := c.Request().Header.Get(launchTokenHeader)
	if secret == "" {
		cookie, err := c.Cookie(sessionCookie)
		if err != nil || cookie.Value == "" {
			return nil, lectern.Errorf(lectern.EUNAUTHORIZED, "authentication required")
		}
		secret = cookie.Value
	}
	hash := hashToken(secret)
	u, err := s.credentialUser(ctx, credSession, hash, s.db.FindSessionCredential)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil, lectern.Errorf(lectern.EUNAUTHORIZED, "session expired or invalid; log in again")
	}
	if err != nil {
		return nil, fmt.Errorf("find user by session: %w", err)
	}
	// Its last_seen_at, like a token's last use: in the background.
	s.tokenUses.NoteSession(hash)
	return u, nil
}

// currentUser returns the user requireUser authenticated. It is only
// called from handlers registered behind requireUser.
func currentUser(c echo.Context) *lectern.User {
	u, _ := c.Get(userKey).(*lectern.User)
	return u
}

// requireAdmin refuses non-admins with 403. It runs after requireUser.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !currentUser(c).IsAdmin() {
			return lectern.Errorf(lectern.EFORBIDDEN, "only admins may do this")
		}
		return next(c)
	}
}
