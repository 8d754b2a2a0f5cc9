package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/jobs"
	"github.com/lectern/lectern/server"
)

// access is who may call a route.
type access int

const (
	public  access = iota // anyone, logged in or not
	user                  // any logged-in user, about their own things
	member                // the course's members (and admins)
	author                // an entry's author and the course's teachers
	teacher               // the course's teachers (and admins)
	creator               // teachers and admins by account (creating a course)
	admin                 // admins only
	holder                // whoever holds a media token
)

var accessNames = map[access]string{public: "public", user: "user", member: "member", author: "author",
	teacher: "teacher", creator: "creator", admin: "admin", holder: "holder"}

// probe is one request of a route's case.
type probe struct {
	method, path string
	body         any
	headers      []string
	// want, when set, is the status this probe must get instead of the
	// default of the test running it.
	want int
	// anonymous sends the probe without the caller's credentials (a media
	// link is its own credential).
	anonymous bool
	// stream marks a Server-Sent Events route: a caller who may open it is
	// answered with a stream that does not end.
	stream bool
}

// routeCase says who may call a route and how to call it with a course's
// IDs.
type routeCase struct {
	access access
	// ids is true when the route names course content by ID (in the path
	// or the body). Routes without: exempt says why they cannot reach
	// another course, and the answer is checked for leaks instead.
	ids    bool
	exempt string
	probes func(w *world, k *kit) []probe
}

// tusRoute marks the routes of the tus endpoint, which is served in front
// of the Echo router and so is not in its list.
const tusRoute = "TUS "

// one is a case with a single request.
func one(method, path string, body any, headers ...string) func(w *world, k *kit) []probe {
	return func(_ *world, k *kit) []probe {
		return []probe{{method: method, path: k.path(path), body: body, headers: headers}}
	}
}

// beat is a progress heartbeat as the player sends it.
const beat = `{"session_id":"probe","seq":9,"position_ms":6000,"ranges":[[0,6000]]}`

