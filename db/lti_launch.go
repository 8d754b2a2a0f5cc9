package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// LTIPerson is someone an LMS vouches for.
type LTIPerson struct {
	Issuer, Sub, Name, Email string
	// Role is the account role a new user gets; an existing user whose
	// role is weaker is raised to it, never lowered.
	Role lectern.Role
}

// LTIContext is an LMS course as a launch describes it.
type LTIContext struct {
	ID, Title, MembershipsURL, LineItemsURL string
}

// LTILink is a resource link as a launch describes it.
type LTILink struct {
	ID, Title string
	// LessonID is the lesson the link's custom parameters name, if any.
	LessonID    string
	LineItemURL string
}

// LTILaunchApply is what a validated launch asks of the database.
type LTILaunchApply struct {
	PlatformID string
	Person     LTIPerson
	// CourseRole is the person's role in the context's course; "" for
	// none (the launch is let in only to a page that needs no course).
	CourseRole lectern.MemberRole
	// MayCreateCourse lets an unlinked context become a new course owned
	// by the person (an instructor's first launch).
	MayCreateCourse bool
	Context         *LTIContext
	Link            *LTILink
}

// LTILaunchResult is what a launch resolved to.
type LTILaunchResult struct {
	User      *lectern.User
	CourseID  string
	LessonID  string
	NewUser   bool
	NewCourse bool
	// ForeignLesson is set when the link named a lesson of another
	// course, which it was not linked to.
	ForeignLesson bool
}

// ApplyLTILaunch provisions a launch in one transaction: the user
// matched by (issuer, sub), created with their name and email on first
// launch; the context's course, created on an instructor's first launch
// and linked thereafter; the membership; and the resource link with the
// lesson it opens and its line item. An unknown context the person may
// not create is ENOTFOUND.
func (db *DB) ApplyLTILaunch(ctx context.Context, a LTILaunchApply) (*LTILaunchResult, error) {
	var res LTILaunchResult
	err := db.write(ctx, func(t tx) error {
		u, created, err := db.ltiUser(ctx, t, a.Person)
		if err != nil {
			return err
		}
		res.User, res.NewUser = u, created
		if a.Context == nil {
			return nil
		}
		if res.CourseID, res.NewCourse, err = db.ltiCourse(ctx, t, a, u); err != nil {
			return err
		}
		if err := ltiMembership(ctx, t, res.CourseID, u.ID, a.CourseRole, db.now()); err != nil {
			return err
		}
		if a.Link != nil {
			res.LessonID, res.ForeignLesson, err = db.ltiLinkLesson(ctx, t, a.PlatformID, res.CourseID, a.Link)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply lti launch: %w", err)
	}
	return &res, nil
}

// roleRank orders account roles by what they may do.
func roleRank(r lectern.Role) int {
	switch r {
	case lectern.RoleAdmin:
		return 2
	case lectern.RoleTeacher:
		return 1
	}
	return 0
}

// ltiUser finds or creates the user of (issuer, sub).
func (db *DB) ltiUser(ctx context.Context, t tx, p LTIPerson) (*lectern.User, bool, error) {
	var u lectern.User
	err := t.get(ctx, &u, `SELECT `+prefixed("u.", userColumns)+` FROM users u
		JOIN lti_users i ON i.user_id = u.id WHERE i.issuer = ? AND i.sub = ?`, p.Issuer, p.Sub)
	if err == nil {
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name = u.Name
		}
		role := u.Role
		if roleRank(p.Role) > roleRank(u.Role) {
			role = p.Role
		}
		if name != u.Name || role != u.Role {
			if _, err := t.exec(ctx, `UPDATE users SET name = ?, role = ? WHERE id = ?`, name, role, u.ID); err != nil {
				return nil, false, err
			}
			u.Name, u.Role = name, role
		}
		return &u, false, nil
	}
	if !notFound(err) {
		return nil, false, err
	}
	nu, err := db.insertLTIUser(ctx, t, p)
	if err != nil {
		return nil, false, err
	}
	if _, err := t.exec(ctx, `INSERT INTO lti_users (issuer, sub, user_id, created_at) VALUES (?, ?, ?, ?)`,
		p.Issuer, p.Sub, nu.ID, nu.CreatedAt); err != nil {
		return nil, false, err
	}
	return nu, true, nil
}

// insertLTIUser creates the account of an LMS user: no password (they
// come in through the LMS), their email when the LMS gave one that no
// account has, otherwise a placeholder in the reserved .invalid domain
// (matching by email would let an LMS claim a local account).
func (db *DB) insertLTIUser(ctx context.Context, t tx, p LTIPerson) (*lectern.User, error) {
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name = "LMS user"
	}
	role := p.Role
	if !role.Valid() {
		role = lectern.RoleStudent
	}
	email := normEmail(p.Email)
	if email != "" && strings.Contains(email, "@") {
		var n int
		if err := t.get(ctx, &n, `SELECT COUNT(*) FROM users WHERE email = ?`, email); err != nil {
			return nil, err
		}
		if n > 0 {
			email = ""
		}
	} else {
		email = ""
	}
	if email == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		email = "lti-" + hex.EncodeToString(b) + "@users.invalid"
	}
	u := &lectern.User{Email: email, Name: name, Role: role}
	if err := db.insertUser(ctx, t, u); err != nil {
		return nil, err
	}
	return u, nil
}

