package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// People (migration 00021): course roles including teaching assistants,
// new join codes, invitations by email, and the admin's view of accounts
// (deactivation, site roles, what a user owns).

// lockCourseOwner locks courseID's row (on PostgreSQL; SQLite writers take
// turns anyway), so that changes to one course's teachers take turns, and
// returns its owner. ENOTFOUND when there is no such course.
func (db *DB) lockCourseOwner(ctx context.Context, t tx, courseID string) (string, error) {
	var owner string
	err := t.get(ctx, &owner, `SELECT owner_id FROM courses WHERE id = ?`+db.forUpdate(), courseID)
	if notFound(err) {
		return "", lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	return owner, err
}

// keepATeacher returns ECONFLICT with msg unless courseID has more than
// one teacher: what taking one away must leave.
func keepATeacher(ctx context.Context, t tx, courseID, msg string) error {
	var teachers int
	if err := t.get(ctx, &teachers, `SELECT COUNT(*) FROM course_members
		WHERE course_id = ? AND role = 'teacher'`, courseID); err != nil {
		return err
	}
	if teachers <= 1 {
		return lectern.Errorf(lectern.ECONFLICT, "%s", msg)
	}
	return nil
}

// SetCourseMemberRole changes the role of userID in courseID. It returns
// ENOTFOUND when the user is not a member, EINVALID for an unknown role,
// and ECONFLICT when the change would take the teacher role from the
// course's owner or from its last teacher: a course always keeps someone
// who teaches it.
func (db *DB) SetCourseMemberRole(ctx context.Context, courseID, userID string, role lectern.MemberRole) error {
	if !role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be teacher, ta or student")
	}
	err := db.write(ctx, func(t tx) error {
		owner, err := db.lockCourseOwner(ctx, t, courseID)
		if err != nil {
			return err
		}
		var cur lectern.MemberRole
		err = t.get(ctx, &cur, `SELECT role FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "course member not found")
		}
		if err != nil || cur == role {
			return err
		}
		if cur == lectern.MemberTeacher {
			if owner == userID {
				return lectern.Errorf(lectern.ECONFLICT, "the teacher who created this course stays one of its teachers")
			}
			if err := keepATeacher(ctx, t, courseID, "a course needs a teacher: make someone else a teacher first"); err != nil {
				return err
			}
		}
		_, err = t.exec(ctx, `UPDATE course_members SET role = ? WHERE course_id = ? AND user_id = ?`, role, courseID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set course member role: %w", err)
	}
	return nil
}

// AddNewCourseMember makes userID a member of courseID with role. Unlike
// AddCourseMember it changes nothing for someone already in the course:
// that is ECONFLICT (their role is changed with SetCourseMemberRole).
func (db *DB) AddNewCourseMember(ctx context.Context, courseID, userID string, role lectern.MemberRole) error {
	if !role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be teacher, ta or student")
	}
	err := db.write(ctx, func(t tx) error { return addNewMember(ctx, t, courseID, userID, role, db.now()) })
	if err != nil {
		return fmt.Errorf("add course member: %w", err)
	}
	return nil
}

func addNewMember(ctx context.Context, t tx, courseID, userID string, role lectern.MemberRole, now time.Time) error {
	if err := courseExists(ctx, t, courseID); err != nil {
		return err
	}
	if err := userExists(ctx, t, userID); err != nil {
		return err
	}
	n, err := t.exec(ctx, `INSERT INTO course_members (course_id, user_id, role, joined_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (course_id, user_id) DO NOTHING`, courseID, userID, role, now)
	if err != nil {
		return err
	}
	if n == 0 {
		return lectern.Errorf(lectern.ECONFLICT, "already a member of this course")
	}
	return nil
}

// RotateJoinCode gives courseID a new join code and returns it: the old
// code stops working at once. ENOTFOUND when there is no such course.
func (db *DB) RotateJoinCode(ctx context.Context, courseID string) (string, error) {
	var code string
	err := db.write(ctx, func(t tx) error {
		if err := courseExists(ctx, t, courseID); err != nil {
			return err
		}
		for range maxJoinCodeTries {
			code = newJoinCode()
			var taken int
			if err := t.get(ctx, &taken, `SELECT COUNT(*) FROM courses WHERE join_code = ?`, code); err != nil {
				return err
			}
			if taken == 0 {
				_, err := t.exec(ctx, `UPDATE courses SET join_code = ? WHERE id = ?`, code, courseID)
				return err
			}
		}
		return fmt.Errorf("no free join code after %d tries", maxJoinCodeTries)
	})
	if err != nil {
		return "", fmt.Errorf("rotate join code: %w", err)
	}
	return code, nil
}

// CourseInvitation is an invitation to a course sent by email to an
// address with no account. Only a hash of its link's token is stored.
type CourseInvitation struct {
	TokenHash string             `db:"token_hash"`
	CourseID  string             `db:"course_id"`
	Email     string             `db:"email"`
	Role      lectern.MemberRole `db:"role"`
	InvitedBy *string            `db:"invited_by"`
	CreatedAt time.Time          `db:"created_at"`
	ExpiresAt time.Time          `db:"expires_at"`
	UsedAt    *time.Time         `db:"used_at"`
	// CourseTitle is filled by FindCourseInvitation.
	CourseTitle string `db:"course_title"`
}

const invitationColumns = `i.token_hash, i.course_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at, i.used_at`

// CreateCourseInvitation stores an invitation, normalising inv.Email and
// filling inv.CreatedAt.
func (db *DB) CreateCourseInvitation(ctx context.Context, inv *CourseInvitation) error {
	if !inv.Role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be teacher, ta or student")
	}
	ni := *inv
	ni.Email, ni.CreatedAt, ni.ExpiresAt, ni.UsedAt = normEmail(inv.Email), db.now(), normTime(inv.ExpiresAt), nil
	err := db.write(ctx, func(t tx) error {
		if err := courseExists(ctx, t, ni.CourseID); err != nil {
			return err
		}
		_, err := t.named(ctx, `INSERT INTO course_invitations (token_hash, course_id, email, role, invited_by, created_at, expires_at)
			VALUES (:token_hash, :course_id, :email, :role, :invited_by, :created_at, :expires_at)`, &ni)
		return err
	})
	if err != nil {
		return fmt.Errorf("create course invitation: %w", err)
	}
	*inv = ni
	return nil
}

// DeleteCourseInvitation removes an invitation, such as one whose mail
// was never sent.
func (db *DB) DeleteCourseInvitation(ctx context.Context, tokenHash string) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `DELETE FROM course_invitations WHERE token_hash = ?`, tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete course invitation: %w", err)
	}
	return nil
}

// CountCourseInvitations returns how many invitations to courseID were
// made for email since since: the limit on invitation mails.
func (db *DB) CountCourseInvitations(ctx context.Context, courseID, email string, since time.Time) (int, error) {
	var n int
	err := db.read(ctx, func(t tx) error {
		return t.get(ctx, &n, `SELECT COUNT(*) FROM course_invitations WHERE course_id = ? AND email = ? AND created_at > ?`,
			courseID, normEmail(email), normTime(since))
	})
	if err != nil {
		return 0, fmt.Errorf("count course invitations: %w", err)
	}
	return n, nil
}

func findLiveInvitation(ctx context.Context, t tx, inv *CourseInvitation, tokenHash string, now time.Time) error {
	return t.get(ctx, inv, `SELECT `+invitationColumns+`, c.title AS course_title
		FROM course_invitations i JOIN courses c ON c.id = i.course_id
		WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ? AND c.deleted_at IS NULL`, tokenHash, now)
}

var errInvitationGone = lectern.Errorf(lectern.ENOTFOUND, "this invitation has expired or was already used")

// FindCourseInvitation returns the unused, unexpired invitation whose
// hash is tokenHash, with its course's title; otherwise ENOTFOUND.
func (db *DB) FindCourseInvitation(ctx context.Context, tokenHash string) (*CourseInvitation, error) {
	var inv CourseInvitation
	err := db.read(ctx, func(t tx) error { return findLiveInvitation(ctx, t, &inv, tokenHash, db.now()) })
	if notFound(err) {
		return nil, errInvitationGone
	}
	if err != nil {
		return nil, fmt.Errorf("find course invitation: %w", err)
	}
	return &inv, nil
}

// AcceptCourseInvitation spends the invitation whose hash is tokenHash:
// it creates u (a student account unless u.Role says otherwise) with the
// invitation's address and makes it a member of the course with the
// invitation's role. It returns the invitation. An invitation that is
// unknown, used or expired is ENOTFOUND; an address that got an account
// meanwhile is ECONFLICT; in both cases nothing changes.
func (db *DB) AcceptCourseInvitation(ctx context.Context, tokenHash string, u *lectern.User) (*CourseInvitation, error) {
	var inv CourseInvitation
	err := db.write(ctx, func(t tx) error {
		now := db.now()
		if err := findLiveInvitation(ctx, t, &inv, tokenHash, now); err != nil {
			if notFound(err) {
				return errInvitationGone
			}
			return err
		}
		u.Email = inv.Email
		if u.Role == "" {
			u.Role = lectern.RoleStudent
		}
		if err := db.insertUser(ctx, t, u); err != nil {
			if lectern.ErrorCode(err) == lectern.ECONFLICT {
				return lectern.Errorf(lectern.ECONFLICT, "an account with this address exists now: log in, then use the course's join link")
			}
			return err
		}
		if err := addNewMember(ctx, t, inv.CourseID, u.ID, inv.Role, now); err != nil {
			return err
		}
		_, err := t.exec(ctx, `UPDATE course_invitations SET used_at = ? WHERE token_hash = ?`, now, tokenHash)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("accept course invitation: %w", err)
	}
	return &inv, nil
}

// SetUserActive deactivates (active false) or reactivates an account.
// Deactivating deletes its sessions and API tokens, so they end at once
// and do not come back on reactivation, and returns the token hashes of
// both for the caller's caches; everything else the account has stays.
// ENOTFOUND when there is no such user; ECONFLICT for the last active
// admin.
func (db *DB) SetUserActive(ctx context.Context, userID string, active bool) ([]string, error) {
	var ended []string
	err := db.write(ctx, func(t tx) error {
		if err := lockUsers(ctx, db, t); err != nil {
			return err
		}
		var u lectern.User
		err := t.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "user not found")
		}
		if err != nil {
			return err
		}
		if active {
			_, err := t.exec(ctx, `UPDATE users SET deactivated_at = NULL WHERE id = ?`, userID)
			return err
		}
		if u.DeactivatedAt != nil {
			return nil
		}
		if u.Role == lectern.RoleAdmin {
			if err := otherAdmins(ctx, t, userID, "deactivate"); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `UPDATE users SET deactivated_at = ? WHERE id = ?`, db.now(), userID); err != nil {
			return err
		}
		ended, err = endCredentials(ctx, t, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set user active: %w", err)
	}
	return ended, nil
}

// lockUsers makes changes to who is an admin take turns on PostgreSQL
// (SQLite's writers take turns anyway), so that two admins demoting each
// other cannot leave none.
func lockUsers(ctx context.Context, db *DB, t tx) error {
	if db.dialect != DialectPostgres {
		return nil
	}
	_, err := t.exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// otherAdmins returns ECONFLICT unless an active admin other than userID
// exists.
func otherAdmins(ctx context.Context, t tx, userID, doing string) error {
	var n int
	if err := t.get(ctx, &n, `SELECT COUNT(*) FROM users
		WHERE role = 'admin' AND deactivated_at IS NULL AND id <> ?`, userID); err != nil {
		return err
	}
	if n == 0 {
		return lectern.Errorf(lectern.ECONFLICT, "this is the last active admin: make someone else an admin before you %s this account", doing)
	}
	return nil
}

// SetUserRole changes a user's site role. ENOTFOUND when there is no
// such user, EINVALID for an unknown role, ECONFLICT when it would leave
// no active admin.
func (db *DB) SetUserRole(ctx context.Context, userID string, role lectern.Role) error {
	if !role.Valid() {
		return lectern.Errorf(lectern.EINVALID, "role must be admin, teacher or student")
	}
	err := db.write(ctx, func(t tx) error {
		if err := lockUsers(ctx, db, t); err != nil {
			return err
		}
		var cur lectern.Role
		err := t.get(ctx, &cur, `SELECT role FROM users WHERE id = ?`, userID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "user not found")
		}
		if err != nil || cur == role {
			return err
		}
		if cur == lectern.RoleAdmin {
			if err := otherAdmins(ctx, t, userID, "change the role of"); err != nil {
				return err
			}
		}
		_, err = t.exec(ctx, `UPDATE users SET role = ? WHERE id = ?`, role, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set user role: %w", err)
	}
	return nil
}

// OwnedCourse is a course in a user's holdings.
type OwnedCourse struct {
	ID      string             `db:"id" json:"id"`
	Title   string             `db:"title" json:"title"`
	Role    lectern.MemberRole `db:"role" json:"role"`
	Owner   bool               `db:"owner" json:"owner"`
	Lessons int                `db:"lessons" json:"lessons"`
}

// UserHoldings is what an account owns and has made: what an admin sees
// before deleting it.
type UserHoldings struct {
	// Courses are the courses they teach or assist, those they created
	// first.
	Courses []OwnedCourse `json:"courses"`
	// Lessons is how many lessons the courses they created hold.
	Lessons int `json:"lessons"`
	// Comments is how many comments and questions they wrote.
	Comments int `json:"comments"`
	// StorageBytes is what the lessons of the courses they created take
	// in storage, as last measured.
	StorageBytes int64 `json:"storage_bytes"`
	// Memberships is how many courses they belong to in all.
	Memberships int `json:"memberships"`
}

// FindUserHoldings returns what userID owns. ENOTFOUND when there is no
// such user.
func (db *DB) FindUserHoldings(ctx context.Context, userID string) (*UserHoldings, error) {
	h := UserHoldings{Courses: []OwnedCourse{}}
	err := db.read(ctx, func(t tx) error {
		if err := userExists(ctx, t, userID); err != nil {
			return err
		}
		if err := t.sel(ctx, &h.Courses, `SELECT c.id, c.title, COALESCE(m.role, 'teacher') AS role,
				CASE WHEN c.owner_id = ? THEN 1 ELSE 0 END AS owner,
				(SELECT COUNT(*) FROM lessons l WHERE l.course_id = c.id AND l.deleted_at IS NULL) AS lessons
			FROM courses c LEFT JOIN course_members m ON m.course_id = c.id AND m.user_id = ?
			WHERE c.owner_id = ? OR m.role IN ('teacher', 'ta')
			ORDER BY CASE WHEN c.owner_id = ? THEN 0 ELSE 1 END, c.title, c.id`, userID, userID, userID, userID); err != nil {
			return err
		}
		if err := t.get(ctx, &h.Lessons, `SELECT COUNT(*) FROM lessons l JOIN courses c ON c.id = l.course_id
			WHERE c.owner_id = ?`, userID); err != nil {
			return err
		}
		if err := t.get(ctx, &h.Comments, `SELECT COUNT(*) FROM comments WHERE author_id = ?`, userID); err != nil {
			return err
		}
		return t.get(ctx, &h.Memberships, `SELECT COUNT(*) FROM course_members WHERE user_id = ?`, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("find user holdings: %w", err)
	}
	usage, err := db.StorageUsage(ctx, userID)
	if err != nil {
		return nil, err
	}
	h.StorageBytes = usage[userID]
	return &h, nil
}

// endCredentials deletes the user's sessions and API tokens and returns
// their token hashes, so that the caller can end what they opened
// (cached credentials, event streams).
func endCredentials(ctx context.Context, t tx, userID string) ([]string, error) {
	ended, err := endSessions(ctx, t, userID, "")
	if err != nil {
		return nil, err
	}
	var tokens []string
	if err := t.sel(ctx, &tokens, `SELECT token_hash FROM api_tokens WHERE user_id = ?`, userID); err != nil {
		return nil, err
	}
	if _, err := t.exec(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, userID); err != nil {
		return nil, err
	}
	return append(ended, tokens...), nil
}

// DeleteUser deletes an account and what is only theirs (sessions,
// tokens, memberships, comments, progress), and returns the token hashes
// of the sessions and API tokens it ended, as SetUserActive does. It
// returns ENOTFOUND when there is no such user, ECONFLICT while they own
// a course (its lessons would go with them: the course goes to another
// teacher or the trash first) or when they are the last active admin.
func (db *DB) DeleteUser(ctx context.Context, userID string) ([]string, error) {
	var ended []string
	err := db.write(ctx, func(t tx) error {
		if err := lockUsers(ctx, db, t); err != nil {
			return err
		}
		var role lectern.Role
		err := t.get(ctx, &role, `SELECT role FROM users WHERE id = ?`, userID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "user not found")
		}
		if err != nil {
			return err
		}
		if role == lectern.RoleAdmin {
			if err := otherAdmins(ctx, t, userID, "delete"); err != nil {
				return err
			}
		}
		var owned int
		if err := t.get(ctx, &owned, `SELECT COUNT(*) FROM courses WHERE owner_id = ?`, userID); err != nil {
			return err
		}
		if owned > 0 {
			return lectern.Errorf(lectern.ECONFLICT, "this account created %d course(s); they would lose their lessons: delete them, or deactivate the account instead", owned)
		}
		if ended, err = endCredentials(ctx, t, userID); err != nil {
			return err
		}
		_, err = t.exec(ctx, `DELETE FROM users WHERE id = ?`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete user: %w", err)
	}
	return ended, nil
}
