package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// LTIRosterMember is one person of an LMS course's roster (NRPS), with
// the roles mapped as a launch maps them.
type LTIRosterMember struct {
	Person LTIPerson
	// CourseRole is the person's role in the course; "" for none.
	CourseRole lectern.MemberRole
	// Active is false for members the LMS lists as Inactive or Deleted.
	Active bool
}

// LTIRosterResult is what a roster sync changed.
type LTIRosterResult struct {
	// Members is how many active members with a course role the roster
	// listed.
	Members int `json:"members"`
	// Added are people who joined the course, NewUsers people Lectern
	// had not seen before (they have not launched yet).
	Added    int `json:"added"`
	NewUsers int `json:"new_users"`
	// Removed are LMS members taken out of the course: inactive, deleted,
	// or absent from the roster.
	Removed int `json:"removed"`
	// RemovedIDs are the users Removed counts, whose access the caller
	// must take away wherever it is cached.
	RemovedIDs []string `json:"-"`
	// Kept are members the LMS no longer lists who stay because a course
	// cannot lose its owner or last teacher.
	Kept int `json:"kept"`
}

// LTIContextRow is an LMS course linked to a Lectern course, with its
// roster's sync state.
type LTIContextRow struct {
	PlatformID      string     `json:"platform_id" db:"platform_id"`
	PlatformName    string     `json:"platform_name" db:"platform_name"`
	Issuer          string     `json:"-" db:"issuer"`
	ContextID       string     `json:"context_id" db:"context_id"`
	CourseID        string     `json:"course_id" db:"course_id"`
	Title           string     `json:"title" db:"title"`
	MembershipsURL  string     `json:"-" db:"memberships_url"`
	Roster          bool       `json:"roster" db:"-"`
	SyncedAt        *time.Time `json:"synced_at" db:"synced_at"`
	SyncAttemptedAt *time.Time `json:"sync_attempted_at" db:"sync_attempted_at"`
	SyncError       string     `json:"sync_error" db:"sync_error"`
	SyncedMembers   int        `json:"synced_members" db:"synced_members"`
	// CourseArchived is whether the Lectern course is archived: its
	// roster is then not synced (ErrRosterOfArchivedCourse).
	CourseArchived bool `json:"-" db:"course_archived"`
}

const ltiContextColumns = `x.platform_id, COALESCE(NULLIF(p.name, ''), p.issuer) AS platform_name, p.issuer,
	x.context_id, x.course_id, x.title, x.memberships_url, x.synced_at, x.sync_attempted_at, x.sync_error, x.synced_members,
	EXISTS (SELECT 1 FROM courses c WHERE c.id = x.course_id AND c.archived_at IS NOT NULL) AS course_archived`

// ErrRosterOfArchivedCourse is why the roster of an archived course is
// not synced: an archived course is read-only for everyone, its members
// included.
func ErrRosterOfArchivedCourse() error {
	return lectern.Errorf(lectern.ECONFLICT, "The Lectern course is archived, so it is read-only: "+
		"Lectern left its members as they were. A teacher can restore it from the archive to sync its roster again.")
}

func fillRoster(rows []*LTIContextRow) []*LTIContextRow {
	for _, r := range rows {
		r.Roster = r.MembershipsURL != ""
	}
	return rows
}

// FindLTIContexts returns the LMS courses linked to a Lectern course.
func (db *DB) FindLTIContexts(ctx context.Context, courseID string) ([]*LTIContextRow, error) {
	rows := []*LTIContextRow{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT `+ltiContextColumns+` FROM lti_contexts x
			JOIN lti_platforms p ON p.id = x.platform_id WHERE x.course_id = ? ORDER BY p.name, x.context_id`, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti contexts: %w", err)
	}
	return fillRoster(rows), nil
}

// FindLTIPlatformContexts returns the LMS courses of a platform linked
// to Lectern courses, those whose roster failed last first, then by
// title.
func (db *DB) FindLTIPlatformContexts(ctx context.Context, platformID string, limit int) ([]*LTIContextRow, error) {
	rows := []*LTIContextRow{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT `+ltiContextColumns+` FROM lti_contexts x
			JOIN lti_platforms p ON p.id = x.platform_id WHERE x.platform_id = ?
			ORDER BY x.sync_error = '', x.title, x.context_id LIMIT ?`, platformID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti platform contexts: %w", err)
	}
	return fillRoster(rows), nil
}

// FindLTIRostersDue returns linked LMS courses with a roster service
// whose last sync was tried before `before` (or never), oldest first;
// platformID, when not empty, keeps one platform's.
func (db *DB) FindLTIRostersDue(ctx context.Context, platformID string, before time.Time, limit int) ([]*LTIContextRow, error) {
	rows := []*LTIContextRow{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT `+ltiContextColumns+` FROM lti_contexts x
			JOIN lti_platforms p ON p.id = x.platform_id
			WHERE x.memberships_url <> '' AND (x.sync_attempted_at IS NULL OR x.sync_attempted_at < ?)
				AND (? = '' OR x.platform_id = ?)
			ORDER BY x.sync_attempted_at IS NOT NULL, x.sync_attempted_at, x.context_id LIMIT ?`,
			normTime(before), platformID, platformID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("find lti rosters due: %w", err)
	}
	return fillRoster(rows), nil
}

// ClaimLTIRoster marks a context's roster as being read now, when its
// last read was tried before `before` (or never), and reports whether it
// did: of several processes looking for rosters due, one reads each.
func (db *DB) ClaimLTIRoster(ctx context.Context, platformID, contextID string, before time.Time) (bool, error) {
	claimed := false
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `UPDATE lti_contexts SET sync_attempted_at = ?
			WHERE platform_id = ? AND context_id = ? AND (sync_attempted_at IS NULL OR sync_attempted_at < ?)`,
			db.now(), platformID, contextID, normTime(before))
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim lti roster: %w", err)
	}
	return claimed, nil
}

// MarkLTIRosterFailed records that reading a context's roster failed.
func (db *DB) MarkLTIRosterFailed(ctx context.Context, platformID, contextID, reason string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE lti_contexts SET sync_attempted_at = ?, sync_error = ?
			WHERE platform_id = ? AND context_id = ?`, db.now(), reason, platformID, contextID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark lti roster failed: %w", err)
	}
	return nil
}

