package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/lti"
)

// Deep Linking 2.0: from the LMS's "add activity", a teacher's deep
// linking request opens a picker of the linked course's lessons (where a
// new lesson can be uploaded on the spot); the choice goes back to the
// platform as a signed LtiDeepLinkingResponse of ltiResourceLink items,
// each opening its lesson (custom lectern_lesson) with a line item for
// its grade.
//
// The picker page is shown inside the LMS's iframe, where Lectern's
// cookie may be blocked: its form carries a secret naming the stored
// request instead (single use, short-lived, bound to the teacher and the
// course), which is the only thing the answer trusts. The form is posted
// from Lectern's own page, so cross-origin protection applies as usual.

const (
	// ltiDeepLinkLifetime is how long a teacher has to pick lessons.
	ltiDeepLinkLifetime = 2 * time.Hour
	// ltiDeepLinkTag is the tag of the line items Lectern asks for: the
	// share of the lesson watched.
	ltiDeepLinkTag = "lectern-coverage"
)

// ltiDeepLinkRequest is what answering a deep linking request needs of
// it, stored with the request (lectern.LTIDeepLink.Request).
type ltiDeepLinkRequest struct {
	Issuer       string                  `json:"iss"`
	ClientID     string                  `json:"client_id"`
	DeploymentID string                  `json:"deployment_id"`
	Settings     lti.DeepLinkingSettings `json:"settings"`
}

// multiple reports whether the platform takes several items.
func (r *ltiDeepLinkRequest) multiple() bool {
	return r.Settings.AcceptMultiple == nil || *r.Settings.AcceptMultiple
}

// lineItems reports whether to ask for line items: unless the platform
// said it ignores them.
func (r *ltiDeepLinkRequest) lineItems() bool {
	return r.Settings.AcceptLineItem == nil || *r.Settings.AcceptLineItem
}

func (s *Server) registerLTIDeepLinkRoutes(e *echo.Echo) {
	e.POST("/lti/deep-links", s.handleLTIDeepLinkAnswer)
	e.GET("/lti/posters/:id/:sig", s.handleLTIPoster)
}

// checkDeepLinkingSettings refuses a deep linking request Lectern cannot
// answer: one that does not take resource links, or that has nowhere to
// send them.
func checkDeepLinkingSettings(l *lti.Launch) error {
	dl := l.DeepLinking
	if !dl.Accepts(lti.TypeResourceLink) {
		return lti.Refuse(lti.ReasonDeepLinking, "This LMS placement accepts %v, but Lectern adds lessons as LTI resource links (ltiResourceLink). "+
			"Add Lectern from the LMS's activity chooser instead.", dl.AcceptTypes)
	}
	if _, err := validateHTTPURL("deep_link_return_url", dl.ReturnURL); err != nil {
		return lti.Refuse(lti.ReasonDeepLinking, "The LMS did not say where to send the chosen lessons (deep_link_return_url %q is not an http(s) URL).", dl.ReturnURL)
	}
	return nil
}

// ltiDeepLinkPickView is the picker page.
type ltiDeepLinkPickView struct {
	Secret      string
	CourseID    string
	CourseTitle string
	Heading     string
	Multiple    bool
	Lessons     []ltiPickRow
	Error       string
}

// ltiPickRow is a lesson of the picker.
type ltiPickRow struct {
	*lectern.Lesson
	Checked bool
	// Poster is the lesson's signed poster path, if it has a poster.
	Poster string
}

// ltiDeepLinkingPicker answers a deep linking request with the picker.
func (s *Server) ltiDeepLinkingPicker(c echo.Context, p *lectern.LTIPlatform, l *lti.Launch, res *db.LTILaunchResult) error {
	ctx := c.Request().Context()
	req := ltiDeepLinkRequest{Issuer: l.Issuer, ClientID: l.ClientID, DeploymentID: l.DeploymentID, Settings: *l.DeepLinking}
	raw, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode deep link request: %w", err)
	}
	secret, now := randomToken(), s.clock.Now()
	d := &lectern.LTIDeepLink{IDHash: hashToken(secret), PlatformID: p.ID, UserID: res.User.ID, CourseID: res.CourseID,
		Request: string(raw), CreatedAt: now, ExpiresAt: now.Add(ltiDeepLinkLifetime)}
	if err := s.db.CreateLTIDeepLink(ctx, d); err != nil {
		return err
	}
	return s.renderDeepLinkPicker(c, res.User, d, &req, secret, nil, "")
}

