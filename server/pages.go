package server

// Pages for people: server-rendered HTML from the player package's
// templates, each with a small script that talks to the JSON API for
// anything that changes state. Handlers here only read; the API stays the
// one place where rules about writes live.

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/player"
)

// contentSecurityPolicy allows only what the pages need: their own
// scripts, styles and media, blob: for hls.js's MediaSource and worker,
// data: for small inline images and for the empty "data:,WEBVTT" <track>
// hls.js adds for each subtitle track (then fills with cues), and no
// framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// webApp is what the pages need: the parsed templates and the static files.
type webApp struct {
	pages  *player.Pages
	static http.Handler
}

func newWebApp() (*webApp, error) {
	pages, err := player.NewPages()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	static := http.StripPrefix("/static/", http.FileServerFS(player.Static()))
	return &webApp{pages: pages, static: static}, nil
}

// pageView is what every page template receives.
type pageView struct {
	// Name is the template, also used as the body's class.
	Name  string
	Title string
	User  *lectern.User
	// Counts are the navigation's badges (open questions, unread
	// answers) and whether it offers the inbox; render fills them in.
	Counts *lectern.InboxCounts
	Nav    string
	Script string
	// Vendor lists classic scripts (the vendored libraries) that run
	// before Script.
	Vendor []string
	Wide   bool
	Crumbs []crumb
	// View is the page's own data for the template.
	View any
	// Data is handed to the page's script as JSON in a non-executed
	// <script type="application/json"> block.
	Data any
	// LaunchToken is the session token of an LTI launch, for pages shown
	// inside an LMS's iframe where the session cookie may be blocked
	// (lti_launch.go); render fills it in.
	LaunchToken string
}

// crumb is one step of a page's breadcrumbs; the last has no URL.
type crumb struct {
	Label string
	URL   string
}

func (s *Server) registerPageRoutes(e *echo.Echo) {
	h := s.pageHeaders
	e.GET("/", s.handleHome, h)
	e.GET("/login", s.handleLoginPage, h)
	e.GET("/courses", s.page(s.handleCoursesPage), h)
	e.GET("/courses/:id", s.page(s.handleCoursePage), h)
	e.GET("/join/:code", s.page(s.handleJoinPage), h)
	e.GET("/lessons/:id/upload", s.page(s.handleUploadPage), h)
	e.GET("/watch/:id", s.page(s.handleWatchPage), h)
	e.GET("/lessons/:id/analytics", s.page(s.handleAnalyticsPage), h)
	e.GET("/lessons/:id/captions", s.page(s.handleCaptionsPage), h)
	e.GET("/inbox", s.page(s.handleInboxPage), h)
	e.GET("/search", s.page(s.handleSearchPage), h)
	e.GET("/admin", s.page(s.handleAdminUsersPage), h)
	e.GET("/admin/jobs", s.page(s.handleAdminJobsPage), h)
	e.GET("/admin/users/:id", s.page(s.handleAdminUserPage), h)
	e.GET("/static/*", s.handleStatic, h)
}

// pageHeaders sets the security headers of every page and static file.
func (s *Server) pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hdr := c.Response().Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

// handleStatic serves the embedded static files. A URL carrying the
// current version is cached for good; any other is revalidated.
func (s *Server) handleStatic(c echo.Context) error {
	cache := "no-cache"
	if c.QueryParam("v") == s.web.pages.Version() {
		cache = "public, max-age=31536000, immutable"
	}
	c.Response().Header().Set("Cache-Control", cache)
	s.web.static.ServeHTTP(c.Response(), c.Request())
	return nil
}

// pageHandler is a page that needs a logged-in user.
type pageHandler func(c echo.Context, u *lectern.User) error

// page authenticates a page request: without a valid session the browser
// goes to the login page and comes back afterwards. Errors become an HTML
// error page rather than the API's JSON.
func (s *Server) page(h pageHandler) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.authenticate(c)
		if lectern.ErrorCode(err) == lectern.EUNAUTHORIZED {
			return c.Redirect(http.StatusSeeOther, loginURL(c.Request().URL))
		}
		if err == nil {
			err = h(c, u)
		}
		if err != nil {
			return s.renderError(c, u, err)
		}
		return nil
	}
}

// loginURL is the login page, coming back to u afterwards.
func loginURL(u *url.URL) string {
	return "/login?next=" + url.QueryEscape(u.RequestURI())
}

