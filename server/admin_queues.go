package server

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// QueueUIPath is where Options.QueueUI (asynqmon) is mounted; the handler
// must be built with this root path.
const QueueUIPath = "/admin/queues"

// registerQueueUIRoutes mounts the queue web UI behind the admin check:
// asynqmon has no authentication of its own. Anonymous browsers are sent
// to the login page, anonymous scripts get 401, non-admins 403.
func (s *Server) registerQueueUIRoutes(e *echo.Echo) {
	if s.queueUI == nil {
		return
	}
	h := echo.WrapHandler(s.queueUIPages(s.queueUI))
	mw := []echo.MiddlewareFunc{s.requireUserOrLogin, requireAdmin}
	e.Any(QueueUIPath, h, mw...)
	e.Any(QueueUIPath+"/*", h, mw...)
}

// requireUserOrLogin is requireUser for browser pages: a GET that asks for
// HTML without valid credentials is redirected to the login page, which
// comes back afterwards.
func (s *Server) requireUserOrLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.authenticate(c)
		if err != nil {
			r := c.Request()
			if lectern.ErrorCode(err) == lectern.EUNAUTHORIZED && r.Method == http.MethodGet &&
				strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMETextHTML) {
				return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// queueUIPolicy keeps the queue UI's pages on this site: asynqmon's page
// has inline scripts and styles of its own (so they are allowed), but
// nothing may come from, or go to, another origin.
const queueUIPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// offSiteLink matches the <link> elements of a page that load something
// from another origin: asynqmon's page asks Google Fonts for Roboto and
// Material Icons, which breaks (and phones home) on a server without the
// internet.
var offSiteLink = regexp.MustCompile(`<link\b[^>]*\bhref="(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^"]*"[^>]*>`)

// manifestLink matches the page's web app manifest, which browsers fetch
// without the session cookie (so the admin check refuses it) and which an
// admin page does not need.
var manifestLink = regexp.MustCompile(`<link\b[^>]*\brel="manifest"[^>]*>`)

// queueUIPages serves the queue UI with its page (asynqmon answers every
// path that is not an API call or a static file with it) rewritten for
// Lectern: no web fonts from the internet (system fonts instead, from
// Lectern's own queue-ui.css), and a link back to Lectern's admin pages.
// API calls and static files pass through untouched.
func (s *Server) queueUIPages(ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", queueUIPolicy)
		p := r.URL.Path
		if r.Method != http.MethodGet || strings.HasPrefix(p, QueueUIPath+"/api/") || strings.HasPrefix(p, QueueUIPath+"/static/") {
			ui.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		ui.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		ct := rec.header.Get("Content-Type")
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		if strings.HasPrefix(ct, "text/html") {
			body = s.rewriteQueueUIPage(body)
			rec.header.Set("Content-Type", "text/html; charset=utf-8")
			rec.header.Set("Cache-Control", "no-store")
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

// rewriteQueueUIPage drops the page's off-site stylesheets and its
// manifest, adds Lectern's stylesheet and accessibility repairs, and puts
// a link back to the admin pages first in the body.
func (s *Server) rewriteQueueUIPage(page []byte) []byte {
	page = offSiteLink.ReplaceAll(page, nil)
	page = manifestLink.ReplaceAll(page, nil)
	v := s.web.pages.Version()
	// queue-ui.js repairs what the UI leaves out for screen readers and
	// low vision (names, list structure, contrast).
	css := `<link rel="stylesheet" href="/static/css/queue-ui.css?v=` + v + `">` +
		`<script src="/static/js/queue-ui.js?v=` + v + `" defer></script>`
	page = bytes.Replace(page, []byte("</head>"), []byte(css+"</head>"), 1)
	back := `<nav class="lectern-back" aria-label="Lectern"><a href="/admin">← Lectern admin</a></nav>`
	if i := bytes.Index(page, []byte("<body>")); i >= 0 {
		i += len("<body>")
		page = append(page[:i:i], append([]byte(back), page[i:]...)...)
	}
	return page
}

// bufferedResponse holds a response in memory so that it can be rewritten.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
