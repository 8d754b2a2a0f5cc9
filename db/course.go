package db

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// joinCodeAlphabet is uppercase letters and digits without the ones
// people confuse when reading a code aloud or off a slide (0/O, 1/I/L).
const joinCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// joinCodeLen gives 31^8 ≈ 8.5e11 codes: collisions are rare and retried.
const joinCodeLen = 8

// maxJoinCodeTries bounds the retries on a join code collision.
const maxJoinCodeTries = 10

// newJoinCode returns a random join code, uniformly over the alphabet.
func newJoinCode() string {
	n := byte(len(joinCodeAlphabet))
	limit := 256 - 256%int(n) // reject bytes that would bias the modulo
	code := make([]byte, 0, joinCodeLen)
	buf := make([]byte, 2*joinCodeLen)
	for len(code) < joinCodeLen {
		_, _ = rand.Read(buf) // crypto/rand.Read never returns an error
		for _, b := range buf {
			if int(b) < limit && len(code) < joinCodeLen {
				code = append(code, joinCodeAlphabet[b%n])
			}
		}
	}
	return string(code)
}

// normJoinCode is the form join codes are stored and looked up in.
func normJoinCode(code string) string { return lectern.NormalizeJoinCode(code) }

func validMemberRole(r lectern.MemberRole) bool { return r.Valid() }

// courseColumns selects a course and the viewer's role in it from
// courses c LEFT JOIN course_members m.
const courseColumns = `c.id, c.title, c.description, c.join_code, c.owner_id, c.created_at,
	c.time_zone, c.archived_at, COALESCE(m.role, '') AS my_role`

// CreateCourse stores c, filling c.ID, c.JoinCode (unique), c.CreatedAt,
// and makes c.OwnerID a teacher of it (c.MyRole is "teacher"). It returns
// ENOTFOUND when the owner does not exist.
func (db *DB) CreateCourse(ctx context.Context, c *lectern.Course) error {
	if strings.TrimSpace(c.Title) == "" {
		return lectern.Errorf(lectern.EINVALID, "course title is required")
	}
	nc := *c
	nc.ID = newID()
	nc.CreatedAt = db.now()
	nc.MyRole = lectern.MemberTeacher
	nc.TimeZone = "UTC" // the column's default; UpdateCourse changes it
	err := db.write(ctx, func(t tx) error {
		if err := userExists(ctx, t, nc.OwnerID); err != nil {
			return err
		}
		if err := insertCourse(ctx, t, &nc); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at)
			VALUES (?, ?, ?, ?)`, nc.ID, nc.OwnerID, lectern.MemberTeacher, nc.CreatedAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("create course: %w", err)
	}
	*c = nc
	return nil
}

// insertCourse inserts c with a fresh join code, drawing another on a
// collision. ON CONFLICT DO NOTHING keeps a collision from aborting the
// transaction on PostgreSQL.
func insertCourse(ctx context.Context, t tx, c *lectern.Course) error {
	for range maxJoinCodeTries {
		c.JoinCode = newJoinCode()
		n, err := t.named(ctx, `INSERT INTO courses (id, title, description, join_code, owner_id, created_at)
			VALUES (:id, :title, :description, :join_code, :owner_id, :created_at)
			ON CONFLICT (join_code) DO NOTHING`, c)
		if err != nil {
			return fmt.Errorf("insert course: %w", err)
		}
		if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("insert course: no free join code after %d tries", maxJoinCodeTries)
}

func userExists(ctx context.Context, t tx, id string) error {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM users WHERE id = ?`, id); err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	if n == 0 {
		return lectern.Errorf(lectern.ENOTFOUND, "user not found")
	}
	return nil
}

// FindCourse returns the course with the given id as viewer sees it, with
// MyRole filled. It returns ENOTFOUND unless viewer is a member of the
// course or an admin (MyRole is "" for an admin who is not a member).
func (db *DB) FindCourse(ctx context.Context, id string, viewer *lectern.User) (*lectern.Course, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	var c lectern.Course
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &c, `SELECT `+courseColumns+`
			FROM courses c LEFT JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
			WHERE c.id = ? AND c.deleted_at IS NULL`, viewer.ID, id)
	})
	if notFound(err) || (err == nil && c.MyRole == "" && !viewer.IsAdmin()) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find course: %w", err)
	}
	return &c, nil
}

// FindCourseByJoinCode returns the course whose join code is code (in any
// form NormalizeJoinCode accepts), with MyRole filled for viewer: what a
// join link shows before anyone joins. Knowing the code is what entitles
// one to see the course's title. It returns ENOTFOUND when no course has
// the code.
func (db *DB) FindCourseByJoinCode(ctx context.Context, code string, viewer *lectern.User) (*lectern.Course, error) {
	if viewer == nil || normJoinCode(code) == "" {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "no course with this join code")
	}
	var c lectern.Course
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &c, `SELECT `+courseColumns+`
			FROM courses c LEFT JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
			WHERE c.join_code = ? AND c.deleted_at IS NULL`, viewer.ID, normJoinCode(code))
	})
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "no course with this join code")
	}
	if err != nil {
		return nil, fmt.Errorf("find course by join code: %w", err)
	}
	return &c, nil
}

