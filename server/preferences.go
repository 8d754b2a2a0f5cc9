package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerPreferenceRoutes(g *echo.Group) {
	g.GET("/me/preferences", s.handlePreferencesGet, s.requireUser)
	g.PUT("/me/preferences", s.handlePreferencesPut, s.requireUser)
}

// preferencesJSON are a user's player preferences as the API shows them.
// caption_lang is "" for captions off.
type preferencesJSON struct {
	CaptionLang       string                    `json:"caption_lang"`
	CaptionSize       lectern.CaptionSize       `json:"caption_size"`
	CaptionBackground lectern.CaptionBackground `json:"caption_background"`
	// UpdatedAt is null until the user first changes something.
	UpdatedAt *time.Time `json:"updated_at"`
}

func toPreferencesJSON(p *lectern.Preferences) preferencesJSON {
	out := preferencesJSON{CaptionLang: p.CaptionLang, CaptionSize: p.CaptionSize, CaptionBackground: p.CaptionBackground}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = &p.UpdatedAt
	}
	return out
}

// preferencesRequest holds the preferences to change; an absent field is
// left as it is.
type preferencesRequest struct {
	CaptionLang       *string                    `json:"caption_lang"`
	CaptionSize       *lectern.CaptionSize       `json:"caption_size"`
	CaptionBackground *lectern.CaptionBackground `json:"caption_background"`
}

// handlePreferencesGet gives the user their player preferences (the
// defaults until they change one).
func (s *Server) handlePreferencesGet(c echo.Context) error {
	p, err := s.db.FindPreferences(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPreferencesJSON(p))
}

// handlePreferencesPut changes the preferences the body names and answers
// with all of them. caption_lang is a language tag, stored in canonical
// form, or "" for captions off; it need not be one any lesson has (the
// player picks the closest track a lesson offers).
func (s *Server) handlePreferencesPut(c echo.Context) error {
	var req preferencesRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.CaptionLang == nil && req.CaptionSize == nil && req.CaptionBackground == nil {
		return lectern.Errorf(lectern.EINVALID, "nothing to change: send caption_lang, caption_size or caption_background")
	}
	if req.CaptionLang != nil && *req.CaptionLang != "" {
		lang, _, err := parseCaptionLang(*req.CaptionLang)
		if err != nil {
			return err
		}
		req.CaptionLang = &lang
	}
	p, err := s.db.UpdatePreferences(c.Request().Context(), currentUser(c).ID, lectern.PreferencesUpdate{
		CaptionLang: req.CaptionLang, CaptionSize: req.CaptionSize, CaptionBackground: req.CaptionBackground,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPreferencesJSON(p))
}
