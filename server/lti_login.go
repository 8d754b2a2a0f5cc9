package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/lti"
)

// The OIDC third-party-initiated login (LTI 1.3 Core 5.1.1): the
// platform sends the browser to /lti/login; Lectern remembers a state and
// a nonce and sends the browser on to the platform's authentication
// endpoint, which posts the signed id_token back to /lti/launch.
//
// The launch must come back to the browser that started the login
// (otherwise someone could have a victim's browser post the attacker's
// own launch). Lectern proves it two ways: a cookie holding the state,
// when the browser keeps cookies for Lectern inside the LMS's page; and,
// when the platform offers it (lti_storage_target), LTI client-side
// postMessage storage: the login page stores the state in the LMS's
// window, and the launch page reads it back from there (lti.js).

const (
	// ltiLoginLifetime is how long a login may take to come back.
	ltiLoginLifetime = 10 * time.Minute
	// ltiStateCookiePrefix names the cookie of one login's state; the
	// rest of the name is taken from the state's hash, so that two
	// launches under way in one browser do not overwrite each other.
	ltiStateCookiePrefix = "lectern_lti_"
)

// ltiHeaders sets the security headers of the pages the LTI routes
// render. They are embedded in the LMS's page, so they may be framed;
// they are only ever shown in answer to a launch the platform signed for
// this browser, so framing them gains an attacker nothing. Forms may go
// to formTargets (the platform's endpoints) as well as to Lectern.
func ltiHeaders(c echo.Context, formTargets ...string) {
	hdr := c.Response().Header()
	policy := strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors *", 1)
	if len(formTargets) > 0 {
		policy = strings.Replace(policy, "form-action 'self'", "form-action 'self' "+strings.Join(formTargets, " "), 1)
	}
	hdr.Set("Content-Security-Policy", policy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Del("X-Frame-Options")
}

// origin returns the scheme and host of raw, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// ltiBase is the origin launches must target: the public URL's, or the
// one the request came to.
func (s *Server) ltiBase(c echo.Context) string {
	if s.publicOrigin != "" {
		return s.publicOrigin
	}
	return c.Scheme() + "://" + c.Request().Host
}

// ltiLoginView is what the login page needs to send the browser on.
type ltiLoginView struct {
	AuthURL        string
	Params         url.Values
	StorageTarget  string
	PlatformOrigin string
	State, Nonce   string
}

// handleLTILogin starts the login of a launch.
func (s *Server) handleLTILogin(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := c.FormParams()
	if err != nil {
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonMalformed, "The LMS sent a login request Lectern cannot read."))
	}
	iss, hint, target := q.Get("iss"), q.Get("login_hint"), q.Get("target_link_uri")
	if iss == "" || hint == "" || target == "" {
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonMissingClaim,
			"The LMS's login request lacks iss, login_hint or target_link_uri, which LTI 1.3 requires."))
	}
	p, err := s.db.FindLTIPlatformByIssuer(ctx, iss, q.Get("client_id"))
	switch lectern.ErrorCode(err) {
	case "":
	case lectern.ENOTFOUND:
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonPlatform,
			"This LMS (issuer %q, client ID %q) is not registered in Lectern. Ask your Lectern admin to register it.", iss, q.Get("client_id")))
	case lectern.EINVALID:
		return s.ltiRefuse(c, nil, nil, lti.Refuse(lti.ReasonPlatform,
			"Several registrations in Lectern share the issuer %q, and the LMS did not say which one this is (client_id).", iss))
	default:
		return err
	}
	if origin(target) != s.ltiBase(c) {
		return s.ltiRefuse(c, p, nil, lti.Refuse(lti.ReasonTarget,
			"The LMS asked to launch %q, which is not this Lectern (%s). Check the tool's URLs in the LMS.", target, s.ltiBase(c)))
	}
	if d := q.Get("lti_deployment_id"); d != "" && !slices.Contains(p.Deployments, d) {
		return s.ltiRefuse(c, p, nil, lti.Refuse(lti.ReasonDeployment,
			"The LMS's deployment %q is not registered in Lectern. Ask your Lectern admin to add it to this platform.", d))
	}
	state, nonce := randomToken(), randomToken()
	now := s.clock.Now()
	login := &lectern.LTILogin{StateHash: hashToken(state), PlatformID: p.ID, Nonce: nonce, Params: q.Encode(),
		StorageTarget: q.Get("lti_storage_target"), CreatedAt: now, ExpiresAt: now.Add(ltiLoginLifetime)}
	if err := s.db.CreateLTILogin(ctx, login); err != nil {
		return fmt.Errorf("create lti login: %w", err)
	}
	c.SetCookie(s.ltiStateCookie(state, login.ExpiresAt))
	params := url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
		"client_id": {p.ClientID}, "redirect_uri": {s.ltiBase(c) + "/lti/launch"}, "login_hint": {hint},
		"state": {state}, "nonce": {nonce},
	}
	if mh := q.Get("lti_message_hint"); mh != "" {
		params.Set("lti_message_hint", mh)
	}
	ltiHeaders(c, origin(p.AuthLoginURL))
	return s.render(c, http.StatusOK, pageView{Name: "lti_login", Title: "Opening Lectern", Script: "js/lti.js",
		View: ltiLoginView{AuthURL: p.AuthLoginURL, Params: params, StorageTarget: login.StorageTarget,
			PlatformOrigin: origin(p.AuthLoginURL), State: state, Nonce: nonce}})
}

// ltiStateCookie holds a login's state until the launch comes back.
// Inside an LMS's iframe Lectern is a third party: the cookie is
// SameSite=None and Partitioned (CHIPS, which browsers keep where they
// block other third-party cookies), which needs https; over plain http
// (development) it is Lax and works only in a top-level window.
func (s *Server) ltiStateCookie(state string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name: ltiStateCookieName(state), Value: state, Path: "/lti/", Expires: expires,
		MaxAge: int(ltiLoginLifetime.Seconds()), HttpOnly: true,
	}
	s.thirdPartyCookie(ck)
	return ck
}

func ltiStateCookieName(state string) string { return ltiStateCookiePrefix + hashToken(state)[:16] }

// thirdPartyCookie makes ck work inside an LMS's iframe where the
// browser allows it (see ltiStateCookie).
func (s *Server) thirdPartyCookie(ck *http.Cookie) {
	if s.secureCookies {
		ck.Secure, ck.SameSite, ck.Partitioned = true, http.SameSiteNoneMode, true
	} else {
		ck.SameSite = http.SameSiteLaxMode
	}
}