// FindCourses returns the courses viewer teaches or follows that are not
// archived, newest first, with MyRole filled.
func (db *DB) FindCourses(ctx context.Context, viewer *lectern.User) ([]*lectern.Course, error) {
	return db.findCourses(ctx, viewer, `c.archived_at IS NULL`)
}

// FindArchivedCourses returns the archived courses viewer teaches or
// follows, most recently archived first, with MyRole filled.
func (db *DB) FindArchivedCourses(ctx context.Context, viewer *lectern.User) ([]*lectern.Course, error) {
	return db.findCourses(ctx, viewer, `c.archived_at IS NOT NULL`)
}

func (db *DB) findCourses(ctx context.Context, viewer *lectern.User, cond string) ([]*lectern.Course, error) {
	courses := []*lectern.Course{}
	if viewer == nil {
		return courses, nil
	}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &courses, `SELECT `+courseColumns+`
			FROM courses c JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
			WHERE c.deleted_at IS NULL AND `+cond+`
			ORDER BY c.archived_at DESC, c.created_at DESC, c.id DESC`, viewer.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("find courses: %w", err)
	}
	return courses, nil
}

// ErrJoinArchivedCourse is why nobody joins an archived course, by code
// or from an LMS.
func ErrJoinArchivedCourse() error {
	return lectern.Errorf(lectern.ECONFLICT, "this course is archived: nobody can join it until a teacher restores it")
}

// JoinCourse makes userID a student of the course whose join code is code
// (trimmed, any case) and returns the course with MyRole filled. Joining
// again changes nothing, and a teacher of the course stays a teacher. It
// returns ENOTFOUND when no course has the code.
func (db *DB) JoinCourse(ctx context.Context, code string, userID string) (*lectern.Course, error) {
	var c lectern.Course
	err := db.write(ctx, func(t tx) error {
		err := t.get(ctx, &c, `SELECT `+courseColumns+`
			FROM courses c LEFT JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
			WHERE c.join_code = ? AND c.deleted_at IS NULL`, userID, normJoinCode(code))
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "no course with this join code")
		}
		if err != nil || c.MyRole != "" {
			return err
		}
		if c.ArchivedAt != nil {
			return ErrJoinArchivedCourse()
		}
		if err := userExists(ctx, t, userID); err != nil {
			return err
		}
		n, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (course_id, user_id) DO NOTHING`,
			c.ID, userID, lectern.MemberStudent, db.now())
		if err != nil || n == 1 {
			c.MyRole = lectern.MemberStudent
			return err
		}
		// A concurrent JoinCourse or AddCourseMember got there first.
		return t.get(ctx, &c.MyRole, `SELECT role FROM course_members
			WHERE course_id = ? AND user_id = ?`, c.ID, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("join course: %w", err)
	}
	return &c, nil
}

// AddCourseMember makes userID a member of courseID with the given role,
// changing the role of an existing member (used to add co-teachers). It
// returns ENOTFOUND when the course or the user does not exist.
func (db *DB) AddCourseMember(ctx context.Context, courseID, userID string, role lectern.MemberRole) error {
	if !validMemberRole(role) {
		return lectern.Errorf(lectern.EINVALID, "member role must be teacher, ta or student")
	}
	err := db.write(ctx, func(t tx) error {
		if err := courseExists(ctx, t, courseID); err != nil {
			return err
		}
		if err := userExists(ctx, t, userID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (course_id, user_id) DO UPDATE SET role = excluded.role`,
			courseID, userID, role, db.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("add course member: %w", err)
	}
	return nil
}

func courseExists(ctx context.Context, t tx, id string) error {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM courses WHERE id = ?`, id); err != nil {
		return fmt.Errorf("find course: %w", err)
	}
	if n == 0 {
		return lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	return nil
}

// FindCourseMembers returns the members of a course, teachers first, then
// by name and email. It returns ENOTFOUND when the course does not exist;
// the caller has checked that the viewer may see the members.
func (db *DB) FindCourseMembers(ctx context.Context, courseID string) ([]*lectern.CourseMember, error) {
	members := []*lectern.CourseMember{}
	err := db.read(ctx, func(t tx) error {
		if err := courseExists(ctx, t, courseID); err != nil {
			return err
		}
		return t.sel(ctx, &members, `SELECT m.course_id, m.user_id, u.name, u.email, m.role, m.joined_at
			FROM course_members m JOIN users u ON u.id = m.user_id
			WHERE m.course_id = ?
			ORDER BY CASE m.role WHEN 'teacher' THEN 0 WHEN 'ta' THEN 1 ELSE 2 END, u.name, u.email`, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find course members: %w", err)
	}
	return members, nil
}