// safeNext keeps a post-login destination only when it is a path on this
// site, so the login page cannot be used to send people elsewhere; it
// returns "" for anything else. Browsers drop tabs and newlines from URLs
// and read a backslash as a slash, so "/\t/evil.example" and
// "/\\evil.example" would leave the site: control characters, encoded or
// not, are refused outright.
func safeNext(next string) string {
	// The value is checked once as given and once decoded again, in case
	// something on the way (a proxy, a second redirect) decodes it twice.
	decoded, err := url.PathUnescape(next)
	if err != nil || !sitePath(next) || !sitePath(decoded) {
		return ""
	}
	return next
}

// sitePath reports whether p is a path on this site, as a browser reads it.
func sitePath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == ""
}

// homeFor is where someone lands after logging in when no page asked for
// them: admins on the admin page, everyone else on their courses.
func homeFor(u *lectern.User) string {
	if u.IsAdmin() {
		return "/admin"
	}
	return "/courses"
}

// render writes a page. Pages show personal data, so no cache keeps them.
func (s *Server) render(c echo.Context, status int, v pageView) error {
	if v.User != nil && v.Counts == nil {
		counts, err := s.db.FindInboxCounts(c.Request().Context(), v.User)
		if err != nil {
			// The page is still worth showing; its script fetches them again.
			s.logger.WarnContext(c.Request().Context(), "navigation counts", slog.Any("error", err))
		}
		v.Counts = counts
	}
	if tok, ok := c.Get(launchTokenKey).(string); ok {
		v.LaunchToken = tok
	}
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	hdr.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(status)
	return s.web.pages.Render(c.Response(), v.Name, v)
}

// renderError shows err as an HTML page with the matching status; only
// internal errors are logged, and their details never reach the page.
func (s *Server) renderError(c echo.Context, u *lectern.User, err error) error {
	err = publicError(err)
	code := lectern.ErrorCode(err)
	var he *echo.HTTPError
	if errors.As(err, &he) && code == lectern.EINTERNAL {
		_, code, _ = fromEchoError(he)
	}
	if unavailable(err) != nil {
		code = lectern.EUNAVAILABLE
		setRetryAfter(c, unavailableRetryAfter)
	}
	status := statusOf(code)
	view := errorView{Heading: "Something went wrong", Message: "The page could not be shown. Please try again in a moment."}
	switch code {
	case lectern.EUNAVAILABLE:
		view = errorView{Heading: "Lectern is busy", Message: unavailableMessage}
	case lectern.ENOTFOUND:
		view = errorView{Heading: "Not found", Message: "This page does not exist, or you do not have access to it."}
	case lectern.EFORBIDDEN:
		view = errorView{Heading: "Not allowed", Message: lectern.ErrorMessage(err)}
	case lectern.EINVALID:
		view = errorView{Heading: "That did not work", Message: lectern.ErrorMessage(err)}
	case lectern.ENOSPACE:
		view = errorView{Heading: "Out of storage space", Message: lectern.ErrorMessage(err)}
	}
	if status >= http.StatusInternalServerError {
		s.logger.ErrorContext(c.Request().Context(), "page failed",
			slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	}
	if c.Response().Committed {
		return nil
	}
	return s.render(c, status, pageView{Name: "error", Title: view.Heading, User: u, View: view})
}

type errorView struct {
	Heading string
	Message string
	// BackURL and BackLabel are the way on; empty means the courses.
	BackURL, BackLabel string
}

// handleHome sends people to their home page (homeFor), or to the login
// page.
func (s *Server) handleHome(c echo.Context) error {
	u, err := s.authenticate(c)
	if err != nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, homeFor(u))
}

// loginView is the login page's: where to go after logging in, and the
// single sign-on button when it is on.
type loginView struct {
	Next             string
	SSOLabel, SSOURL string
}

func (s *Server) ssoLabel() string {
	if s.sso == nil {
		return ""
	}
	return s.sso.opts.ButtonLabel
}

func (s *Server) ssoURL(next string) string {
	if next == "" {
		return OIDCLoginPath
	}
	return OIDCLoginPath + "?next=" + url.QueryEscape(next)
}

// handleLoginPage shows the login form, or skips it for someone who is
// already logged in. After logging in the form goes to next when it is a
// page of this site, and otherwise to the person's home page (login.js
// asks homeFor's question of the user the session API returns).
func (s *Server) handleLoginPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if u, err := s.authenticate(c); err == nil {
		if next == "" {
			next = homeFor(u)
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "login", Title: "Log in", Script: "js/login.js",
		View: loginView{Next: next, SSOLabel: s.ssoLabel(), SSOURL: s.ssoURL(next)},
	})
}
