package lectern

import "time"

// Section is a named, ordered group of a course's lessons (a week, a
// topic). A lesson belongs to at most one section; lessons in no section
// come before the first section.
type Section struct {
	ID        string    `json:"id" db:"id"`
	CourseID  string    `json:"course_id" db:"course_id"`
	Title     string    `json:"title" db:"title"`
	Position  int       `json:"position" db:"position"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// Outline is the order of a course: the lessons in no section, then each
// section with its lessons, all in order. Version counts the changes to
// that order; a reorder names the version it was made from, so that it
// cannot silently undo a change it did not see.
type Outline struct {
	CourseID    string           `json:"course_id"`
	Version     int64            `json:"version"`
	Unsectioned []string         `json:"unsectioned"`
	Sections    []OutlineSection `json:"sections"`
}

// OutlineSection is one section of an Outline and its lessons' IDs.
type OutlineSection struct {
	ID        string   `json:"id"`
	Title     string   `json:"title,omitempty"`
	LessonIDs []string `json:"lesson_ids"`
}
