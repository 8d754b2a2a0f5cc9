package lectern

import "time"

// DefaultTrashRetention is how long a deleted course or lesson stays in
// the trash, restorable, before its media and data are removed for good.
const DefaultTrashRetention = 30 * 24 * time.Hour

// TrashKind is what a trash item is.
type TrashKind string

// Trash item kinds.
const (
	TrashCourse TrashKind = "course"
	TrashLesson TrashKind = "lesson"
)

// TrashItem is a course or lesson in the trash.
type TrashItem struct {
	Kind  TrashKind `json:"kind" db:"kind"`
	ID    string    `json:"id" db:"id"`
	Title string    `json:"title" db:"title"`
	// CourseID and CourseTitle are the course of a lesson, and the course
	// itself for a course.
	CourseID    string    `json:"course_id" db:"course_id"`
	CourseTitle string    `json:"course_title" db:"course_title"`
	DeletedAt   time.Time `json:"deleted_at" db:"deleted_at"`
	// DeletedBy is the ID of who moved it to the trash.
	DeletedBy string `json:"deleted_by" db:"deleted_by"`
	// PurgeAt is when it will be removed for good (DeletedAt plus the
	// retention), filled by the server.
	PurgeAt time.Time `json:"purge_at" db:"-"`
}
