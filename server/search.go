package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func (s *Server) registerSearchRoutes(g *echo.Group) {
	g.GET("/search", s.handleSearch, s.requireUser)
}

// searchHitJSON is a hit with the link to its moment.
type searchHitJSON struct {
	*lectern.SearchHit
	URL string `json:"url"`
}

type searchResponse struct {
	Hits       []searchHitJSON `json:"hits"`
	NextCursor *string         `json:"next_cursor"`
}

// hitURL is where a hit leads: the lesson at the hit's moment, or the
// lesson itself for a title or description (where the player offers to
// resume).
func hitURL(h *lectern.SearchHit) string {
	if h.Kind == lectern.SearchTitle || h.Kind == lectern.SearchDescription {
		return "/watch/" + url.PathEscape(h.LessonID)
	}
	return watchLink(h.LessonID, h.AtMS)
}

// handleSearch searches the courses the caller belongs to, or the one
// course_id names (404 unless the caller may open it), for q: lesson
// titles and descriptions, chapters, captions and the entries the caller
// may see, best first, limit (1–50, default 20) a page.
func (s *Server) handleSearch(c echo.Context) error {
	f := db.SearchFilter{Query: c.QueryParam("q"), CourseID: c.QueryParam("course_id"), Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > db.MaxSearchLimit {
			return lectern.Errorf(lectern.EINVALID, "limit must be between 1 and %d", db.MaxSearchLimit)
		}
		f.Limit = n
	}
	hits, next, err := s.db.Search(c.Request().Context(), currentUser(c), f)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	resp := searchResponse{Hits: make([]searchHitJSON, 0, len(hits)), NextCursor: optString(next)}
	for _, h := range hits {
		resp.Hits = append(resp.Hits, searchHitJSON{SearchHit: h, URL: hitURL(h)})
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.JSON(http.StatusOK, resp)
}

// searchPageView is what the search page shows before its script runs:
// the form, filled in, and the course the search is limited to.
type searchPageView struct {
	Query  string
	Course *lectern.Course
}

// handleSearchPage is the results page: a search form (limited to a
// course when course_id names one the caller may open; 404 otherwise)
// whose results search.js fetches from the API and shows grouped by
// lesson.
func (s *Server) handleSearchPage(c echo.Context, u *lectern.User) error {
	v := searchPageView{Query: c.QueryParam("q")}
	crumbs := []crumb{{"My courses", "/courses"}}
	courseID := ""
	if id := c.QueryParam("course_id"); id != "" {
		course, err := s.db.FindCourse(c.Request().Context(), id, u)
		if err != nil {
			return fmt.Errorf("find course: %w", err)
		}
		v.Course, courseID = course, course.ID
		crumbs = append(crumbs, crumb{course.Title, "/courses/" + url.PathEscape(course.ID)})
	}
	crumbs = append(crumbs, crumb{"Search", ""})
	title := "Search"
	if v.Query != "" {
		title = "Search: " + truncateRunes(v.Query, 60)
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "search", Title: title, User: u, Nav: "courses", Script: "js/search.js",
		Crumbs: crumbs, View: v,
		Data: map[string]any{"q": v.Query, "course_id": courseID, "max_query": lectern.MaxSearchQuery},
	})
}
