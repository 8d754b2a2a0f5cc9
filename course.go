package lectern

import (
	"strings"
	"time"
	_ "time/tzdata" // time zone names work where the system has no zoneinfo (containers)
	"unicode"
)

// MemberRole is a user's role within one course.
type MemberRole string

// Course member roles.
const (
	MemberTeacher MemberRole = "teacher"
	// MemberTA is a teaching assistant: they answer questions and see the
	// course's analytics and question inbox, but do not upload, edit or
	// delete anything, nor manage the course's members.
	MemberTA      MemberRole = "ta"
	MemberStudent MemberRole = "student"
)

// Valid reports whether r is one of the course member roles.
func (r MemberRole) Valid() bool {
	return r == MemberTeacher || r == MemberTA || r == MemberStudent
}

// Assists reports whether a member with role r helps teach the course
// (a teacher or a teaching assistant): they see entries meant for
// teachers, answer questions and see analytics.
func (r MemberRole) Assists() bool { return r == MemberTeacher || r == MemberTA }

// Course groups lessons and the people who teach and follow them.
type Course struct {
	ID          string    `json:"id" db:"id"`
	Title       string    `json:"title" db:"title"`
	Description string    `json:"description" db:"description"`
	JoinCode    string    `json:"join_code,omitempty" db:"join_code"`
	OwnerID     string    `json:"owner_id" db:"owner_id"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
	// TimeZone is the IANA time zone in which the course's teachers give
	// dates ("UTC" unless they chose one).
	TimeZone string `json:"time_zone" db:"time_zone"`
	// ArchivedAt is when the course was archived, nil when it is not: an
	// archived course is read-only for everyone and still watchable by its
	// members.
	ArchivedAt *time.Time `json:"archived_at" db:"archived_at"`
	// MyRole is the viewer's role in the course, filled by queries made on
	// behalf of a user; empty for an admin who is not a member.
	MyRole MemberRole `json:"my_role,omitempty" db:"my_role"`
}

// CourseUpdate holds the course settings to change; nil means unchanged.
type CourseUpdate struct {
	Title       *string
	Description *string
	TimeZone    *string
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

// ValidTimeZone checks that name is an IANA time zone name
// ("Europe/Paris", "UTC"), as a course's time zone must be.
func ValidTimeZone(name string) error {
	if name == "" || name == "Local" || strings.TrimSpace(name) != name {
		return Errorf(EINVALID, "time zone must be an IANA time zone name such as Europe/Paris or UTC")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return Errorf(EINVALID, "%q is not a time zone we know: give an IANA name such as Europe/Paris or UTC", name)
	}
	return nil
}