func (s *Server) renderDeepLinkPicker(c echo.Context, u *lectern.User, d *lectern.LTIDeepLink, req *ltiDeepLinkRequest, secret string, chosen []string, problem string) error {
	ctx := c.Request().Context()
	course, err := s.db.FindCourse(ctx, d.CourseID, u)
	if err != nil {
		return err
	}
	lessons, err := s.db.FindLessons(ctx, d.CourseID, u)
	if err != nil {
		return err
	}
	heading := "Add Lectern lessons to your LMS course"
	if !req.multiple() {
		heading = "Add a Lectern lesson to your LMS course"
	}
	if req.Settings.Title != "" {
		heading = req.Settings.Title
	}
	rows := make([]ltiPickRow, len(lessons))
	for i, l := range lessons {
		rows[i] = ltiPickRow{Lesson: l, Checked: slices.Contains(chosen, l.ID)}
		if l.OutputPrefix != "" && l.Poster != "" {
			rows[i].Poster = s.ltiPosterPath(l.ID)
		}
	}
	ltiHeaders(c)
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	return s.render(c, status, pageView{Name: "lti_deeplink", Title: heading, Script: "js/lti_deeplink.js",
		Vendor: []string{"vendor/tus.min.js"},
		View: ltiDeepLinkPickView{Secret: secret, CourseID: d.CourseID, CourseTitle: course.Title, Heading: heading,
			Multiple: req.multiple(), Lessons: rows, Error: problem},
		Data: map[string]any{"course_id": d.CourseID, "multiple": req.multiple()}})
}

// ltiDeepLinkReturnView is the page that posts the signed response to
// the platform.
type ltiDeepLinkReturnView struct {
	ReturnURL string
	JWT       string
	Count     int
}

// handleLTIDeepLinkAnswer takes the teacher's choice: the lessons (or
// "cancel", which returns no items), checks that they are the course's
// and that the teacher still teaches it, and answers with a page that
// posts the signed LtiDeepLinkingResponse to the platform's return URL.
func (s *Server) handleLTIDeepLinkAnswer(c echo.Context) error {
	ctx := c.Request().Context()
	secret := c.FormValue("deep_link")
	d, err := s.db.FindLTIDeepLink(ctx, hashToken(secret))
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return s.renderLTIRefused(c, ltiRefusedView{Reason: lti.ReasonState,
			Message: "This choice of lessons has expired or was sent already. Add the activity again from your LMS course."})
	}
	if err != nil {
		return err
	}
	var req ltiDeepLinkRequest
	if err := json.Unmarshal([]byte(d.Request), &req); err != nil {
		return fmt.Errorf("decode deep link request: %w", err)
	}
	u, err := s.db.FindUserByID(ctx, d.UserID)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return lectern.Errorf(lectern.EINVALID, "the form could not be read")
	}
	cancel := form.Get("cancel") != ""
	ids := slices.Compact(slices.Sorted(slices.Values(form["lesson"])))
	if !cancel {
		switch {
		case len(ids) == 0:
			return s.renderDeepLinkPicker(c, u, d, &req, secret, nil, "Choose a lesson to add, or cancel.")
		case len(ids) > 1 && !req.multiple():
			return s.renderDeepLinkPicker(c, u, d, &req, secret, ids, "This LMS adds one activity at a time: choose one lesson.")
		}
	}
	items, err := s.deepLinkItems(c, u, d, &req, form["lesson"], cancel)
	if err != nil {
		if code := lectern.ErrorCode(err); code == lectern.ENOTFOUND || code == lectern.EFORBIDDEN {
			return s.renderDeepLinkPicker(c, u, d, &req, secret, nil, lectern.ErrorMessage(err))
		}
		return err
	}
	if err := s.db.ConsumeLTIDeepLink(ctx, d.IDHash); err != nil {
		if lectern.ErrorCode(err) == lectern.ENOTFOUND {
			return s.renderLTIRefused(c, ltiRefusedView{Reason: lti.ReasonState, Message: "This choice of lessons was sent already."})
		}
		return err
	}
	key, err := s.ltiSigningKey(ctx)
	if err != nil {
		return err
	}
	msg := ""
	if cancel {
		msg = "No Lectern lesson was added."
	}
	launch := &lti.Launch{Issuer: req.Issuer, ClientID: req.ClientID, DeploymentID: req.DeploymentID, DeepLinking: &req.Settings}
	jwt, err := key.Sign(lti.DeepLinkingResponse(launch, items, msg, s.clock.Now()))
	if err != nil {
		return fmt.Errorf("sign deep linking response: %w", err)
	}
	ltiHeaders(c, origin(req.Settings.ReturnURL))
	return s.render(c, http.StatusOK, pageView{Name: "lti_deeplink_return", Title: "Adding to your LMS", Script: "js/lti.js",
		View: ltiDeepLinkReturnView{ReturnURL: req.Settings.ReturnURL, JWT: jwt, Count: len(items)}})
}

