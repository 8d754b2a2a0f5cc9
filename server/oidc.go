package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/lectern/lectern"
)

// Single sign-on with the school's identity provider over OpenID Connect
// (authorization code flow with PKCE, state and nonce).
//
// /auth/oidc/login sends the browser to the provider with a fresh state,
// nonce and PKCE verifier, which it keeps in a short-lived cookie signed
// with the server's secret and named after the state, so that the answer
// is taken only in the browser that started the login, and two logins
// under way in one browser do not overwrite each other (as the LTI login
// does, lti_login.go). /auth/oidc/callback takes the provider's answer:
// it exchanges the code with the verifier, checks the id_token (signature,
// issuer, audience, expiry, nonce), finds or makes the user, and opens a
// session.
//
// A provider account (issuer, subject) is linked to one Lectern user
// (db/oidc.go). On its first login Lectern links it to the existing
// account with the same email only when the provider vouches for the
// address: email_verified is true, or the address comes from the claim
// the admin named (OIDCOptions.EmailClaim). Otherwise it creates the user.

// OIDCOptions configure single sign-on; a nil *OIDCOptions turns it off.
type OIDCOptions struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// at the first login.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback URL registered at the provider; empty
	// means the public URL (or the request's origin) + OIDCCallbackPath.
	RedirectURL string
	// Scopes asked for; empty means openid, email and profile.
	Scopes []string
	// EmailClaim names a claim whose value is the user's email address,
	// trusted as the provider's word (e.g. Azure's upn or
	// preferred_username); empty means the email claim, trusted only with
	// email_verified true.
	EmailClaim string
	// TeacherClaim and TeacherValue: a user whose claim TeacherClaim is
	// (or, for a list, contains) TeacherValue becomes a teacher. Admins
	// and teachers are never made students.
	TeacherClaim string
	TeacherValue string
	// ButtonLabel names the provider on the login page: "Log in with
	// <ButtonLabel>".
	ButtonLabel string
	// DisableLocalPasswords refuses password logins and password resets
	// of users linked to the provider: they log in with single sign-on.
	DisableLocalPasswords bool
}

// Paths of the single sign-on routes.
const (
	OIDCLoginPath    = "/auth/oidc/login"
	OIDCCallbackPath = "/auth/oidc/callback"
)

const (
	// oidcLoginLifetime is how long a login at the provider may take.
	oidcLoginLifetime = 10 * time.Minute
	// oidcCookiePrefix names a login's cookie; the rest is taken from the
	// state's hash.
	oidcCookiePrefix = "lectern_oidc_"
	// oidcProviderTimeout bounds each call Lectern makes to the provider.
	oidcProviderTimeout = 15 * time.Second
)

// oidcSSO is the single sign-on of a server: its options and, once
// discovered, the provider.
type oidcSSO struct {
	opts   OIDCOptions
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCSSO(opts *OIDCOptions) (*oidcSSO, error) {
	if opts == nil {
		return nil, nil
	}
	o := *opts
	if o.Issuer == "" || o.ClientID == "" {
		return nil, errors.New("server: OIDCOptions need an Issuer and a ClientID")
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if o.ButtonLabel == "" {
		o.ButtonLabel = "single sign-on"
	}
	return &oidcSSO{opts: o, client: &http.Client{Timeout: oidcProviderTimeout}}, nil
}

// discover returns the provider, reading its discovery document the
// first time it is needed (so that Lectern starts while the provider is
// down, and offers single sign-on once it is back).
func (o *oidcSSO) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	// The provider keeps this context to fetch its signing keys later: it
	// must outlive the request.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), o.client)
	p, err := oidc.NewProvider(pctx, o.opts.Issuer)
	if err != nil {
		return nil, err
	}
	o.provider = p
	return p, nil
}

func (s *Server) registerOIDCRoutes(e *echo.Echo) {
	e.GET(OIDCLoginPath, s.ssoOn(s.handleOIDCLogin), s.pageHeaders)
	e.GET(OIDCCallbackPath, s.ssoOn(s.handleOIDCCallback), s.pageHeaders)
}

// ssoOn answers 404 with a page while single sign-on is off.
func (s *Server) ssoOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.sso == nil {
			return s.render(c, http.StatusNotFound, pageView{Name: "error", Title: "No single sign-on",
				View: errorView{Heading: "No single sign-on", Message: "This Lectern does not offer single sign-on. Log in with your email and password.",
					BackURL: "/login", BackLabel: "Back to the login page"}})
		}
		return next(c)
	}
}