// routeCases has an entry for every route the server answers: "METHOD
// /path" as Echo registers it, "ANY /path" for a route that takes every
// method. TestAcceptance21_IDORMatrix fails for a route without one, so a
// new route (captions, search…) cannot join without saying who may call it.
var routeCases = map[string]routeCase{
	// Pages and files anyone may fetch.
	"GET /":      {access: public, exempt: "a redirect", probes: one("GET", "/", nil)},
	"GET /login": {access: public, exempt: "the login page", probes: one("GET", "/login", nil)},
	// Single sign-on (oidc.go): off in this world, so both answer 404;
	// TestSSO* run them against a real provider.
	"GET " + server.OIDCLoginPath:    {access: public, exempt: "starts a single sign-on", probes: one("GET", server.OIDCLoginPath, nil)},
	"GET " + server.OIDCCallbackPath: {access: public, exempt: "the provider's answer, bound to the browser by a signed cookie", probes: one("GET", server.OIDCCallbackPath+"?state=x&code=y", nil)},
	"GET /healthz":                   {access: public, exempt: "liveness", probes: one("GET", "/healthz", nil)},
	"GET /readyz":                    {access: public, exempt: "readiness", probes: one("GET", "/readyz", nil)},
	"GET /metrics":                   {access: public, exempt: "Prometheus series, labelled by route pattern", probes: one("GET", "/metrics", nil)},
	"GET /static/*":                  {access: public, exempt: "embedded files", probes: one("GET", "/static/css/app.css", nil)},
	"GET /courses":                   {access: user, exempt: "my courses", probes: one("GET", "/courses", nil)},
	"GET /inbox":                     {access: user, exempt: "my inbox", probes: one("GET", "/inbox", nil)},
	"GET /join/:code": {access: user, exempt: "the join code is the credential: knowing it entitles one to join",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "GET", path: "/join/ZZZZ-ZZZZ", want: http.StatusNotFound}}
		}},

	// Pages of a course.
	"GET /courses/:id":           {access: member, ids: true, probes: one("GET", "/courses/:course", nil)},
	"GET /watch/:id":             {access: member, ids: true, probes: one("GET", "/watch/:lesson", nil)},
	"GET /lessons/:id/upload":    {access: teacher, ids: true, probes: one("GET", "/lessons/:lesson/upload", nil)},
	"GET /lessons/:id/analytics": {access: teacher, ids: true, probes: one("GET", "/lessons/:lesson/analytics", nil)},

	// Administration.
	"GET /admin":                         {access: admin, probes: one("GET", "/admin", nil)},
	"GET /admin/jobs":                    {access: admin, probes: one("GET", "/admin/jobs", nil)},
	"GET /admin/users/:id":               {access: admin, ids: true, probes: one("GET", "/admin/users/:mate", nil)},
	"ANY " + server.QueueUIPath:          {access: admin, probes: one("GET", server.QueueUIPath, nil)},
	"ANY " + server.QueueUIPath + "/*":   {access: admin, probes: queueUIProbes},
	"GET /api/v1/admin/jobs":             {access: admin, probes: one("GET", "/api/v1/admin/jobs", nil)},
	"POST /api/v1/admin/jobs/:id/retry":  {access: admin, ids: true, probes: one("POST", "/api/v1/admin/jobs/:job/retry", nil)},
	"POST /api/v1/admin/jobs/:id/cancel": {access: admin, ids: true, probes: one("POST", "/api/v1/admin/jobs/:job/cancel", nil)},
	"GET /api/v1/users":                  {access: admin, probes: one("GET", "/api/v1/users", nil)},
	// An account, what it owns, its role and whether it may log in.
	"GET /api/v1/users/:id":             {access: admin, ids: true, probes: one("GET", "/api/v1/users/:mate", nil)},
	"PATCH /api/v1/users/:id":           {access: admin, ids: true, probes: one("PATCH", "/api/v1/users/:mate", map[string]string{"role": "admin"})},
	"DELETE /api/v1/users/:id":          {access: admin, ids: true, probes: one("DELETE", "/api/v1/users/:mate", nil)},
	"POST /api/v1/users/:id/deactivate": {access: admin, ids: true, probes: one("POST", "/api/v1/users/:mate/deactivate", nil)},
	"POST /api/v1/users/:id/reactivate": {access: admin, ids: true, probes: one("POST", "/api/v1/users/:mate/reactivate", nil)},
	"GET /admin/lti":                    {access: admin, probes: one("GET", "/admin/lti", nil)},
	"GET /api/v1/admin/lti/platforms":   {access: admin, probes: one("GET", "/api/v1/admin/lti/platforms", nil)},
	"POST /api/v1/admin/lti/platforms": {access: admin, probes: one("POST", "/api/v1/admin/lti/platforms",
		map[string]any{"issuer": "https://evil.example", "client_id": "x", "deployment_ids": []string{"1"},
			"auth_login_url": "https://evil.example/a", "token_url": "https://evil.example/t", "jwks_url": "https://evil.example/j"})},
	"GET /api/v1/admin/lti/platforms/:id":       {access: admin, probes: one("GET", "/api/v1/admin/lti/platforms/none", nil)},
	"PUT /api/v1/admin/lti/platforms/:id":       {access: admin, probes: one("PUT", "/api/v1/admin/lti/platforms/none", map[string]any{})},
	"DELETE /api/v1/admin/lti/platforms/:id":    {access: admin, probes: one("DELETE", "/api/v1/admin/lti/platforms/none", nil)},
	"POST /api/v1/admin/lti/keys/rotate":        {access: admin, probes: one("POST", "/api/v1/admin/lti/keys/rotate", nil)},
	"POST /api/v1/admin/lti/platforms/:id/sync": {access: admin, probes: one("POST", "/api/v1/admin/lti/platforms/none/sync", nil)},
	// Deep linking: the picker's single-use secret is the credential; a
	// poster link is signed per lesson by the server.
	"POST /lti/deep-links": {access: public, exempt: "the deep linking picker's answer: its single-use secret is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/lti/deep-links", body: "deep_link=x&lesson=y", headers: []string{"Content-Type", "application/x-www-form-urlencoded"}}}
		}},
	"GET /lti/posters/:id/:sig": {access: public, exempt: "a lesson's poster for the LMS: the server's signature is the credential",
		probes: func(_ *world, k *kit) []probe {
			return []probe{{method: "GET", path: k.path("/lti/posters/:lesson/forged"), anonymous: true, want: http.StatusNotFound}}
		}},
	"GET /lti/jwks": {access: public, exempt: "Lectern's public keys", probes: one("GET", "/lti/jwks", nil)},
	// LTI launches: the platform's signed id_token, bound to the browser
	// that started the login, is the credential (lti_launch.go); a
	// request without one is refused with a page that says why.
	"GET /lti/login": {access: public, exempt: "an LMS's login initiation",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "GET", path: "/lti/login?iss=https%3A%2F%2Fnobody.example&login_hint=x&target_link_uri=x", want: http.StatusForbidden}}
		}},
	"POST /lti/login": {access: public, exempt: "an LMS's login initiation",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/lti/login", body: "iss=https%3A%2F%2Fnobody.example", headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, want: http.StatusForbidden}}
		}},
	"POST /lti/launch": {access: public, exempt: "an LMS's launch: the id_token is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/lti/launch", body: "id_token=x&state=y", headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, want: http.StatusForbidden}}
		}},

	"POST /api/v1/users": {access: admin, probes: one("POST", "/api/v1/users",
		map[string]string{"email": "intruder@example.org", "name": "Intruder", "password": "intruder password", "role": "admin"})},

	// The caller's own session and account.
	"POST /api/v1/session": {access: public, exempt: "logging in",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/session", anonymous: true, want: http.StatusUnauthorized,
				body: map[string]string{"email": "nobody@example.org", "password": "not a password"}}}
		}},
	"DELETE /api/v1/session": {access: public, exempt: "logging out (sent without the caller's cookie, to keep them logged in)",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "DELETE", path: "/api/v1/session", anonymous: true}}
		}},
	"POST /api/v1/tokens": {access: user, exempt: "my API tokens", probes: one("POST", "/api/v1/tokens", map[string]string{"name": "probe"})},
	// Password reset by email: the link's token is the credential. The
	// test server has no mail set up, which it says with 503.
	"GET /forgot-password": {access: public, exempt: "the page that asks for a reset link", probes: one("GET", "/forgot-password", nil)},
	"GET /reset-password": {access: public, exempt: "the page that sets a new password with a reset link",
		probes: one("GET", "/reset-password?token=x", nil)},
	"POST /api/v1/password-reset": {access: public, exempt: "asking for a reset link names no course content",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/password-reset", anonymous: true, want: http.StatusServiceUnavailable,
				body: map[string]string{"email": "nobody@example.org"}}}
		}},
	"POST /api/v1/password-reset/confirm": {access: public, exempt: "the reset link's token is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/password-reset/confirm", anonymous: true, want: http.StatusBadRequest,
				body: map[string]string{"token": "forged", "password": "a long new password"}}}
		}},
	"GET /api/v1/me": {access: user, exempt: "my account", probes: one("GET", "/api/v1/me", nil)},
	"PUT /api/v1/me/password": {access: user, exempt: "my password: the current one is required",
		probes: one("PUT", "/api/v1/me/password", map[string]string{"current_password": "not it", "new_password": "a long new password"})},
	"GET /api/v1/me/counts": {access: user, exempt: "my counts", probes: one("GET", "/api/v1/me/counts", nil)},
	"GET /api/v1/me/notifications": {access: user, exempt: "my notifications",
		probes: one("GET", "/api/v1/me/notifications", nil)},
	"POST /api/v1/me/notifications/read": {access: user, ids: true,
		// Naming someone else's notification marks nothing (the state
		// check sees it still unread); the answer is the caller's count.
		probes: func(_ *world, k *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/me/notifications/read", want: http.StatusOK,
				body: map[string][]string{"ids": {k.notificationID}}}}
		}},
	"GET /api/v1/questions": {access: user, exempt: "my question inbox, across the courses I teach",
		probes: one("GET", "/api/v1/questions?status=open", nil)},
	"GET /api/v1/me/preferences": {access: user, exempt: "my player preferences", probes: one("GET", "/api/v1/me/preferences", nil)},
	"PUT /api/v1/me/preferences": {access: user, exempt: "my player preferences",
		probes: one("PUT", "/api/v1/me/preferences", map[string]string{"caption_lang": "en"})},
	"GET /api/v1/tokens": {access: user, exempt: "my API tokens", probes: one("GET", "/api/v1/tokens", nil)},
	"DELETE /api/v1/tokens/:id": {access: user, ids: true,
		// Someone else's token is not found: it stays valid (the snapshot
		// lists the student's tokens).
		probes: one("DELETE", "/api/v1/tokens/:token", nil)},
	"GET /account/tokens":             {access: user, exempt: "my API tokens page", probes: one("GET", "/account/tokens", nil)},
	"GET /api/v1/me/mail-preferences": {access: user, exempt: "my mail preferences", probes: one("GET", "/api/v1/me/mail-preferences", nil)},
	"PUT /api/v1/me/mail-preferences": {access: user, exempt: "my mail preferences",
		probes: one("PUT", "/api/v1/me/mail-preferences", map[string]bool{"question_digest": true})},
	"GET /unsubscribe": {access: public, exempt: "the signed token names the user and the mail; the page only asks",
		probes: one("GET", "/unsubscribe?token=x", nil)},
	"POST /unsubscribe": {access: public, exempt: "the signed token is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/unsubscribe?token=forged.x", anonymous: true, want: http.StatusBadRequest}}
		}},
	"GET /account":     {access: user, exempt: "my account page", probes: one("GET", "/account", nil)},
	"PATCH /api/v1/me": {access: user, exempt: "my name", probes: one("PATCH", "/api/v1/me", map[string]any{})},
	// The test server has no mail set up, which it says with 503.
	"POST /api/v1/me/email": {access: user, exempt: "my address: a link goes to the new one",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/me/email", want: http.StatusServiceUnavailable,
				body: map[string]string{"email": "new@example.org", "current_password": "not it"}}}
		}},
	"POST /api/v1/me/email/confirm": {access: public, exempt: "the confirmation link's token is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/me/email/confirm", anonymous: true, want: http.StatusBadRequest,
				body: map[string]string{"token": "forged"}}}
		}},
	"GET /confirm-email": {access: public, exempt: "the page that confirms a new address with its link",
		probes: one("GET", "/confirm-email?token=x", nil)},
	"GET /api/v1/me/sessions":    {access: user, exempt: "my sessions", probes: one("GET", "/api/v1/me/sessions", nil)},
	"DELETE /api/v1/me/sessions": {access: user, exempt: "my other sessions", probes: one("DELETE", "/api/v1/me/sessions", nil)},
	"DELETE /api/v1/me/sessions/:id": {access: user, exempt: "my sessions: another user's session is not found",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "DELETE", path: "/api/v1/me/sessions/someone-elses", want: http.StatusNotFound}}
		}},
	"GET /trash": {access: user, exempt: "my trash page: what I may restore of the courses I teach", probes: one("GET", "/trash", nil)},

	// Search: naming another course is 404; searching everywhere finds
	// nothing of it (wantNoSecrets checks the answer).
	"GET /api/v1/search": {access: member, ids: true, probes: searchProbes("/api/v1/search")},
	"GET /search":        {access: member, ids: true, probes: searchProbes("/search")},

	// Courses and members.
	"GET /api/v1/courses":  {access: user, exempt: "my courses", probes: one("GET", "/api/v1/courses", nil)},
	"POST /api/v1/courses": {access: creator, exempt: "creates a course of the caller's own", probes: one("POST", "/api/v1/courses", map[string]string{"title": "Probe"})},
	"POST /api/v1/courses/join": {access: user, exempt: "the join code is the credential: knowing it entitles one to join",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/courses/join", body: map[string]string{"code": "ZZZZ-ZZZZ"}, want: http.StatusNotFound}}
		}},
	"GET /api/v1/courses/:id":         {access: member, ids: true, probes: one("GET", "/api/v1/courses/:course", nil)},
	"PATCH /api/v1/courses/:id":       {access: teacher, ids: true, probes: one("PATCH", "/api/v1/courses/:course", map[string]int{"completion_threshold": 5})},
	"GET /api/v1/courses/:id/lessons": {access: member, ids: true, probes: one("GET", "/api/v1/courses/:course/lessons", nil)},
	"POST /api/v1/courses/:id/lessons": {access: teacher, ids: true,
		probes: one("POST", "/api/v1/courses/:course/lessons", map[string]string{"publish_at": "now", "title": "Intruder's lesson"})},
	"GET /api/v1/courses/:id/members": {access: teacher, ids: true, probes: one("GET", "/api/v1/courses/:course/members", nil)},
	"DELETE /api/v1/courses/:id/members/:user_id": {access: teacher, ids: true,
		probes: one("DELETE", "/api/v1/courses/:course/members/:mate", nil)},
	"POST /api/v1/courses/:id/members": {access: teacher, ids: true,
		probes: one("POST", "/api/v1/courses/:course/members", map[string]string{"email": "intruder@example.org", "role": "teacher"})},
	"PATCH /api/v1/courses/:id/members/:user_id": {access: teacher, ids: true,
		probes: one("PATCH", "/api/v1/courses/:course/members/:mate", map[string]string{"role": "teacher"})},
	"POST /api/v1/courses/:id/join-code": {access: teacher, ids: true, probes: one("POST", "/api/v1/courses/:course/join-code", nil)},
	// Invitations by email: the link's token is the credential.
	"GET /invitation": {access: public, exempt: "the page of an invitation link", probes: one("GET", "/invitation?token=x", nil)},
	"POST /api/v1/invitations/accept": {access: public, exempt: "the invitation link's token is the credential",
		probes: func(*world, *kit) []probe {
			return []probe{{method: "POST", path: "/api/v1/invitations/accept", anonymous: true, want: http.StatusBadRequest,
				body: map[string]string{"token": "forged", "name": "Intruder", "password": "a long new password"}}}
		}},
	"GET /api/v1/courses/:id/outline": {access: member, ids: true, probes: one("GET", "/api/v1/courses/:course/outline", nil)},
	"PUT /api/v1/courses/:id/outline": {access: teacher, ids: true,
		probes: one("PUT", "/api/v1/courses/:course/outline", map[string]any{"version": 1, "sections": []any{}})},
	"POST /api/v1/courses/:id/sections": {access: teacher, ids: true,
		probes: one("POST", "/api/v1/courses/:course/sections", map[string]string{"title": "Intruder's section"})},
	"PATCH /api/v1/courses/:id/sections/:section_id": {access: teacher, ids: true,
		probes: one("PATCH", "/api/v1/courses/:course/sections/none", map[string]string{"title": "Hijacked"})},
	"DELETE /api/v1/courses/:id/sections/:section_id": {access: teacher, ids: true,
		probes: one("DELETE", "/api/v1/courses/:course/sections/none", nil)},
	"GET /api/v1/courses/:id/lti":           {access: teacher, ids: true, probes: one("GET", "/api/v1/courses/:course/lti", nil)},
	"POST /api/v1/courses/:id/lti/sync":     {access: teacher, ids: true, probes: one("POST", "/api/v1/courses/:course/lti/sync", nil)},
	"DELETE /api/v1/courses/:id/membership": {access: member, ids: true, probes: one("DELETE", "/api/v1/courses/:course/membership", nil)},
	"DELETE /api/v1/courses/:id":            {access: teacher, ids: true, probes: one("DELETE", "/api/v1/courses/:course", nil)},
	"POST /api/v1/courses/:id/archive":      {access: teacher, ids: true, probes: one("POST", "/api/v1/courses/:course/archive", nil)},
	"POST /api/v1/courses/:id/unarchive":    {access: teacher, ids: true, probes: one("POST", "/api/v1/courses/:course/unarchive", nil)},

	// The trash: what a teacher deleted, restorable for the retention.
	"GET /api/v1/trash": {access: user, exempt: "my trash: what I may restore of the courses I teach", probes: one("GET", "/api/v1/trash", nil)},
	"POST /api/v1/trash/:kind/:id/restore": {access: teacher, ids: true, probes: func(_ *world, k *kit) []probe {
		return []probe{{method: "POST", path: k.path("/api/v1/trash/lessons/:lesson/restore")},
			{method: "POST", path: k.path("/api/v1/trash/courses/:course/restore")}}
	}},
	"DELETE /api/v1/trash/:kind/:id": {access: admin, ids: true, probes: func(_ *world, k *kit) []probe {
		return []probe{{method: "DELETE", path: k.path("/api/v1/trash/lessons/:lesson")},
			{method: "DELETE", path: k.path("/api/v1/trash/courses/:course")}}
	}},
	"DELETE /api/v1/trash": {access: admin, probes: one("DELETE", "/api/v1/trash", nil)},

	// Lessons, uploads and the media token.
	"GET /api/v1/lessons/:id":          {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson", nil)},
	"PATCH /api/v1/lessons/:id":        {access: teacher, ids: true, probes: one("PATCH", "/api/v1/lessons/:lesson", map[string]string{"title": "Hijacked"})},
	"DELETE /api/v1/lessons/:id":       {access: teacher, ids: true, probes: one("DELETE", "/api/v1/lessons/:lesson", nil)},
	"GET /api/v1/lessons/:id/playback": {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/playback", nil)},
	"PUT /api/v1/lessons/:id/source": {access: teacher, ids: true,
		probes: one("PUT", "/api/v1/lessons/:lesson/source", fakeRecording("intruder"), "Content-Type", "video/mp4")},
	tusRoute + "POST /api/v1/uploads":       {access: teacher, ids: true, probes: tusCreateProbe},
	tusRoute + "HEAD /api/v1/uploads/:id":   {access: teacher, ids: true, probes: tusProbe("HEAD")},
	tusRoute + "PATCH /api/v1/uploads/:id":  {access: teacher, ids: true, probes: tusProbe("PATCH")},
	tusRoute + "DELETE /api/v1/uploads/:id": {access: teacher, ids: true, probes: tusProbe("DELETE")},
	"GET /media/:token/*":                   {access: holder, ids: true, probes: mediaProbes("GET")},
	"HEAD /media/:token/*":                  {access: holder, ids: true, probes: mediaProbes("HEAD")},

	// Comments, progress and analytics.
	"GET /api/v1/lessons/:id/comments": {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/comments", nil)},
	"POST /api/v1/lessons/:id/comments": {access: member, ids: true, probes: one("POST", "/api/v1/lessons/:lesson/comments",
		map[string]any{"kind": "comment", "visibility": "class", "at_ms": 500, "body": "intruder"})},
	"GET /api/v1/lessons/:id/markers":       {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/markers", nil)},
	"GET /api/v1/comments/:id":              {access: member, ids: true, probes: one("GET", "/api/v1/comments/:comment", nil)},
	"PATCH /api/v1/comments/:id":            {access: author, ids: true, probes: one("PATCH", "/api/v1/comments/:answer", map[string]string{"body": "edited by an intruder"})},
	"DELETE /api/v1/comments/:id":           {access: author, ids: true, probes: one("DELETE", "/api/v1/comments/:answer", nil)},
	"GET /api/v1/lessons/:id/progress":      {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/progress", nil)},
	"PUT /api/v1/lessons/:id/progress":      {access: member, ids: true, probes: one("PUT", "/api/v1/lessons/:lesson/progress", beat)},
	"POST /api/v1/lessons/:id/progress":     {access: member, ids: true, probes: one("POST", "/api/v1/lessons/:lesson/progress", beat, "Content-Type", "text/plain;charset=UTF-8")},
	"GET /api/v1/lessons/:id/analytics":     {access: teacher, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/analytics", nil)},
	"GET /api/v1/lessons/:id/analytics.csv": {access: teacher, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/analytics.csv", nil)},

	// Captions and chapters.
	"GET /api/v1/lessons/:id/captions":       {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/captions", nil)},
	"GET /api/v1/lessons/:id/captions/:lang": {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/captions/en", nil)},
	"PUT /api/v1/lessons/:id/captions/:lang": {access: teacher, ids: true,
		probes: one("PUT", "/api/v1/lessons/:lesson/captions/en", "WEBVTT\n\n00:00.000 --> 00:01.000\nHijacked\n", "Content-Type", "text/vtt")},
	"PATCH /api/v1/lessons/:id/captions/:lang": {access: teacher, ids: true,
		probes: one("PATCH", "/api/v1/lessons/:lesson/captions/en", map[string]string{"label": "Hijacked"})},
	"DELETE /api/v1/lessons/:id/captions/:lang": {access: teacher, ids: true, probes: one("DELETE", "/api/v1/lessons/:lesson/captions/en", nil)},
	"GET /api/v1/lessons/:id/captions/:lang/versions": {access: teacher, ids: true,
		probes: one("GET", "/api/v1/lessons/:lesson/captions/en/versions", nil)},
	"POST /api/v1/lessons/:id/captions/:lang/versions/:version/restore": {access: teacher, ids: true,
		probes: one("POST", "/api/v1/lessons/:lesson/captions/en/versions/1/restore", nil)},
	"GET /lessons/:id/captions":        {access: teacher, ids: true, probes: one("GET", "/lessons/:lesson/captions", nil)},
	"GET /api/v1/lessons/:id/chapters": {access: member, ids: true, probes: one("GET", "/api/v1/lessons/:lesson/chapters", nil)},
	"PUT /api/v1/lessons/:id/chapters": {access: teacher, ids: true,
		probes: one("PUT", "/api/v1/lessons/:lesson/chapters", []map[string]any{{"start_ms": 0, "title": "Hijacked"}})},
	"GET /api/v1/lessons/:id/chapter-suggestions": {access: teacher, ids: true,
		probes: one("GET", "/api/v1/lessons/:lesson/chapter-suggestions", nil)},
	"POST /api/v1/lessons/:id/chapter-suggestions/:sid/accept": {access: teacher, ids: true,
		probes: one("POST", "/api/v1/lessons/:lesson/chapter-suggestions/:suggestion/accept", map[string]string{"title": "Hijacked"})},
	"DELETE /api/v1/lessons/:id/chapter-suggestions/:sid": {access: teacher, ids: true,
		probes: one("DELETE", "/api/v1/lessons/:lesson/chapter-suggestions/:suggestion", nil)},

	"GET /api/v1/lessons/:id/events": {access: member, ids: true,
		probes: func(_ *world, k *kit) []probe {
			return []probe{{method: "GET", path: k.path("/api/v1/lessons/:lesson/events"), stream: true}}
		}},
}

// searchProbes searches k's course by ID (404 for anyone outside it) and
// every course of the caller for k's secret words (an answer that must
// carry none of them).
func searchProbes(path string) func(w *world, k *kit) []probe {
	return func(_ *world, k *kit) []probe {
		return []probe{
			{method: "GET", path: k.path(path + "?q=secret&course_id=:course")},
			{method: "GET", path: path + "?q=secret", want: http.StatusOK},
			{method: "GET", path: path + "?q=" + k.name + "-caption", want: http.StatusOK},
		}
	}
}

// queueUIProbes reads the queue UI's API, pauses a queue and deletes a
// course's queued transcode through it.
func queueUIProbes(_ *world, k *kit) []probe {
	return []probe{
		{method: "GET", path: server.QueueUIPath + "/api/queues"},
		{method: "POST", path: server.QueueUIPath + "/api/queues/" + jobs.QueueCritical + ":pause"},
		{method: "DELETE", path: server.QueueUIPath + "/api/queues/" + jobs.QueueCritical + "/pending_tasks/transcode:" + k.lessonID + ":2"},
	}
}

// tusCreateProbe starts a resumable upload for the kit's lesson.
func tusCreateProbe(_ *world, k *kit) []probe {
	meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(k.lessonID)) +
		",filename " + base64.StdEncoding.EncodeToString([]byte("intruder.mp4"))
	return []probe{{method: "POST", path: "/api/v1/uploads",
		headers: []string{"Tus-Resumable", "1.0.0", "Upload-Length", "100", "Upload-Metadata", meta}}}
}

// tusProbe acts on the kit's teacher's upload in progress.
func tusProbe(method string) func(w *world, k *kit) []probe {
	return func(w *world, k *kit) []probe {
		p := probe{method: method, path: strings.TrimPrefix(k.uploadURL, w.ts.URL), headers: []string{"Tus-Resumable", "1.0.0"}}
		if method == "PATCH" {
			p.body = fakeRecording("intruder")
			p.headers = append(p.headers, "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")
		}
		return []probe{p}
	}
}

// mediaProbes are the media links someone of course A can hold for k's
// lesson: the one A's student got while a member of k's course (gone
// since they left: 404), the student of k's course's own link used with
// the caller's credentials (a borrowed link: 403), and A's own link
// climbing to k's lesson (404). The last two hold only for k = B.
func mediaProbes(method string) func(w *world, k *kit) []probe {
	return func(w *world, k *kit) []probe {
		return []probe{
			{method: method, path: w.staleBase + "master.m3u8", anonymous: true, want: http.StatusNotFound},
			{method: method, path: w.staleBase + "v0/seg_00000.m4s", anonymous: true, want: http.StatusNotFound},
			{method: method, path: k.mediaBase + "master.m3u8", want: http.StatusForbidden},
			{method: method, path: w.a.mediaBase + "../../../" + k.lessonID + "/hls/1/master.m3u8", anonymous: true, want: http.StatusNotFound},
		}
	}
}

// send makes a probe as c. A stream that opens is closed again at once:
// its status is the answer.
func (w *world) send(t *testing.T, c *client, p probe) *response {
	t.Helper()
	if p.anonymous {
		c = w.ts.client(t)
	}
	if !p.stream {
		return c.do(t, p.method, p.path, p.body, p.headers...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, p.method, c.base+p.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", p.method, p.path, err)
	}
	defer resp.Body.Close()
	var body []byte
	if resp.StatusCode != http.StatusOK {
		body, _ = io.ReadAll(resp.Body)
	}
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// checkRouteCases fails for every route of the server without a case, and
// for every case whose route the server does not have (a stale entry).
func checkRouteCases(t *testing.T, srv *server.Server) {
	t.Helper()
	routes := server.Routes(srv)
	covered := map[string]bool{}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		switch {
		case hasCase(r):
			covered[r] = true
		case hasCase("ANY " + path):
			covered["ANY "+path] = true
		default:
			t.Errorf("route %s %s has no entry in routeCases: say who may call it and how to call it with another course's IDs", method, path)
		}
	}
	for key := range routeCases {
		if !covered[key] && !strings.HasPrefix(key, tusRoute) {
			t.Errorf("routeCases has %q, which the server does not answer: remove or rename the entry", key)
		}
	}
}

func hasCase(key string) bool { _, ok := routeCases[key]; return ok }

// sortedCases returns the route cases in a stable order.
func sortedCases() []string {
	keys := make([]string, 0, len(routeCases))
	for k := range routeCases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
