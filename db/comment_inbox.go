package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lectern/lectern"
)

// teacherJoin joins the viewer's membership vm, as a teacher or teaching
// assistant, of the entry's course; its one argument is the viewer's id.
const teacherJoin = `JOIN course_members vm ON vm.course_id = c.course_id AND vm.user_id = ? AND vm.role IN ('teacher', 'ta')`

// FindInbox returns viewer's question inbox: the questions with status
// f.Status (open when empty) in every course viewer teaches, that viewer
// may see, not deleted, oldest first, a page at a time; and, for each
// lesson with open questions, how many. Courses viewer does not teach are
// not in it, even for an admin.
func (db *DB) FindInbox(ctx context.Context, viewer *lectern.User, f lectern.InboxFilter) (*lectern.Inbox, error) {
	inbox := &lectern.Inbox{Questions: []*lectern.InboxQuestion{}, Lessons: []lectern.LessonQuestionCount{}}
	if viewer == nil {
		return inbox, nil
	}
	status := f.Status
	if status == "" {
		status = lectern.QuestionOpen
	}
	if !status.Valid() {
		return nil, lectern.Errorf(lectern.EINVALID, "status must be open, answered or resolved")
	}
	after, err := decodeCursor(f.After)
	if err != nil {
		return nil, err
	}
	limit := pageSize(f.Limit)
	vis, visArgs := visibleTo(viewer)
	var w where
	w.add(`c.parent_id IS NULL AND c.kind = 'question' AND c.deleted_at IS NULL AND c.status = ?`, status)
	w.add(vis, visArgs...)
	if after != nil {
		w.add(`(c.created_at > ? OR (c.created_at = ? AND c.id > ?))`, after.createdAt(), after.createdAt(), after.ID)
	}
	err = db.read(ctx, func(t tx) error {
		err := t.sel(ctx, &inbox.Questions, `SELECT `+commentColumns+`, co.title AS course_title, l.title AS lesson_title
			FROM comments c `+commentJoins+` `+teacherJoin+`
			JOIN courses co ON co.id = c.course_id
			JOIN lessons l ON l.id = c.lesson_id
			WHERE `+w.sql()+` ORDER BY c.created_at, c.id LIMIT ?`,
			append(append([]any{viewer.ID}, w.args...), limit+1)...)
		if err != nil {
			return err
		}
		return countOpenQuestions(ctx, t, viewer, &inbox.Lessons)
	})
	if err != nil {
		return nil, fmt.Errorf("find inbox: %w", err)
	}
	if len(inbox.Questions) > limit {
		inbox.Questions = inbox.Questions[:limit]
		last := inbox.Questions[limit-1]
		inbox.Next = cursor{CreatedAt: last.CreatedAt.UnixMicro(), ID: last.ID}.encode()
	}
	return inbox, nil
}

// countOpenQuestions counts, per lesson of the courses viewer teaches,
// the open questions viewer may see.
func countOpenQuestions(ctx context.Context, t tx, viewer *lectern.User, counts *[]lectern.LessonQuestionCount) error {
	vis, visArgs := visibleTo(viewer)
	return t.sel(ctx, counts, `SELECT co.id AS course_id, co.title AS course_title,
			l.id AS lesson_id, l.title AS lesson_title, COUNT(*) AS unanswered
		FROM comments c `+teacherJoin+`
		JOIN courses co ON co.id = c.course_id
		JOIN lessons l ON l.id = c.lesson_id
		WHERE c.parent_id IS NULL AND c.kind = 'question' AND c.deleted_at IS NULL AND c.status = 'open' AND `+vis+`
		GROUP BY co.id, co.title, l.id, l.title, l.created_at
		ORDER BY co.title, co.id, l.created_at, l.id`, append([]any{viewer.ID}, visArgs...)...)
}

