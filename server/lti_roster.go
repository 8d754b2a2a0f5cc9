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
	"github.com/lectern/lectern/lti"
)

// Names and Role Provisioning 2.0: Lectern reads the roster of each
// linked LMS course from the membership URL its launches gave (with a
// client-credentials token, following rel="next" pages) and makes the
// Lectern course match: students appear before they ever launch, and
// those the LMS lists as Inactive or Deleted, or no longer lists, lose
// access (db.SyncLTIRoster). Roles are mapped as at launch. A course's
// teachers sync on demand, admins a whole platform, and a background
// pass syncs every course every LTIRosterInterval.

const (
	// DefaultLTIRosterInterval is how often a roster is read again.
	DefaultLTIRosterInterval = 6 * time.Hour
	// ltiRosterPass is how often the background sync looks for rosters
	// due (at most; more often when the interval is shorter).
	ltiRosterPass = time.Minute
	// ltiRosterBatch bounds the rosters one pass (or one admin's sync)
	// reads.
	ltiRosterBatch = 20
)

func (s *Server) registerLTIRosterRoutes(api *echo.Group) {
	api.GET("/courses/:id/lti", s.handleCourseLTI, s.requireUser)
	api.POST("/courses/:id/lti/sync", s.handleCourseLTISync, s.requireUser)
	api.POST("/admin/lti/platforms/:id/sync", s.handleLTIPlatformSync, s.requireUser, requireAdmin)
}

// startLTIRosters starts the periodic sync, unless interval is negative.
func (s *Server) startLTIRosters(interval time.Duration) {
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = DefaultLTIRosterInterval
	}
	s.rosters = startLoop(min(interval, ltiRosterPass), func(ctx context.Context) {
		if _, _, err := s.syncLTIRostersDue(ctx, "", s.clock.Now().Add(-interval)); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "lti rosters", slog.Any("error", err))
		}
	})
}

// syncLTIRostersDue syncs the rosters last tried before `before` (of one
// platform, when platformID is set), each claimed first so that two
// processes do not read the same one, and counts those synced and failed.
func (s *Server) syncLTIRostersDue(ctx context.Context, platformID string, before time.Time) (synced, failed int, err error) {
	due, err := s.db.FindLTIRostersDue(ctx, platformID, before, ltiRosterBatch)
	if err != nil {
		return 0, 0, err
	}
	for _, row := range due {
		claimed, err := s.db.ClaimLTIRoster(ctx, row.PlatformID, row.ContextID, before)
		if err != nil {
			return synced, failed, err
		}
		if !claimed {
			continue // another process is reading it
		}
		if _, err := s.syncLTIRoster(ctx, row); err != nil {
			if ctx.Err() != nil {
				return synced, failed, ctx.Err()
			}
			failed++
			continue
		}
		synced++
	}
	return synced, failed, nil
}

// syncLTIRoster reads one linked course's roster and applies it. A
// failure is recorded on the context (the teacher and admins see it) and
// returned as an error whose message says what happened in words.
func (s *Server) syncLTIRoster(ctx context.Context, row *db.LTIContextRow) (*db.LTIRosterResult, error) {
	p, err := s.db.FindLTIPlatform(ctx, row.PlatformID)
	if err != nil {
		return nil, fmt.Errorf("find platform: %w", err)
	}
	res, err := s.readAndApplyRoster(ctx, p, row)
	if err != nil {
		s.logger.WarnContext(ctx, "lti roster not synced", slog.String("platform", p.ID),
			slog.String("context", row.ContextID), slog.Any("error", err))
		reason := lectern.ErrorMessage(err)
		if mErr := s.db.MarkLTIRosterFailed(ctx, row.PlatformID, row.ContextID, reason); mErr != nil {
			return nil, errors.Join(err, mErr)
		}
		return nil, err
	}
	return res, nil
}

