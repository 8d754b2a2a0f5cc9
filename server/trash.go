package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Deleting a course or lesson moves it to the trash (db/trash.go): it is
// gone for everyone at once, media links included, and its teachers can
// restore it whole for the retention (30 days unless configured). The
// purge, a loop in every API process, then removes its media through the
// storage and its rows. Purging is idempotent: removing a prefix twice
// removes nothing the second time, and the rows go in one conditional
// delete, so several processes purging at once do no harm; an item is
// never restored once its retention has passed, so a purge never removes
// the media of something restored.

// DefaultTrashPurgeInterval is how often the trash is looked at for items
// past their retention.
const DefaultTrashPurgeInterval = time.Hour

// trashPurgeBatch bounds the courses and lessons one pass purges.
const trashPurgeBatch = 100

func (s *Server) registerTrashRoutes(g *echo.Group) {
	g.GET("/trash", s.handleTrashList, s.requireUser)
	g.POST("/trash/:kind/:id/restore", s.handleTrashRestore, s.requireUser)
	g.DELETE("/trash/:kind/:id", s.handleTrashPurge, s.requireUser, requireAdmin)
	g.DELETE("/trash", s.handleTrashEmpty, s.requireUser, requireAdmin)
}

// trashKinds maps the kinds in trash routes to trash item kinds.
var trashKinds = map[string]lectern.TrashKind{"courses": lectern.TrashCourse, "lessons": lectern.TrashLesson}

// trashRetention is how long an item stays restorable.
func (s *Server) trashRetention() time.Duration {
	if s.trashKeep > 0 {
		return s.trashKeep
	}
	return lectern.DefaultTrashRetention
}

// trashDays is the retention in days, rounded up, as pages and the trash
// list show it.
func (s *Server) trashDays() int {
	return int((s.trashRetention() + 24*time.Hour - 1) / (24 * time.Hour))
}

// handleCourseTrash moves a course to the trash (its teachers and
// admins): it disappears for everyone, its media links stop at once.
func (s *Server) handleCourseTrash(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, "delete it")
	if err != nil {
		return err
	}
	lessons, err := s.db.FindLessons(ctx, course.ID)
	if err != nil {
		return fmt.Errorf("find lessons: %w", err)
	}
	if err := s.db.TrashCourse(ctx, course.ID, u.ID); err != nil {
		return fmt.Errorf("delete course: %w", err)
	}
	for _, l := range lessons {
		s.invalidateAuth(ctx, "l:"+l.ID)
	}
	return c.NoContent(http.StatusNoContent)
}

// handleLessonDelete moves a lesson to the trash (course teachers and
// admins): it disappears for everyone, its media links stop at once, and
// a teacher can restore it whole until the retention has passed.
func (s *Server) handleLessonDelete(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "delete lessons")
	if err != nil {
		return err
	}
	if err := s.db.TrashLesson(ctx, l.ID, u.ID); err != nil {
		return fmt.Errorf("delete lesson: %w", err)
	}
	// Media links stop working now, in every API process (authcache.go).
	s.invalidateAuth(ctx, "l:"+l.ID)
	return c.NoContent(http.StatusNoContent)
}

// handleCourseArchive archives a course (its teachers and admins).
func (s *Server) handleCourseArchive(c echo.Context) error { return s.setArchived(c, true) }

// handleCourseUnarchive restores a course from the archive.
func (s *Server) handleCourseUnarchive(c echo.Context) error { return s.setArchived(c, false) }

func (s *Server) setArchived(c echo.Context, archived bool) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	doing := "archive it"
	if !archived {
		doing = "restore it"
	}
	course, err := s.findTaughtCourse(ctx, c.Param("id"), u, doing)
	if err != nil {
		return err
	}
	if err := s.db.SetCourseArchived(ctx, course.ID, archived); err != nil {
		return fmt.Errorf("archive course: %w", err)
	}
	if course, err = s.db.FindCourse(ctx, course.ID, u); err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	return c.JSON(http.StatusOK, courseView(course, u))
}

// trashItemJSON is a trash item with the days left before it is purged.
type trashItemJSON struct {
	*lectern.TrashItem
	// DaysLeft is the number of whole days before the purge, rounded up
	// (1 on its last day, 0 once due).
	DaysLeft int `json:"days_left"`
}

type trashListResponse struct {
	Items         []trashItemJSON `json:"items"`
	RetentionDays int             `json:"retention_days"`
}

func (s *Server) toTrashJSON(it *lectern.TrashItem) trashItemJSON {
	it.PurgeAt = it.DeletedAt.Add(s.trashRetention())
	left := it.PurgeAt.Sub(s.clock.Now())
	days := 0
	if left > 0 {
		days = int((left + 24*time.Hour - 1) / (24 * time.Hour))
	}
	return trashItemJSON{TrashItem: it, DaysLeft: days}
}

