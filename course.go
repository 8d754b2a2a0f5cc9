package lectern

import (
	"strings"
	"time"
	"unicode"
)

// MemberRole is a user's role within one course.
type MemberRole string

// Course member roles.
const (
	MemberTeacher MemberRole = "teacher"
	MemberStudent MemberRole = "student"
)

// Course groups lessons and the people who teach and follow them.
type Course struct {
	ID          string    `json:"id" db:"id"`
	Title       string    `json:"title" db:"title"`
	Description string    `json:"description" db:"description"`
	JoinCode    string    `json:"join_code,omitempty" db:"join_code"`
	OwnerID     string    `json:"owner_id" db:"owner_id"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
	// MyRole is the viewer's role in the course, filled by queries made on
	// behalf of a user; empty for an admin who is not a member.
	MyRole MemberRole `json:"my_role,omitempty" db:"my_role"`
}

// CourseMember is one person in a course, with their role there.
type CourseMember struct {
	CourseID string     `json:"course_id" db:"course_id"`
	UserID   string     `json:"user_id" db:"user_id"`
	Name     string     `json:"name" db:"name"`
	Email    string     `json:"email" db:"email"`
	Role     MemberRole `json:"role" db:"role"`
	JoinedAt time.Time  `json:"joined_at" db:"joined_at"`
}

// NormalizeJoinCode is the form join codes are stored and compared in:
// upper case, without the spaces and hyphens people type or copy with
// them ("abcd-efgh ", "ABCD EFGH" and "ABCDEFGH" are one code).
func NormalizeJoinCode(code string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, code)
}

// FormatJoinCode shows a join code the way people read it aloud: in two
// halves joined by a hyphen ("ABCD-EFGH"). NormalizeJoinCode undoes it.
func FormatJoinCode(code string) string {
	r := []rune(NormalizeJoinCode(code))
	if n := len(r); n >= 6 && n%2 == 0 {
		return string(r[:n/2]) + "-" + string(r[n/2:])
	}
	return string(r)
}