// deepLinkItems returns the resource link items of the chosen lessons,
// in the order the form lists them: ENOTFOUND for a lesson that is not
// the course's, EFORBIDDEN when the teacher no longer teaches it.
func (s *Server) deepLinkItems(c echo.Context, u *lectern.User, d *lectern.LTIDeepLink, req *ltiDeepLinkRequest, ids []string, cancel bool) ([]lti.ContentItem, error) {
	ctx := c.Request().Context()
	course, err := s.db.FindCourse(ctx, d.CourseID, u)
	if err != nil {
		return nil, err
	}
	if !mayTeach(u, course.MyRole) {
		return nil, lectern.Errorf(lectern.EFORBIDDEN, "You no longer teach this course, so you cannot add its lessons.")
	}
	items := []lti.ContentItem{}
	if cancel {
		return items, nil
	}
	base := s.ltiBase(c)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		l, err := s.db.FindLessonByID(ctx, id)
		if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && l.CourseID != d.CourseID) {
			return nil, lectern.Errorf(lectern.ENOTFOUND, "One of the chosen lessons is not in this course any more; choose again.")
		}
		if err != nil {
			return nil, err
		}
		it := lti.ContentItem{Type: lti.TypeResourceLink, Title: l.Title, Text: l.Description, URL: base + "/lti/launch",
			Custom: map[string]string{lti.CustomLesson: l.ID}}
		if l.OutputPrefix != "" && l.Poster != "" {
			it.Thumbnail = &lti.Image{URL: base + s.ltiPosterPath(l.ID)}
		}
		if req.lineItems() {
			it.LineItem = &lti.LineItem{Label: l.Title, ScoreMaximum: ltiScoreMaximum, ResourceID: l.ID, Tag: ltiDeepLinkTag}
		}
		items = append(items, it)
	}
	return items, nil
}

// ltiPosterPath is the lasting URL path of a lesson's poster that Lectern
// gives the LMS as a link's thumbnail: the LMS shows it to anyone in its
// course, for as long as the link exists, so it cannot carry a media
// token (personal, short-lived). It is signed instead: only the poster
// of a lesson Lectern linked is reachable this way, and only the poster.
func (s *Server) ltiPosterPath(lessonID string) string {
	return "/lti/posters/" + url.PathEscape(lessonID) + "/" + s.ltiPosterSig(lessonID)
}

func (s *Server) ltiPosterSig(lessonID string) string {
	m := hmac.New(sha256.New, s.mediaKey)
	m.Write([]byte("lti poster\x00" + lessonID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// handleLTIPoster serves the current poster of a lesson to the holder
// of its signed poster URL.
func (s *Server) handleLTIPoster(c echo.Context) error {
	id := c.Param("id")
	if !hmac.Equal([]byte(c.Param("sig")), []byte(s.ltiPosterSig(id))) {
		return lectern.Errorf(lectern.ENOTFOUND, "poster not found")
	}
	l, err := s.db.FindLessonByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if l.OutputPrefix == "" || l.Poster == "" {
		return lectern.Errorf(lectern.ENOTFOUND, "this lesson has no poster yet")
	}
	return s.serveObject(c, l.OutputPrefix+l.Poster, "public, max-age=300")
}