// handleTrashList lists what the caller may restore: the trashed courses
// they teach and the trashed lessons of courses they teach (everything,
// for an admin).
func (s *Server) handleTrashList(c echo.Context) error {
	items, err := s.db.FindTrash(c.Request().Context(), currentUser(c))
	if err != nil {
		return fmt.Errorf("find trash: %w", err)
	}
	resp := trashListResponse{Items: make([]trashItemJSON, 0, len(items)),
		RetentionDays: s.trashDays()}
	for _, it := range items {
		resp.Items = append(resp.Items, s.toTrashJSON(it))
	}
	return c.JSON(http.StatusOK, resp)
}

// findTrashItem returns the item a trash route names, if the caller may
// restore it.
func (s *Server) findTrashItem(c echo.Context) (*lectern.TrashItem, error) {
	kind, ok := trashKinds[c.Param("kind")]
	if !ok {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "the trash holds courses and lessons")
	}
	it, err := s.db.FindTrashItem(c.Request().Context(), kind, c.Param("id"), currentUser(c))
	if err != nil {
		return nil, fmt.Errorf("find trash item: %w", err)
	}
	return it, nil
}

// restoredJSON is what a restore brought back.
type restoredJSON struct {
	Kind        lectern.TrashKind `json:"kind"`
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	CourseID    string            `json:"course_id"`
	CourseTitle string            `json:"course_title"`
}

// handleTrashRestore brings a trashed course or lesson back whole (its
// course's teachers and admins): media, comments, progress, captions.
// Once its retention has passed it is the purge's, and 404.
func (s *Server) handleTrashRestore(c echo.Context) error {
	ctx := c.Request().Context()
	it, err := s.findTrashItem(c)
	if err != nil {
		return err
	}
	since := s.clock.Now().Add(-s.trashRetention())
	if err := s.db.RestoreFromTrash(ctx, it.Kind, it.ID, since); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return c.JSON(http.StatusOK, restoredJSON{Kind: it.Kind, ID: it.ID, Title: it.Title,
		CourseID: it.CourseID, CourseTitle: it.CourseTitle})
}

// handleTrashPurge removes one trashed course or lesson for good now,
// media and data (admins only).
func (s *Server) handleTrashPurge(c echo.Context) error {
	it, err := s.findTrashItem(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// Expired first, it can no longer be restored while its media goes.
	n, err := s.db.ExpireTrash(ctx, it.Kind, it.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return lectern.Errorf(lectern.ENOTFOUND, "%s not found in the trash", it.Kind)
	}
	if _, err := s.purge(ctx, db.ExpiredTrash{Kind: it.Kind, ID: it.ID}, s.purgeCutoff()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleTrashEmpty removes everything in the trash for good now (admins
// only) and says how many courses and lessons went.
func (s *Server) handleTrashEmpty(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.db.ExpireTrash(ctx, "", ""); err != nil {
		return err
	}
	n, err := s.PurgeTrash(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"purged": n})
}

// purgeCutoff is the time before which what went to the trash is
// removed: the retention ago.
func (s *Server) purgeCutoff() time.Time { return s.clock.Now().Add(-s.trashRetention()) }

// PurgeTrash removes for good, media then data, the courses and lessons
// whose retention has passed, and returns how many it removed. The purge
// loop calls it; it is safe to run in several processes at once.
func (s *Server) PurgeTrash(ctx context.Context) (int, error) {
	return s.purgeBefore(ctx, s.purgeCutoff())
}

// purgeBefore purges what went to the trash before before, in batches.
func (s *Server) purgeBefore(ctx context.Context, before time.Time) (int, error) {
	n := 0
	for {
		due, err := s.db.FindExpiredTrash(ctx, before, trashPurgeBatch)
		if err != nil {
			return n, err
		}
		var errs []error
		for _, e := range due {
			ok, err := s.purge(ctx, e, before)
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				n++
			}
		}
		if len(errs) > 0 || len(due) < trashPurgeBatch {
			return n, errors.Join(errs...)
		}
	}
}

// purge removes one item's media, then its rows. If the media cannot all
// be removed the rows stay, and the next pass tries again.
func (s *Server) purge(ctx context.Context, e db.ExpiredTrash, before time.Time) (bool, error) {
	ids, err := s.db.FindTrashLessonIDs(ctx, e.Kind, e.ID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if err := s.storage.DeletePrefix(ctx, lectern.LessonPrefix(id)); err != nil {
			return false, fmt.Errorf("purge media of lesson %s: %w", id, err)
		}
	}
	ok, err := s.db.PurgeTrash(ctx, e.Kind, e.ID, before)
	if err != nil {
		return false, fmt.Errorf("purge: %w", err)
	}
	return ok, nil
}

// startTrashPurge starts the purge loop, unless interval is negative.
func (s *Server) startTrashPurge(interval time.Duration) {
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = DefaultTrashPurgeInterval
	}
	s.trashPurge = startLoop(interval, func(ctx context.Context) {
		if n, err := s.PurgeTrash(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "trash purge", slog.Int("purged", n), slog.Any("error", err))
		} else if n > 0 {
			s.logger.InfoContext(ctx, "trash purge", slog.Int("purged", n))
		}
	})
}
