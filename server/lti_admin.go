package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Registration of LMS platforms by admins: the API, and the page that
// shows what the LMS admin must enter.

func (s *Server) registerLTIAdminRoutes(e *echo.Echo, api *echo.Group) {
	g := api.Group("/admin/lti", s.requireUser, requireAdmin)
	g.GET("/platforms", s.handleLTIPlatformList)
	g.POST("/platforms", s.handleLTIPlatformCreate)
	g.GET("/platforms/:id", s.handleLTIPlatformGet)
	g.PUT("/platforms/:id", s.handleLTIPlatformUpdate)
	g.DELETE("/platforms/:id", s.handleLTIPlatformDelete)
	g.POST("/keys/rotate", s.handleLTIKeyRotate)
	e.GET("/admin/lti", s.page(s.handleLTIAdminPage), s.pageHeaders)
}

// ltiToolJSON is what an LMS admin enters about Lectern.
type ltiToolJSON struct {
	LoginURL       string   `json:"login_url"`
	RedirectURLs   []string `json:"redirect_urls"`
	LaunchURL      string   `json:"launch_url"`
	DeepLinkingURL string   `json:"deep_linking_url"`
	JWKSURL        string   `json:"jwks_url"`
	Scopes         []string `json:"scopes"`
}

// ltiTool returns the values an LMS admin enters, from the public URL
// (or, without one, the address the request came to).
func (s *Server) ltiTool(c echo.Context) ltiToolJSON {
	base := s.publicOrigin
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	launch := base + "/lti/launch"
	return ltiToolJSON{
		LoginURL: base + "/lti/login", RedirectURLs: []string{launch}, LaunchURL: launch,
		DeepLinkingURL: launch, JWKSURL: base + "/lti/jwks",
		Scopes: []string{ltiScopeNRPS, ltiScopeLineItem, ltiScopeScore},
	}
}

// The scopes an LMS admin grants Lectern (shown on the admin page).
const (
	ltiScopeNRPS     = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
	ltiScopeLineItem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	ltiScopeScore    = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
)

type ltiPlatformRequest struct {
	Name          string   `json:"name"`
	Issuer        string   `json:"issuer"`
	ClientID      string   `json:"client_id"`
	AuthLoginURL  string   `json:"auth_login_url"`
	TokenURL      string   `json:"token_url"`
	JWKSURL       string   `json:"jwks_url"`
	DeploymentIDs []string `json:"deployment_ids"`
	AdminRole     string   `json:"admin_role"`
}

// maxLTIField bounds the registration's text fields.
const maxLTIField = 2000

// platform checks the request and returns the registration it asks for.
func (r *ltiPlatformRequest) platform() (*lectern.LTIPlatform, error) {
	p := &lectern.LTIPlatform{AdminRole: lectern.Role(strings.TrimSpace(r.AdminRole))}
	var err error
	if p.Name, err = validateText("name", r.Name, 0, maxTitleLen); err != nil {
		return nil, err
	}
	if p.Issuer, err = validateText("issuer", r.Issuer, 1, maxLTIField); err != nil {
		return nil, err
	}
	if p.ClientID, err = validateText("client_id", r.ClientID, 1, maxLTIField); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		in   string
		out  *string
	}{{"auth_login_url", r.AuthLoginURL, &p.AuthLoginURL}, {"token_url", r.TokenURL, &p.TokenURL}, {"jwks_url", r.JWKSURL, &p.JWKSURL}} {
		if *f.out, err = validateHTTPURL(f.name, f.in); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, d := range r.DeploymentIDs {
		d = strings.TrimSpace(d)
		if d == "" || seen[d] {
			continue
		}
		if len(d) > maxLTIField {
			return nil, lectern.Errorf(lectern.EINVALID, "a deployment ID must be at most %d characters", maxLTIField)
		}
		seen[d] = true
		p.Deployments = append(p.Deployments, d)
	}
	if len(p.Deployments) == 0 {
		return nil, lectern.Errorf(lectern.EINVALID, "at least one deployment ID is required: the LMS shows it when the tool is deployed")
	}
	switch p.AdminRole {
	case "":
		p.AdminRole = lectern.RoleTeacher
	case lectern.RoleAdmin, lectern.RoleTeacher, lectern.RoleStudent:
	default:
		return nil, lectern.Errorf(lectern.EINVALID, "admin_role must be admin, teacher or student")
	}
	return p, nil
}

// validateHTTPURL checks that raw is an absolute http or https URL.
func validateHTTPURL(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > maxLTIField {
		return "", lectern.Errorf(lectern.EINVALID, "%s must be an absolute https URL", field)
	}
	return raw, nil
}

