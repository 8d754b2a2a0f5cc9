package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// lessonOrderJoin and lessonOrder put a course's lessons "l" in the
// course's order: the lessons in no section first, then section by
// section, each by position. Every list of a course's lessons uses them.
const (
	lessonOrderJoin = `LEFT JOIN course_sections lo_s ON lo_s.id = l.section_id`
	lessonOrder     = `COALESCE(lo_s.position, -1), l.position, l.created_at, l.id`
)

// maxSectionTitleLen bounds a section's title.
const maxSectionTitleLen = 200

// bumpOutline counts a change to the order of a course's lessons.
func bumpOutline(ctx context.Context, t tx, courseID string) error {
	_, err := t.exec(ctx, `UPDATE courses SET outline_version = outline_version + 1 WHERE id = ?`, courseID)
	return err
}

// placeNewLesson sets where a new lesson l goes: the end of l.SectionID,
// or of the course's last section when that is "" (of the lessons in no
// section when the course has none).
func placeNewLesson(ctx context.Context, t tx, l *lectern.Lesson) error {
	if l.SectionID == "" {
		var last []string
		if err := t.sel(ctx, &last, `SELECT id FROM course_sections WHERE course_id = ?
			ORDER BY position DESC, id DESC LIMIT 1`, l.CourseID); err != nil {
			return err
		}
		if len(last) == 1 {
			l.SectionID = last[0]
		}
	} else if _, err := findSection(ctx, t, l.CourseID, l.SectionID); err != nil {
		return err
	}
	return t.get(ctx, &l.Position, `SELECT COALESCE(MAX(position) + 1, 0) FROM lessons
		WHERE course_id = ? AND COALESCE(section_id, '') = ?`, l.CourseID, l.SectionID)
}

func sectionTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return "", lectern.Errorf(lectern.EINVALID, "section title is required")
	case len([]rune(title)) > maxSectionTitleLen:
		return "", lectern.Errorf(lectern.EINVALID, "section title must be at most %d characters", maxSectionTitleLen)
	}
	return title, nil
}

