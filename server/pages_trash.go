package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// trashPagePath is the Trash page, linked from the courses page and the
// course settings.
const trashPagePath = "/trash"

func (s *Server) registerTrashPage(e *echo.Echo) {
	e.GET(trashPagePath, s.page(s.handleTrashPage), s.pageHeaders)
}

// handleTrashPage lists what the caller may restore, with the days left
// for each; trash.js restores items through the API.
func (s *Server) handleTrashPage(c echo.Context, u *lectern.User) error {
	items, err := s.db.FindTrash(c.Request().Context(), u)
	if err != nil {
		return fmt.Errorf("find trash: %w", err)
	}
	list := make([]trashItemJSON, 0, len(items))
	for _, it := range items {
		list = append(list, s.toTrashJSON(it))
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "trash", Title: "Trash", User: u, Nav: "courses", Script: "js/trash.js",
		Crumbs: []crumb{{"My courses", "/courses"}, {"Trash", ""}},
		View: struct {
			Items []trashItemJSON
			Days  int
			Admin bool
		}{list, s.trashDays(), u.IsAdmin()},
	})
}