func (s *Server) readAndApplyRoster(ctx context.Context, p *lectern.LTIPlatform, row *db.LTIContextRow) (*db.LTIRosterResult, error) {
	if row.CourseArchived {
		// Not worth asking the LMS; SyncLTIRoster checks it again.
		return nil, db.ErrRosterOfArchivedCourse()
	}
	members, err := s.ltiServices(p.ID, p.TokenURL, p.ClientID).Roster(ctx, row.MembershipsURL)
	if err != nil {
		var se *lti.ServiceError
		if errors.As(err, &se) && se.Temporary() {
			return nil, lectern.Errorf(lectern.EUNAVAILABLE, "The LMS did not answer with the roster of %q (%s). Try again later.", row.Title, se)
		}
		return nil, lectern.Errorf(lectern.EINVALID, "The LMS refused to give Lectern the roster of %q (%s). "+
			"Check that the LMS grants Lectern the Names and Role Provisioning service.", row.Title, err)
	}
	roster := make([]db.LTIRosterMember, 0, len(members))
	for _, m := range members {
		account, member, ok := ltiRoleFor(p, lti.Roles(m.Roles))
		if !ok || m.UserID == "" {
			continue
		}
		roster = append(roster, db.LTIRosterMember{Active: m.Active() && !isDeleted(m),
			Person:     db.LTIPerson{Issuer: p.Issuer, Sub: m.UserID, Name: m.DisplayName(), Email: m.Email, Role: account},
			CourseRole: member})
	}
	res, err := s.db.SyncLTIRoster(ctx, p.ID, row.ContextID, p.Issuer, roster)
	if err != nil {
		return nil, err
	}
	// Those removed lose their media links now, as when a teacher
	// removes a member (removeMember).
	for _, id := range res.RemovedIDs {
		s.invalidateAuth(ctx, "u:"+id)
	}
	return res, nil
}

func isDeleted(m lti.Member) bool { return m.Status == "Deleted" }

// ltiCourseJSON is a course's LMS links and their rosters' state.
type ltiCourseJSON struct {
	Contexts []*db.LTIContextRow `json:"contexts"`
}

// handleCourseLTI shows a course's teachers which LMS courses it is
// linked to, and when their rosters were last synced.
func (s *Server) handleCourseLTI(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "see its LMS links")
	if err != nil {
		return err
	}
	rows, err := s.db.FindLTIContexts(ctx, course.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ltiCourseJSON{Contexts: rows})
}

// ltiSyncJSON is what a teacher's sync did.
type ltiSyncJSON struct {
	Contexts []ltiContextSyncJSON `json:"contexts"`
}

type ltiContextSyncJSON struct {
	*db.LTIContextRow
	Result *db.LTIRosterResult `json:"result,omitempty"`
	Error  string              `json:"error,omitempty"`
}

// handleCourseLTISync syncs the rosters of the LMS courses linked to a
// course now. It answers 200 with what each did when one worked, and the
// error of the first otherwise.
func (s *Server) handleCourseLTISync(c echo.Context) error {
	ctx := c.Request().Context()
	course, err := s.findTaughtCourse(ctx, c.Param("id"), currentUser(c), "sync its roster")
	if err != nil {
		return err
	}
	rows, err := s.db.FindLTIContexts(ctx, course.ID)
	if err != nil {
		return err
	}
	out := ltiSyncJSON{Contexts: []ltiContextSyncJSON{}}
	var firstErr error
	for _, row := range rows {
		if !row.Roster {
			continue
		}
		res, err := s.syncLTIRoster(ctx, row)
		item := ltiContextSyncJSON{LTIContextRow: row, Result: res}
		if err != nil {
			item.Error = lectern.ErrorMessage(err)
			firstErr = cmpOr(firstErr, err)
		}
		out.Contexts = append(out.Contexts, item)
	}
	if len(out.Contexts) == 0 {
		return lectern.Errorf(lectern.EINVALID, "This course is not linked to an LMS course that offers its roster: open Lectern from the LMS course first.")
	}
	if fresh, err := s.db.FindLTIContexts(ctx, course.ID); err == nil {
		for i := range out.Contexts {
			for _, f := range fresh {
				if f.PlatformID == out.Contexts[i].PlatformID && f.ContextID == out.Contexts[i].ContextID {
					out.Contexts[i].LTIContextRow = f
				}
			}
		}
	}
	for _, item := range out.Contexts {
		if item.Error == "" {
			return c.JSON(http.StatusOK, out)
		}
	}
	return firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// handleLTIPlatformSync syncs, now, the rosters of a platform's linked
// courses that were not synced in the last minute (at most
// ltiRosterBatch of them, oldest first).
func (s *Server) handleLTIPlatformSync(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.db.FindLTIPlatform(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	synced, failed, err := s.syncLTIRostersDue(ctx, p.ID, s.clock.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"synced": synced, "failed": failed})
}