// oidcConfig is the OAuth 2 client of a login.
func (s *Server) oidcConfig(c echo.Context, p *oidc.Provider) *oauth2.Config {
	redirect := s.sso.opts.RedirectURL
	if redirect == "" {
		redirect = s.ltiBase(c) + OIDCCallbackPath
	}
	return &oauth2.Config{ClientID: s.sso.opts.ClientID, ClientSecret: s.sso.opts.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: s.sso.opts.Scopes}
}

// oidcLogin is what a login's cookie carries to the callback.
type oidcLogin struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next,omitempty"`
	Expires  int64  `json:"exp"`
}

// handleOIDCLogin sends the browser to the provider.
func (s *Server) handleOIDCLogin(c echo.Context) error {
	p, err := s.sso.discover(c.Request().Context())
	if err != nil {
		return s.oidcRefuse(c, http.StatusBadGateway, "Single sign-on is not available", err,
			fmt.Sprintf("Lectern cannot reach %s right now. Try again in a moment, or ask your Lectern admin.", s.sso.opts.ButtonLabel))
	}
	now := s.clock.Now()
	l := oidcLogin{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(c.QueryParam("next")), Expires: now.Add(oidcLoginLifetime).Unix()}
	c.SetCookie(s.oidcCookie(l.State, s.sealOIDCLogin(l), now.Add(oidcLoginLifetime)))
	url := s.oidcConfig(c, p).AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier))
	return c.Redirect(http.StatusSeeOther, url)
}

func oidcCookieName(state string) string { return oidcCookiePrefix + hashToken(state)[:16] }

func (s *Server) oidcCookie(state, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: oidcCookieName(state), Value: value, Path: "/auth/oidc/", Expires: expires,
		MaxAge: int(oidcLoginLifetime.Seconds()), HttpOnly: true, Secure: s.secureCookies,
		// The provider sends the browser back with a top-level GET, which
		// carries Lax cookies.
		SameSite: http.SameSiteLaxMode}
	if value == "" {
		ck.MaxAge = -1
	}
	return ck
}

// sealOIDCLogin signs l for its cookie; openOIDCLogin checks the
// signature and the expiry.
func (s *Server) sealOIDCLogin(l oidcLogin) string {
	body, _ := json.Marshal(l)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + s.oidcSig(payload)
}

func (s *Server) oidcSig(payload string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("oidc login\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) openOIDCLogin(value string) (oidcLogin, bool) {
	var l oidcLogin
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.oidcSig(payload))) {
		return l, false
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &l) != nil {
		return l, false
	}
	return l, s.clock.Now().Unix() <= l.Expires
}