// FindInboxCounts returns what the navigation shows viewer: whether they
// teach a course, the open questions of FindInbox (the sum of its
// per-lesson counts) and the unread notifications of FindNotifications,
// counted without their limit.
func (db *DB) FindInboxCounts(ctx context.Context, viewer *lectern.User) (*lectern.InboxCounts, error) {
	counts := &lectern.InboxCounts{}
	if viewer == nil {
		return counts, nil
	}
	vis, visArgs := visibleTo(viewer)
	admin := "1=0"
	if viewer.IsAdmin() {
		admin = "1=1"
	}
	err := db.read(ctx, func(t tx) error {
		var teaching int
		if err := t.get(ctx, &teaching, `SELECT COUNT(*) FROM course_members
			WHERE user_id = ? AND role IN ('teacher', 'ta')`, viewer.ID); err != nil {
			return err
		}
		counts.Teaches = teaching > 0
		if counts.Teaches {
			if err := t.get(ctx, &counts.OpenQuestions, `SELECT COUNT(*)
				FROM comments c `+teacherJoin+`
				JOIN courses co ON co.id = c.course_id
				JOIN lessons l ON l.id = c.lesson_id
				WHERE c.parent_id IS NULL AND c.kind = 'question' AND c.deleted_at IS NULL AND c.status = 'open' AND `+vis,
				append([]any{viewer.ID}, visArgs...)...); err != nil {
				return err
			}
		}
		return t.get(ctx, &counts.UnreadAnswers, `SELECT COUNT(*)
			FROM comment_notifications n
			JOIN comments c ON c.id = n.question_id
			JOIN comments a ON a.id = n.answer_id
			`+viewerJoin+`
			WHERE n.user_id = ? AND n.read_at IS NULL AND c.deleted_at IS NULL AND a.deleted_at IS NULL
				AND c.author_id = n.user_id AND (vm.role IS NOT NULL OR `+admin+`) AND `+liveComment+``, viewer.ID, viewer.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("find inbox counts: %w", err)
	}
	return counts, nil
}

// maxNotifications bounds FindNotifications.
const maxNotifications = 100

// FindNotifications returns viewer's unread notifications, newest first:
// questions of theirs that a teacher answered since they last marked them
// read, with the latest answer. Questions or answers since deleted, and
// courses viewer has left, are left out.
func (db *DB) FindNotifications(ctx context.Context, viewer *lectern.User) ([]*lectern.Notification, error) {
	notes := []*lectern.Notification{}
	if viewer == nil {
		return notes, nil
	}
	// The entries are the viewer's own questions and replies in their
	// threads, which visibleTo always lets them see; the membership check
	// is what remains of it.
	admin := "1=0"
	if viewer.IsAdmin() {
		admin = "1=1"
	}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &notes, `SELECT n.id, n.question_id, c.course_id, co.title AS course_title,
				c.lesson_id, l.title AS lesson_title, c.at_ms, c.body AS question,
				n.answer_id, a.body AS answer, au.name AS answered_by, n.created_at AS answered_at, n.read_at
			FROM comment_notifications n
			JOIN comments c ON c.id = n.question_id
			JOIN comments a ON a.id = n.answer_id
			JOIN users au ON au.id = a.author_id
			JOIN courses co ON co.id = c.course_id
			JOIN lessons l ON l.id = c.lesson_id
			`+viewerJoin+`
			WHERE n.user_id = ? AND n.read_at IS NULL AND c.deleted_at IS NULL AND a.deleted_at IS NULL
				AND c.author_id = n.user_id AND (vm.role IS NOT NULL OR `+admin+`) AND `+liveComment+`
			ORDER BY n.created_at DESC, n.id DESC LIMIT ?`, viewer.ID, viewer.ID, maxNotifications)
	})
	if err != nil {
		return nil, fmt.Errorf("find notifications: %w", err)
	}
	return notes, nil
}

// MarkNotificationsRead marks viewer's notifications with these ids read,
// or all of them when ids is empty, and returns how many it marked. Ids
// that are not viewer's unread notifications are ignored.
func (db *DB) MarkNotificationsRead(ctx context.Context, userID string, ids []string) (int64, error) {
	if len(ids) > maxNotifications {
		return 0, lectern.Errorf(lectern.EINVALID, "at most %d ids at once", maxNotifications)
	}
	var w where
	w.add(`user_id = ? AND read_at IS NULL`, userID)
	if len(ids) > 0 {
		marks := strings.Repeat("?, ", len(ids)-1) + "?"
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		w.add(`id IN (`+marks+`)`, args...)
	}
	var n int64
	err := db.write(ctx, func(t tx) error {
		var err error
		n, err = t.exec(ctx, `UPDATE comment_notifications SET read_at = ? WHERE `+w.sql(),
			append([]any{db.now()}, w.args...)...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return n, nil
}