// SyncLTIRoster applies a full roster of an LMS course to its Lectern
// course in one transaction: active members with a course role are
// provisioned (users created by (issuer, sub) as at launch) and join
// with their role; the course's other members known by this issuer
// (Inactive, Deleted, or absent from the roster) are taken out, except
// the course's owner and its last teacher. Local accounts (joined by
// code) are never touched. An archived course changes nothing
// (ErrRosterOfArchivedCourse). An empty roster changes nothing (EINVALID):
// an LMS does not list a course with nobody in it, so it is taken for a
// fault, not for everyone leaving.
func (db *DB) SyncLTIRoster(ctx context.Context, platformID, contextID, issuer string, roster []LTIRosterMember) (*LTIRosterResult, error) {
	var res LTIRosterResult
	err := db.write(ctx, func(t tx) error {
		var courseID string
		if err := t.get(ctx, &courseID, `SELECT course_id FROM lti_contexts WHERE platform_id = ? AND context_id = ?`,
			platformID, contextID); err != nil {
			if notFound(err) {
				return lectern.Errorf(lectern.ENOTFOUND, "This LMS course is not linked to a Lectern course.")
			}
			return err
		}
		var course struct {
			Owner    string     `db:"owner_id"`
			Archived *time.Time `db:"archived_at"`
		}
		if err := t.get(ctx, &course, `SELECT owner_id, archived_at FROM courses WHERE id = ?`+db.forUpdate(), courseID); err != nil {
			return err
		}
		if course.Archived != nil {
			return ErrRosterOfArchivedCourse()
		}
		owner := course.Owner
		keep := map[string]bool{}
		for _, m := range roster {
			if !m.Active || m.CourseRole == "" {
				continue
			}
			u, created, err := db.ltiUser(ctx, t, m.Person)
			if err != nil {
				return err
			}
			n, err := ltiRosterJoin(ctx, t, courseID, u.ID, m.CourseRole, db.now())
			if err != nil {
				return err
			}
			keep[u.ID] = true
			res.Members++
			res.Added += n
			if created {
				res.NewUsers++
			}
		}
		if res.Members == 0 {
			return lectern.Errorf(lectern.EINVALID, "The LMS listed nobody active in this course; Lectern changed nothing.")
		}
		removed, kept, err := ltiRosterPrune(ctx, t, courseID, owner, issuer, keep)
		if err != nil {
			return err
		}
		res.Removed, res.RemovedIDs, res.Kept = len(removed), removed, kept
		_, err = t.exec(ctx, `UPDATE lti_contexts SET synced_at = ?, sync_attempted_at = ?, sync_error = '', synced_members = ?
			WHERE platform_id = ? AND context_id = ?`, db.now(), db.now(), res.Members, platformID, contextID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync lti roster: %w", err)
	}
	return &res, nil
}

// ltiRosterJoin makes the user a member as a launch would (a teacher is
// made a teacher; a student joins, and a teacher stays a teacher) and
// reports whether they joined just now.
func ltiRosterJoin(ctx context.Context, t tx, courseID, userID string, role lectern.MemberRole, now any) (int, error) {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID); err != nil {
		return 0, err
	}
	if err := ltiMembership(ctx, t, courseID, userID, role, now); err != nil {
		return 0, err
	}
	return 1 - n, nil
}

// ltiRosterPrune takes out of the course its members known by issuer who
// are not in keep, teachers last, never the owner or the last teacher.
func ltiRosterPrune(ctx context.Context, t tx, courseID, owner, issuer string, keep map[string]bool) (removed []string, kept int, err error) {
	var gone []struct {
		UserID string             `db:"user_id"`
		Role   lectern.MemberRole `db:"role"`
	}
	if err := t.sel(ctx, &gone, `SELECT m.user_id, m.role FROM course_members m
		JOIN lti_users i ON i.user_id = m.user_id AND i.issuer = ?
		WHERE m.course_id = ? ORDER BY m.role = 'teacher', m.user_id`, issuer, courseID); err != nil {
		return nil, 0, err
	}
	var teachers int
	if err := t.get(ctx, &teachers, `SELECT COUNT(*) FROM course_members WHERE course_id = ? AND role = 'teacher'`, courseID); err != nil {
		return nil, 0, err
	}
	for _, m := range gone {
		if keep[m.UserID] {
			continue
		}
		if m.UserID == owner || (m.Role == lectern.MemberTeacher && teachers <= 1) {
			kept++
			continue
		}
		if _, err := t.exec(ctx, `DELETE FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, m.UserID); err != nil {
			return nil, 0, err
		}
		if m.Role == lectern.MemberTeacher {
			teachers--
		}
		removed = append(removed, m.UserID)
	}
	return removed, kept, nil
}
