package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// suggestionNearMS hides a suggestion closer than this to one of the
// lesson's chapters: the chapter is already there (imported from the file, say).
const suggestionNearMS = 1000

// SetChapterSuggestions makes starts (milliseconds, at most
// lectern.MaxChapters) the lesson's chapter suggestions, replacing any it
// had; none removes them. PublishLesson does the same with a
// publication's suggestions, in its own transaction. It returns
// ENOTFOUND when there is no such lesson.
func (db *DB) SetChapterSuggestions(ctx context.Context, lessonID string, starts []int64) error {
	err := db.write(ctx, func(t tx) error {
		if err := db.lockLesson(ctx, t, lessonID); err != nil {
			return err
		}
		return db.replaceChapterSuggestions(ctx, t, lessonID, starts)
	})
	if err != nil {
		return fmt.Errorf("set chapter suggestions: %w", err)
	}
	return nil
}

// replaceChapterSuggestions makes starts the lesson's suggestions in t.
// Starts before 0 and repeated ones are left out.
func (db *DB) replaceChapterSuggestions(ctx context.Context, t tx, lessonID string, starts []int64) error {
	if len(starts) > lectern.MaxChapters {
		return lectern.Errorf(lectern.EINVALID, "at most %d chapter suggestions, not %d", lectern.MaxChapters, len(starts))
	}
	if _, err := t.exec(ctx, `DELETE FROM chapter_suggestions WHERE lesson_id = ?`, lessonID); err != nil {
		return err
	}
	seen := map[int64]bool{}
	rows := make([]string, 0, len(starts))
	args := make([]any, 0, 4*len(starts))
	now := db.now()
	for _, ms := range starts {
		if ms < 0 || seen[ms] {
			continue
		}
		seen[ms] = true
		rows = append(rows, "(?, ?, ?, ?)")
		args = append(args, newID(), lessonID, ms, now)
	}
	if len(rows) == 0 {
		return nil
	}
	// At most lectern.MaxChapters rows of 4 parameters: one statement.
	_, err := t.exec(ctx, `INSERT INTO chapter_suggestions (id, lesson_id, start_ms, created_at) VALUES `+
		strings.Join(rows, ", "), args...)
	return err
}

// FindChapterSuggestions returns the lesson's chapter suggestions by
// start, each with the title it takes if accepted as it is, leaving out
// those less than a second from one of its chapters. The caller has checked
// that the viewer teaches the lesson's course.
func (db *DB) FindChapterSuggestions(ctx context.Context, lessonID string) ([]lectern.ChapterSuggestion, error) {
	out := []lectern.ChapterSuggestion{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &out, `SELECT s.id, s.lesson_id, s.start_ms FROM chapter_suggestions s
			WHERE s.lesson_id = ? AND NOT EXISTS (SELECT 1 FROM chapters c WHERE c.lesson_id = s.lesson_id
				AND c.start_ms > s.start_ms - ? AND c.start_ms < s.start_ms + ?)
			ORDER BY s.start_ms`, lessonID, suggestionNearMS, suggestionNearMS)
	})
	if err != nil {
		return nil, fmt.Errorf("find chapter suggestions: %w", err)
	}
	for i := range out {
		out[i].Title = lectern.SuggestedChapterTitle(out[i].StartMS)
	}
	return out, nil
}

// AcceptChapterSuggestion adds a chapter at the suggestion's start to the
// lesson's chapters, titled title (or the suggestion's own title when
// title is empty), and removes the suggestion, in one transaction: the
// chapters then are the teacher's, as if set by SetChapters, which checks
// them the same way. It returns the lesson's chapters; ENOTFOUND when the
// lesson has no such suggestion; changing nothing, EINVALID for a title
// a chapter cannot have (or a suggestion past a shortened recording's
// end) and ECONFLICT when a chapter already starts at that moment.
func (db *DB) AcceptChapterSuggestion(ctx context.Context, lessonID, id, title string) ([]lectern.Chapter, error) {
	var out []lectern.Chapter
	err := db.write(ctx, func(t tx) error {
		duration, err := db.lockedDuration(ctx, t, lessonID)
		if err != nil {
			return err
		}
		var start int64
		err = t.get(ctx, &start, `SELECT start_ms FROM chapter_suggestions WHERE id = ? AND lesson_id = ?`, id, lessonID)
		if notFound(err) {
			return errNoSuggestion()
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(title) == "" {
			title = lectern.SuggestedChapterTitle(start)
		}
		if title, err = lectern.CheckChapterTitle(title); err != nil {
			return err
		}
		var chs []lectern.Chapter
		if err := t.sel(ctx, &chs, `SELECT lesson_id, start_ms, title FROM chapters WHERE lesson_id = ?`, lessonID); err != nil {
			return err
		}
		for _, c := range chs {
			if c.StartMS == start {
				return lectern.Errorf(lectern.ECONFLICT, "chapter %q already starts at %s: rename it instead",
					c.Title, lectern.ClockText(start))
			}
		}
		if out, err = lectern.NormalizeChapters(append(chs, lectern.Chapter{StartMS: start, Title: title}), duration); err != nil {
			return err
		}
		if err := replaceChapters(ctx, t, lessonID, out, chaptersFromTeacher); err != nil {
			return err
		}
		_, err = t.exec(ctx, `DELETE FROM chapter_suggestions WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("accept chapter suggestion: %w", err)
	}
	return out, nil
}

// DiscardChapterSuggestion removes one of the lesson's suggestions;
// ENOTFOUND when it has no such suggestion.
func (db *DB) DiscardChapterSuggestion(ctx context.Context, lessonID, id string) error {
	err := db.write(ctx, func(t tx) error {
		n, err := t.exec(ctx, `DELETE FROM chapter_suggestions WHERE id = ? AND lesson_id = ?`, id, lessonID)
		if err == nil && n == 0 {
			return errNoSuggestion()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("discard chapter suggestion: %w", err)
	}
	return nil
}

func errNoSuggestion() error {
	return lectern.Errorf(lectern.ENOTFOUND, "this lesson has no such chapter suggestion")
}