type ltiPlatformListResponse struct {
	Tool      ltiToolJSON            `json:"tool"`
	Platforms []*lectern.LTIPlatform `json:"platforms"`
}

func (s *Server) handleLTIPlatformList(c echo.Context) error {
	ps, err := s.db.FindLTIPlatforms(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ltiPlatformListResponse{Tool: s.ltiTool(c), Platforms: ps})
}

func (s *Server) handleLTIPlatformCreate(c echo.Context) error {
	var req ltiPlatformRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, err := req.platform()
	if err != nil {
		return err
	}
	if err := s.db.CreateLTIPlatform(c.Request().Context(), p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

// ltiPlatformDetail is one registration with what Lectern saw of it.
type ltiPlatformDetail struct {
	*lectern.LTIPlatform
	Tool     ltiToolJSON                `json:"tool"`
	Launches []*lectern.LTILaunchRecord `json:"launches"`
	Failed   []*lectern.LTIScore        `json:"failed_scores"`
	Contexts []*db.LTIContextRow        `json:"contexts"`
}

func (s *Server) handleLTIPlatformGet(c echo.Context) error {
	d, err := s.ltiPlatformDetail(c, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) ltiPlatformDetail(c echo.Context, id string) (*ltiPlatformDetail, error) {
	ctx := c.Request().Context()
	p, err := s.db.FindLTIPlatform(ctx, id)
	if err != nil {
		return nil, err
	}
	launches, err := s.db.FindLTILaunches(ctx, p.ID, ltiLaunchesShown)
	if err != nil {
		return nil, err
	}
	failed, err := s.db.FindFailedLTIScores(ctx, p.ID, ltiLaunchesShown)
	if err != nil {
		return nil, err
	}
	contexts, err := s.db.FindLTIPlatformContexts(ctx, p.ID, ltiLaunchesShown)
	if err != nil {
		return nil, err
	}
	return &ltiPlatformDetail{LTIPlatform: p, Tool: s.ltiTool(c), Launches: launches, Failed: failed, Contexts: contexts}, nil
}

// ltiLaunchesShown is how many launches and failed scores the admin sees.
const ltiLaunchesShown = 50

func (s *Server) handleLTIPlatformUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	old, err := s.db.FindLTIPlatform(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var req ltiPlatformRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, err := req.platform()
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt = old.ID, old.CreatedAt
	if err := s.db.UpdateLTIPlatform(ctx, p); err != nil {
		return err
	}
	s.lti.keySets.Forget(old.JWKSURL)
	return c.JSON(http.StatusOK, p)
}

func (s *Server) handleLTIPlatformDelete(c echo.Context) error {
	if err := s.db.DeleteLTIPlatform(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type ltiKeysResponse struct {
	CurrentKeyID string   `json:"current_kid"`
	Published    []string `json:"published_kids"`
}

// handleLTIKeyRotate makes a new signing key current; the previous one
// stays in the JWKS until what it signed has expired.
func (s *Server) handleLTIKeyRotate(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.addLTIKey(ctx, true); err != nil {
		return err
	}
	ring, err := s.ltiKeyRing(ctx)
	if err != nil {
		return err
	}
	resp := ltiKeysResponse{CurrentKeyID: currentKID(ring), Published: []string{}}
	for _, k := range ring {
		if k.Published(s.clock.Now()) {
			resp.Published = append(resp.Published, k.ID)
		}
	}
	return c.JSON(http.StatusOK, resp)
}

// handleLTIAdminPage lists the registered platforms, with the values an
// LMS admin enters and each platform's last launches and failed scores;
// admin_lti.js registers and edits them through the API.
func (s *Server) handleLTIAdminPage(c echo.Context, u *lectern.User) error {
	if !u.IsAdmin() {
		return lectern.Errorf(lectern.ENOTFOUND, "not found")
	}
	ps, err := s.db.FindLTIPlatforms(c.Request().Context())
	if err != nil {
		return fmt.Errorf("find lti platforms: %w", err)
	}
	details := make([]*ltiPlatformDetail, 0, len(ps))
	for _, p := range ps {
		d, err := s.ltiPlatformDetail(c, p.ID)
		if err != nil {
			return err
		}
		details = append(details, d)
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "admin_lti", Title: "LMS (LTI)", User: u, Nav: "admin", Script: "js/admin_lti.js", Wide: true,
		View: struct {
			Tool      ltiToolJSON
			Platforms []*ltiPlatformDetail
		}{s.ltiTool(c), details},
	})
}