// handleOIDCCallback takes the provider's answer.
func (s *Server) handleOIDCCallback(c echo.Context) error {
	q := c.QueryParams()
	state := q.Get("state")
	var login oidcLogin
	ok := false
	if state != "" {
		if ck, err := c.Cookie(oidcCookieName(state)); err == nil {
			login, ok = s.openOIDCLogin(ck.Value)
			ok = ok && hmac.Equal([]byte(login.State), []byte(state))
		}
		// A login's cookie works once.
		c.SetCookie(s.oidcCookie(state, "", time.Unix(0, 0)))
	}
	label := s.sso.opts.ButtonLabel
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return s.oidcRefuse(c, http.StatusForbidden, "You did not log in", nil,
				fmt.Sprintf("%s did not let you into Lectern (you, or your school, turned the request down). Go back to the login page to try again.", label))
		}
		return s.oidcRefuse(c, http.StatusBadGateway, "Single sign-on did not work", fmt.Errorf("provider error %s: %s", e, q.Get("error_description")),
			fmt.Sprintf("%s answered with an error (%s %s). Go back to the login page to try again, or ask your Lectern admin.", label, e, q.Get("error_description")))
	}
	if !ok {
		return s.oidcRefuse(c, http.StatusBadRequest, "This login has expired", nil,
			"This login is too old, was used already, or was not started in this browser. Go back to the login page and log in again.")
	}
	ctx := c.Request().Context()
	p, err := s.sso.discover(ctx)
	if err != nil {
		return s.oidcRefuse(c, http.StatusBadGateway, "Single sign-on is not available", err,
			fmt.Sprintf("Lectern cannot reach %s right now. Try again in a moment.", label))
	}
	pctx := oidc.ClientContext(ctx, s.sso.client)
	tok, err := s.oidcConfig(c, p).Exchange(pctx, q.Get("code"), oauth2.VerifierOption(login.Verifier))
	if err != nil {
		return s.oidcRefuse(c, http.StatusBadGateway, "Single sign-on did not work", fmt.Errorf("exchange code: %w", err),
			fmt.Sprintf("%s did not accept this login's code (it may have been used already). Go back to the login page and log in again.", label))
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.VerifierContext(pctx, &oidc.Config{ClientID: s.sso.opts.ClientID, Now: s.clock.Now}).Verify(pctx, raw)
	if err == nil && !hmac.Equal([]byte(idt.Nonce), []byte(login.Nonce)) {
		err = errors.New("id_token nonce does not match the login's")
	}
	if err != nil {
		return s.oidcRefuse(c, http.StatusBadGateway, "Single sign-on did not work", fmt.Errorf("verify id_token: %w", err),
			fmt.Sprintf("The answer from %s did not pass Lectern's checks. Go back to the login page and log in again; if it happens again, tell your Lectern admin.", label))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return fmt.Errorf("id_token claims: %w", err)
	}
	// Providers that keep the profile out of the id_token give it at
	// their userinfo endpoint; what the id_token says comes first.
	if p.UserInfoEndpoint() != "" {
		if ui, err := p.UserInfo(pctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			more := map[string]any{}
			if ui.Claims(&more) == nil {
				for k, v := range more {
					if _, set := claims[k]; !set {
						claims[k] = v
					}
				}
			}
		}
	}
	u, err := s.oidcUser(ctx, idt.Issuer, idt.Subject, claims)
	if err != nil {
		var r *oidcRefusal
		if errors.As(err, &r) {
			return s.oidcRefuse(c, http.StatusForbidden, r.heading, nil, r.message)
		}
		return err
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	next := login.Next
	if next == "" {
		next = homeFor(u)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// oidcRefusal is a login Lectern turns down, in words for the user.
type oidcRefusal struct{ heading, message string }

func (r *oidcRefusal) Error() string { return r.heading + ": " + r.message }

// oidcUser finds or makes the user of the provider account (issuer,
// subject) and gives them the teacher role when the teacher claim says
// so.
func (s *Server) oidcUser(ctx context.Context, issuer, subject string, claims map[string]any) (*lectern.User, error) {
	u, err := s.db.FindUserByOIDC(ctx, issuer, subject)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		u, err = s.oidcFirstLogin(ctx, issuer, subject, claims)
	}
	if err != nil {
		return nil, err
	}
	if u.DeactivatedAt != nil {
		return nil, &oidcRefusal{"Account deactivated", lectern.DeactivatedMessage}
	}
	if u.Role == lectern.RoleStudent && s.oidcTeacher(claims) {
		if _, err := s.db.PromoteToTeacher(ctx, u.ID); err != nil {
			return nil, err
		}
		u.Role = lectern.RoleTeacher
		s.invalidateAuth(ctx, "u:"+u.ID)
	}
	return u, nil
}

// oidcFirstLogin links the provider account to the user with its
// vouched-for email address, or creates that user.
func (s *Server) oidcFirstLogin(ctx context.Context, issuer, subject string, claims map[string]any) (*lectern.User, error) {
	label := s.sso.opts.ButtonLabel
	email, verified := s.oidcEmail(claims)
	if email == "" {
		return nil, &oidcRefusal{"Lectern cannot make your account", fmt.Sprintf(
			"Your account at %s does not tell Lectern your email address, which Lectern needs. Ask your Lectern admin.", label)}
	}
	if _, err := normalizeEmail(email); err != nil {
		return nil, &oidcRefusal{"Lectern cannot make your account", fmt.Sprintf(
			"Your account at %s gives %q as your email address, which is not one. Ask your Lectern admin.", label, email)}
	}
	existing, err := s.db.FindUserByEmail(ctx, email)
	if err != nil && lectern.ErrorCode(err) != lectern.ENOTFOUND {
		return nil, err
	}
	if !verified {
		if existing != nil {
			return nil, &oidcRefusal{"Lectern cannot link your account", fmt.Sprintf(
				"Lectern has an account for %s, but %s did not confirm that this address is yours, so Lectern will not let you into it. Ask your Lectern admin.", email, label)}
		}
		return nil, &oidcRefusal{"Lectern cannot make your account", fmt.Sprintf(
			"%s did not confirm that %s is your address, so Lectern will not make an account for it. Confirm the address with your school, or ask your Lectern admin.", label, email)}
	}
	if existing != nil {
		if err := s.db.LinkOIDC(ctx, issuer, subject, existing.ID); err != nil {
			return nil, err
		}
		s.logger.InfoContext(ctx, "single sign-on linked to an existing account", slog.String("user", existing.ID), slog.String("issuer", issuer))
		return existing, nil
	}
	role := lectern.RoleStudent
	if s.oidcTeacher(claims) {
		role = lectern.RoleTeacher
	}
	name, _ := claims["name"].(string)
	if strings.TrimSpace(name) == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	u := &lectern.User{Email: email, Name: strings.TrimSpace(name), Role: role}
	if err := s.db.CreateOIDCUser(ctx, u, issuer, subject); err != nil {
		return nil, err
	}
	return u, nil
}

// oidcEmail returns the email address the claims give and whether the
// provider vouches for it.
func (s *Server) oidcEmail(claims map[string]any) (string, bool) {
	if name := s.sso.opts.EmailClaim; name != "" && name != "email" {
		v, _ := claims[name].(string)
		return strings.TrimSpace(v), true
	}
	v, _ := claims["email"].(string)
	return strings.TrimSpace(v), claimIs(claims["email_verified"], "true")
}

// oidcTeacher reports whether the claims make the user a teacher.
func (s *Server) oidcTeacher(claims map[string]any) bool {
	o := s.sso.opts
	return o.TeacherClaim != "" && claimIs(claims[o.TeacherClaim], o.TeacherValue)
}

// claimIs reports whether a claim's value is want, or a list holding it.
func claimIs(v any, want string) bool {
	switch v := v.(type) {
	case string:
		return v == want
	case bool:
		return fmt.Sprint(v) == want
	case float64:
		return fmt.Sprint(v) == want
	case []any:
		for _, e := range v {
			if claimIs(e, want) {
				return true
			}
		}
	}
	return false
}

// oidcRefuse shows why a login did not work. cause, when set, is logged
// for the admin; the page says what to do.
func (s *Server) oidcRefuse(c echo.Context, status int, heading string, cause error, message string) error {
	if cause != nil {
		s.logger.WarnContext(c.Request().Context(), "single sign-on failed", slog.Any("error", cause))
	}
	return s.render(c, status, pageView{Name: "error", Title: heading,
		View: errorView{Heading: heading, Message: message, BackURL: "/login", BackLabel: "Back to the login page"}})
}

// ssoOnly reports whether u must log in with single sign-on: local
// passwords are off for users linked to the provider.
func (s *Server) ssoOnly(ctx context.Context, u *lectern.User) (bool, error) {
	if s.sso == nil || !s.sso.opts.DisableLocalPasswords {
		return false, nil
	}
	return s.db.HasOIDCIdentity(ctx, u.ID)
}

// errSSOOnly refuses a password login of a user who logs in with single
// sign-on.
func (s *Server) errSSOOnly() error {
	return lectern.Errorf(lectern.EFORBIDDEN, "this account logs in with %s: use the “Log in with %s” button", s.sso.opts.ButtonLabel, s.sso.opts.ButtonLabel)
}