func findSection(ctx context.Context, t tx, courseID, id string) (*lectern.Section, error) {
	var s lectern.Section
	err := t.get(ctx, &s, `SELECT id, course_id, title, position, created_at FROM course_sections
		WHERE id = ? AND course_id = ?`, id, courseID)
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "section not found in this course")
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// CreateSection adds a section called title at the end of a course. It
// returns ENOTFOUND when the course does not exist.
func (db *DB) CreateSection(ctx context.Context, courseID, title string) (*lectern.Section, error) {
	title, err := sectionTitle(title)
	if err != nil {
		return nil, err
	}
	s := &lectern.Section{ID: newID(), CourseID: courseID, Title: title, CreatedAt: db.now()}
	err = db.write(ctx, func(t tx) error {
		if err := courseExists(ctx, t, courseID); err != nil {
			return err
		}
		if err := t.get(ctx, &s.Position, `SELECT COALESCE(MAX(position) + 1, 0) FROM course_sections
			WHERE course_id = ?`, courseID); err != nil {
			return err
		}
		if _, err := t.named(ctx, `INSERT INTO course_sections (id, course_id, title, position, created_at)
			VALUES (:id, :course_id, :title, :position, :created_at)`, s); err != nil {
			return err
		}
		return bumpOutline(ctx, t, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("create section: %w", err)
	}
	return s, nil
}

// RenameSection changes the title of section id of a course. It returns
// ENOTFOUND when the course has no such section.
func (db *DB) RenameSection(ctx context.Context, courseID, id, title string) (*lectern.Section, error) {
	title, err := sectionTitle(title)
	if err != nil {
		return nil, err
	}
	var s *lectern.Section
	err = db.write(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `UPDATE course_sections SET title = ? WHERE id = ? AND course_id = ?`,
			title, id, courseID); err != nil {
			return err
		}
		s, err = findSection(ctx, t, courseID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rename section: %w", err)
	}
	return s, nil
}

// DeleteSection removes section id of a course. Its lessons are kept:
// they move, in their order, to the end of the lessons in no section. It
// returns ENOTFOUND when the course has no such section.
func (db *DB) DeleteSection(ctx context.Context, courseID, id string) error {
	err := db.write(ctx, func(t tx) error {
		if _, err := findSection(ctx, t, courseID, id); err != nil {
			return err
		}
		var next int
		if err := t.get(ctx, &next, `SELECT COALESCE(MAX(position) + 1, 0) FROM lessons
			WHERE course_id = ? AND section_id IS NULL`, courseID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE lessons SET section_id = NULL, position = position + ?
			WHERE section_id = ?`, next, id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM course_sections WHERE id = ?`, id); err != nil {
			return err
		}
		return bumpOutline(ctx, t, courseID)
	})
	if err != nil {
		return fmt.Errorf("delete section: %w", err)
	}
	return nil
}

// FindOutline returns the order of a course's sections and of the lessons
// viewer may see (see lessonShown). It returns ENOTFOUND when the course
// does not exist; the caller has checked that the viewer may see the
// course.
func (db *DB) FindOutline(ctx context.Context, courseID string, viewer *lectern.User) (*lectern.Outline, error) {
	var o *lectern.Outline
	err := db.read(ctx, func(t tx) (err error) {
		o, err = findOutline(ctx, t, courseID, db.lessonShownTo, viewer)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find outline: %w", err)
	}
	return o, nil
}

// findOutline is FindOutline; shown is the rule for viewer, and a nil
// viewer sees every lesson (as reordering must).
func findOutline(ctx context.Context, t tx, courseID string,
	shown func(string, *lectern.User) (string, []any), viewer *lectern.User) (*lectern.Outline, error) {
	o := &lectern.Outline{CourseID: courseID, Unsectioned: []string{}, Sections: []lectern.OutlineSection{}}
	err := t.get(ctx, &o.Version, `SELECT outline_version FROM courses WHERE id = ?`, courseID)
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "course not found")
	}
	if err != nil {
		return nil, err
	}
	var sections []lectern.Section
	if err := t.sel(ctx, &sections, `SELECT id, course_id, title, position, created_at FROM course_sections
		WHERE course_id = ? ORDER BY position, id`, courseID); err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, s := range sections {
		o.Sections = append(o.Sections, lectern.OutlineSection{ID: s.ID, Title: s.Title, LessonIDs: []string{}})
		at[s.ID] = i
	}
	var lessons []struct {
		ID        string `db:"id"`
		SectionID string `db:"section_id"`
	}
	cond, args, viewerID := "1=1", []any{}, ""
	if viewer != nil {
		cond, args = shown("l", viewer)
		viewerID = viewer.ID
	}
	if err := t.sel(ctx, &lessons, `SELECT l.id, COALESCE(l.section_id, '') AS section_id
		FROM lessons l `+lessonOrderJoin+`
		LEFT JOIN course_members vm ON vm.course_id = l.course_id AND vm.user_id = ?
		WHERE l.course_id = ? AND l.deleted_at IS NULL AND `+cond+` ORDER BY `+lessonOrder,
		append([]any{viewerID, courseID}, args...)...); err != nil {
		return nil, err
	}
	for _, l := range lessons {
		if i, ok := at[l.SectionID]; ok {
			o.Sections[i].LessonIDs = append(o.Sections[i].LessonIDs, l.ID)
		} else {
			o.Unsectioned = append(o.Unsectioned, l.ID)
		}
	}
	return o, nil
}

// SetOutline puts a course's sections and lessons in the order of o,
// which must name every section and lesson of the course exactly once
// (section titles in o are ignored). It returns ECONFLICT when the
// outline is no longer at o.Version (someone changed it meanwhile),
// ENOTFOUND when o names a section or lesson that is not in the course,
// and EINVALID when it names one twice or leaves one out; then nothing
// changes. On success o.Version is the new version.
func (db *DB) SetOutline(ctx context.Context, o *lectern.Outline) error {
	err := db.write(ctx, func(t tx) error {
		// Counting the change first locks the course's row: concurrent
		// reorders of one course take turns, and the later one conflicts.
		n, err := t.exec(ctx, `UPDATE courses SET outline_version = outline_version + 1
			WHERE id = ? AND outline_version = ?`, o.CourseID, o.Version)
		if err != nil {
			return err
		}
		cur, err := findOutline(ctx, t, o.CourseID, nil, nil)
		if err != nil {
			return err
		}
		if n == 0 {
			return lectern.Errorf(lectern.ECONFLICT,
				"the course's outline changed since version %d (it is at version %d): reload it and try again",
				o.Version, cur.Version)
		}
		if err := checkOutline(cur, o); err != nil {
			return err
		}
		for i, s := range o.Sections {
			if _, err := t.exec(ctx, `UPDATE course_sections SET position = ? WHERE id = ?`, i, s.ID); err != nil {
				return err
			}
		}
		place := func(sectionID any, ids []string) error {
			for i, id := range ids {
				if _, err := t.exec(ctx, `UPDATE lessons SET section_id = ?, position = ? WHERE id = ?`,
					sectionID, i, id); err != nil {
					return err
				}
			}
			return nil
		}
		if err := place(nil, o.Unsectioned); err != nil {
			return err
		}
		for _, s := range o.Sections {
			if err := place(s.ID, s.LessonIDs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set outline: %w", err)
	}
	o.Version++
	return nil
}

// checkOutline checks that o names every section and lesson of cur, the
// course's current outline, exactly once.
func checkOutline(cur, o *lectern.Outline) error {
	sections := map[string]bool{}
	lessons := map[string]bool{}
	for _, s := range cur.Sections {
		sections[s.ID] = false
		for _, id := range s.LessonIDs {
			lessons[id] = false
		}
	}
	for _, id := range cur.Unsectioned {
		lessons[id] = false
	}
	mark := func(seen map[string]bool, kind, id string) error {
		was, ok := seen[id]
		switch {
		case !ok:
			return lectern.Errorf(lectern.ENOTFOUND, "%s %q is not in this course", kind, id)
		case was:
			return lectern.Errorf(lectern.EINVALID, "%s %q is in the outline twice", kind, id)
		}
		seen[id] = true
		return nil
	}
	for _, id := range o.Unsectioned {
		if err := mark(lessons, "lesson", id); err != nil {
			return err
		}
	}
	for _, s := range o.Sections {
		if err := mark(sections, "section", s.ID); err != nil {
			return err
		}
		for _, id := range s.LessonIDs {
			if err := mark(lessons, "lesson", id); err != nil {
				return err
			}
		}
	}
	for _, kind := range []struct {
		name string
		seen map[string]bool
	}{{"section", sections}, {"lesson", lessons}} {
		for id, ok := range kind.seen {
			if !ok {
				return lectern.Errorf(lectern.EINVALID, "the outline leaves out %s %q: send every section and lesson of the course", kind.name, id)
			}
		}
	}
	return nil
}