// prefixed puts prefix before every column of a comma-separated list.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// ltiCourse returns the course linked to the launch's context, creating
// it when allowed; the context's service URLs and title are refreshed.
func (db *DB) ltiCourse(ctx context.Context, t tx, a LTILaunchApply, u *lectern.User) (string, bool, error) {
	c := a.Context
	var courseID string
	err := t.get(ctx, &courseID, `SELECT course_id FROM lti_contexts WHERE platform_id = ? AND context_id = ?`, a.PlatformID, c.ID)
	if err == nil {
		_, err = t.exec(ctx, `UPDATE lti_contexts SET title = ?,
			memberships_url = CASE WHEN ? <> '' THEN ? ELSE memberships_url END,
			lineitems_url = CASE WHEN ? <> '' THEN ? ELSE lineitems_url END
			WHERE platform_id = ? AND context_id = ?`,
			c.Title, c.MembershipsURL, c.MembershipsURL, c.LineItemsURL, c.LineItemsURL, a.PlatformID, c.ID)
		return courseID, false, err
	}
	if !notFound(err) {
		return "", false, err
	}
	if !a.MayCreateCourse {
		return "", false, lectern.Errorf(lectern.ENOTFOUND, "This LMS course is not linked to Lectern yet: its teacher must open Lectern from it first.")
	}
	title := strings.TrimSpace(c.Title)
	if title == "" {
		title = "LMS course " + c.ID
	}
	course := &lectern.Course{ID: newID(), Title: title, OwnerID: u.ID, CreatedAt: db.now()}
	if err := insertCourse(ctx, t, course); err != nil {
		return "", false, err
	}
	_, err = t.exec(ctx, `INSERT INTO lti_contexts (platform_id, context_id, course_id, title, memberships_url, lineitems_url, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.PlatformID, c.ID, course.ID, c.Title, c.MembershipsURL, c.LineItemsURL, course.CreatedAt)
	return course.ID, true, err
}

// ltiMembership makes the user a member with the LMS's role: teachers are
// (made) teachers; students join, and a teacher stays a teacher.
func ltiMembership(ctx context.Context, t tx, courseID, userID string, role lectern.MemberRole, now any) error {
	// An archived course is read-only for everyone: its members still
	// open it, unchanged; nobody joins it.
	var course struct {
		Archived *time.Time `db:"archived_at"`
		Members  int        `db:"members"`
	}
	if err := t.get(ctx, &course, `SELECT c.archived_at, (SELECT COUNT(*) FROM course_members m
			WHERE m.course_id = c.id AND m.user_id = ?) AS members FROM courses c WHERE c.id = ?`, userID, courseID); err != nil {
		return err
	}
	if course.Archived != nil {
		if course.Members == 0 {
			return ErrJoinArchivedCourse()
		}
		return nil
	}
	switch role {
	case lectern.MemberTeacher:
		_, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (course_id, user_id) DO UPDATE SET role = excluded.role`, courseID, userID, role, now)
		return err
	case lectern.MemberStudent:
		_, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (course_id, user_id) DO NOTHING`, courseID, userID, role, now)
		return err
	}
	return nil
}

// ltiLinkLesson records the resource link and returns the lesson it
// opens: the one it was first linked to, or the lesson its custom
// parameter names when that lesson is of the link's course.
func (db *DB) ltiLinkLesson(ctx context.Context, t tx, platformID, courseID string, l *LTILink) (string, bool, error) {
	lessonID, foreign := "", false
	if l.LessonID != "" {
		var n int
		if err := t.get(ctx, &n, `SELECT COUNT(*) FROM lessons WHERE id = ? AND course_id = ?`, l.LessonID, courseID); err != nil {
			return "", false, err
		}
		if n == 1 {
			lessonID = l.LessonID
		} else {
			foreign = true
		}
	}
	var lesson *string
	if lessonID != "" {
		lesson = &lessonID
	}
	_, err := t.exec(ctx, `INSERT INTO lti_links (id, platform_id, resource_link_id, course_id, lesson_id, lineitem_url, title, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform_id, resource_link_id) DO UPDATE SET
			lesson_id = COALESCE(lti_links.lesson_id, excluded.lesson_id),
			lineitem_url = CASE WHEN excluded.lineitem_url <> '' THEN excluded.lineitem_url ELSE lti_links.lineitem_url END,
			title = excluded.title`,
		newID(), platformID, l.ID, courseID, lesson, l.LineItemURL, l.Title, db.now())
	if err != nil {
		return "", false, err
	}
	// A link copied into another LMS course keeps its first course: it
	// opens nothing in this one.
	var got *string
	err = t.get(ctx, &got, `SELECT lesson_id FROM lti_links WHERE platform_id = ? AND resource_link_id = ? AND course_id = ?`,
		platformID, l.ID, courseID)
	if notFound(err) {
		return "", foreign, nil
	}
	if err != nil {
		return "", false, err
	}
	if got == nil {
		return "", foreign, nil
	}
	return *got, false, nil
}
