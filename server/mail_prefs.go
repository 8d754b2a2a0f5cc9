package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// Mail preferences and unsubscribing. Each optional kind of mail
// (lectern.OptionalMail) can be turned off on the account page, or from
// the mail itself: it carries a link, and List-Unsubscribe and
// List-Unsubscribe-Post headers (RFC 8058), with a token signed with the
// server's secret that names the user and the kind, so that it works
// without logging in. GET shows a page that asks; POST unsubscribes (a
// mail client's one-click POST included). Account mail has no such link.

const unsubscribePath = "/unsubscribe"

// mailKindLabels names the optional kinds for people.
var mailKindLabels = map[string]string{
	lectern.MailQuestionAnswered: "When a teacher answers my question",
	lectern.MailQuestionDigest:   "A daily list of open questions in the courses I teach",
}

func (s *Server) registerMailPrefRoutes(e *echo.Echo, g *echo.Group) {
	g.GET("/me/mail-preferences", s.handleMailPrefsGet, s.requireUser)
	g.PUT("/me/mail-preferences", s.handleMailPrefsPut, s.requireUser)
	e.GET(unsubscribePath, s.handleUnsubscribePage, s.pageHeaders)
	e.POST(unsubscribePath, s.handleUnsubscribe, s.pageHeaders)
}

type mailPrefJSON struct {
	Kind    string `json:"kind"`
	Label   string `json:"label"`
	Enabled bool   `json:"enabled"`
}

func (s *Server) mailPrefs(ctx context.Context, userID string) ([]mailPrefJSON, error) {
	off, err := s.db.FindMailOptOuts(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]mailPrefJSON, 0, len(lectern.OptionalMail))
	for _, k := range lectern.OptionalMail {
		out = append(out, mailPrefJSON{Kind: k, Label: mailKindLabels[k], Enabled: !slices.Contains(off, k)})
	}
	return out, nil
}

type mailPrefsResponse struct {
	Preferences []mailPrefJSON `json:"preferences"`
}

// handleMailPrefsGet lists the optional mail and whether the caller gets it.
func (s *Server) handleMailPrefsGet(c echo.Context) error {
	prefs, err := s.mailPrefs(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, mailPrefsResponse{prefs})
}

// handleMailPrefsPut turns kinds of optional mail on or off: a map of
// kind to enabled. An unknown kind is 400 and nothing changes.
func (s *Server) handleMailPrefsPut(c echo.Context) error {
	var req map[string]bool
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	for k := range req {
		if !slices.Contains(lectern.OptionalMail, k) {
			return lectern.Errorf(lectern.EINVALID, "%q is not a kind of mail one can turn off (%s)", k,
				strings.Join(lectern.OptionalMail, ", "))
		}
	}
	ctx := c.Request().Context()
	u := currentUser(c)
	for k, on := range req {
		if err := s.db.SetMailOptOut(ctx, u.ID, k, !on); err != nil {
			return err
		}
	}
	return s.handleMailPrefsGet(c)
}

// unsubscribeKey derives the key of unsubscribe tokens from the secret.
func unsubscribeKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("lectern unsubscribe v1"))
	return m.Sum(nil)
}

// unsubscribeToken is the token of an unsubscribe link: user and kind,
// and their MAC. It does not expire: old mail's links keep working.
func (s *Server) unsubscribeToken(userID, kind string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(userID + "\x00" + kind))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.unsubscribeMAC(payload))
}

func (s *Server) unsubscribeMAC(payload string) []byte {
	m := hmac.New(sha256.New, unsubscribeKey(s.secret))
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// parseUnsubscribeToken returns the user and kind a token names, or
// EINVALID when it is not one this server signed.
func (s *Server) parseUnsubscribeToken(token string) (userID, kind string, err error) {
	bad := lectern.Errorf(lectern.EINVALID, "this unsubscribe link is not valid; change what you receive on your account page")
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", bad
	}
	mac, err1 := base64.RawURLEncoding.DecodeString(sig)
	raw, err2 := base64.RawURLEncoding.DecodeString(payload)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.unsubscribeMAC(payload)) {
		return "", "", bad
	}
	userID, kind, ok = strings.Cut(string(raw), "\x00")
	if !ok || !slices.Contains(lectern.OptionalMail, kind) {
		return "", "", bad
	}
	return userID, kind, nil
}

// unsubscribeURL is the link a mail of kind to userID carries.
func (s *Server) unsubscribeURL(userID, kind string) string {
	return s.mail.publicURL + unsubscribePath + "?token=" + url.QueryEscape(s.unsubscribeToken(userID, kind))
}

type unsubscribeView struct {
	Token, Label string
	Valid, Done  bool
}

// handleUnsubscribePage asks whether to stop the mail a link names; it
// needs no login and changes nothing.
func (s *Server) handleUnsubscribePage(c echo.Context) error {
	token := c.QueryParam("token")
	_, kind, err := s.parseUnsubscribeToken(token)
	return s.render(c, http.StatusOK, pageView{Name: "unsubscribe", Title: "Unsubscribe",
		View: unsubscribeView{Token: token, Label: mailKindLabels[kind], Valid: err == nil}})
}

// handleUnsubscribe turns off the mail a link names: from the page's
// form, or a mail client's one-click POST (RFC 8058), the token in the
// query or the form.
func (s *Server) handleUnsubscribe(c echo.Context) error {
	token := c.FormValue("token")
	if token == "" {
		token = c.QueryParam("token")
	}
	userID, kind, err := s.parseUnsubscribeToken(token)
	if err != nil {
		return s.render(c, http.StatusBadRequest, pageView{Name: "unsubscribe", Title: "Unsubscribe",
			View: unsubscribeView{Token: token}})
	}
	if err := s.db.SetMailOptOut(c.Request().Context(), userID, kind, true); err != nil {
		return s.renderError(c, nil, fmt.Errorf("unsubscribe: %w", err))
	}
	return s.render(c, http.StatusOK, pageView{Name: "unsubscribe", Title: "Unsubscribed",
		View: unsubscribeView{Token: token, Label: mailKindLabels[kind], Valid: true, Done: true}})
}
