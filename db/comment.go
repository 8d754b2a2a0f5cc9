package db

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lectern/lectern"
)

// commentColumns selects a lectern.Comment from comments c joined with its
// author u and the author's membership am (see commentJoins). The reply
// count leaves deleted replies out.
const commentColumns = `c.id, c.lesson_id, c.course_id, COALESCE(c.parent_id, '') AS parent_id,
	c.author_id, u.name AS author_name,
	COALESCE(am.role, CASE WHEN u.role = 'admin' THEN 'admin' ELSE '' END) AS author_role,
	c.kind, c.visibility, c.at_ms, c.end_ms, c.body, c.status,
	COALESCE(c.status_changed_by, '') AS status_changed_by, c.status_changed_at,
	COALESCE(c.accepted_id, '') AS accepted_id, COALESCE(c.accepted_by, '') AS accepted_by, c.accepted_at,
	(SELECT COUNT(*) FROM comments r WHERE r.parent_id = c.id AND r.deleted_at IS NULL) AS reply_count,
	c.deleted_at IS NOT NULL AS deleted, c.created_at, c.edited_at`

// commentJoins joins an entry's author and the author's membership.
const commentJoins = `JOIN users u ON u.id = c.author_id
	LEFT JOIN course_members am ON am.course_id = c.course_id AND am.user_id = c.author_id`

// viewerJoin joins the viewer's membership vm of the entry's course; its
// one argument is the viewer's id.
const viewerJoin = `LEFT JOIN course_members vm ON vm.course_id = c.course_id AND vm.user_id = ?`

// visibleTo is the SQL condition, over comments c and the viewer's
// membership vm, that viewer may see the entry: the viewer is a member of
// the course (or an admin), and the entry is for the class, or the viewer
// wrote it or the thread's first entry, or it is for teachers and the
// viewer teaches the course (or is an admin). Private entries are for
// their author alone, whoever else asks. Every query that reads entries
// for a user includes it.
func visibleTo(viewer *lectern.User) (string, []any) {
	admin := "1=0"
	if viewer.IsAdmin() {
		admin = "1=1"
	}
	return `(vm.role IS NOT NULL OR ` + admin + `)
		AND (c.visibility = 'class' OR c.author_id = ? OR c.thread_author_id = ?
			OR (c.visibility = 'teachers' AND (vm.role IN ('teacher', 'ta') OR ` + admin + `)))
		AND ` + liveComment,
		[]any{viewer.ID, viewer.ID}
}

// findComment returns entry id as viewer sees it, or ENOTFOUND.
func findComment(ctx context.Context, t tx, id string, viewer *lectern.User) (*lectern.Comment, error) {
	vis, visArgs := visibleTo(viewer)
	var c lectern.Comment
	err := t.get(ctx, &c, `SELECT `+commentColumns+` FROM comments c `+commentJoins+` `+viewerJoin+`
		WHERE c.id = ? AND `+vis, append([]any{viewer.ID, id}, visArgs...)...)
	if notFound(err) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "comment not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find comment: %w", err)
	}
	return &c, nil
}

// commentLesson is what posting needs to know of a lesson.
type commentLesson struct {
	CourseID   string             `db:"course_id"`
	DurationMS int64              `db:"duration_ms"`
	MyRole     lectern.MemberRole `db:"my_role"`
}

// lessonFor returns the lesson and viewer's role in its course, or
// ENOTFOUND unless viewer is a member of the course or an admin.
func lessonFor(ctx context.Context, t tx, lessonID string, viewer *lectern.User) (*commentLesson, error) {
	var l commentLesson
	err := t.get(ctx, &l, `SELECT l.course_id, l.duration_ms, COALESCE(m.role, '') AS my_role
		FROM lessons l LEFT JOIN course_members m ON m.course_id = l.course_id AND m.user_id = ?
		WHERE l.id = ? AND `+liveLesson, viewer.ID, lessonID)
	if notFound(err) || (err == nil && l.MyRole == "" && !viewer.IsAdmin()) {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find lesson: %w", err)
	}
	return &l, nil
}

// memberRole returns userID's role in courseID, "" for a non-member.
func memberRole(ctx context.Context, t tx, courseID, userID string) (lectern.MemberRole, error) {
	var roles []lectern.MemberRole
	err := t.sel(ctx, &roles, `SELECT role FROM course_members WHERE course_id = ? AND user_id = ?`, courseID, userID)
	if err != nil || len(roles) == 0 {
		return "", err
	}
	return roles[0], nil
}

// teaches reports whether a user with this role in a course (or an admin)
// moderates the course's entries and answers its questions: its teachers
// and teaching assistants.
func teaches(u *lectern.User, role lectern.MemberRole) bool {
	return role.Assists() || u.IsAdmin()
}

// validBody trims body and checks it has 1 to lectern.MaxCommentBody
// characters and no NUL (which PostgreSQL cannot store).
func validBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return "", lectern.Errorf(lectern.EINVALID, "body is required")
	case n > lectern.MaxCommentBody:
		return "", lectern.Errorf(lectern.EINVALID, "body must be at most %d characters, not %d", lectern.MaxCommentBody, n)
	case strings.ContainsRune(body, 0):
		return "", lectern.Errorf(lectern.EINVALID, "body must not contain NUL characters")
	}
	return body, nil
}

// checkAnchor checks a first entry's anchor against the lesson's duration.
// A lesson whose duration is not known yet (not transcoded) takes no
// entries: an anchor there could not be checked, and nobody can watch it.
func checkAnchor(at int64, end *int64, durationMS int64) error {
	if durationMS <= 0 {
		return lectern.Errorf(lectern.EINVALID, "this lesson is not ready yet; comments can be anchored once its duration is known")
	}
	if at < 0 || at > durationMS {
		return lectern.Errorf(lectern.EINVALID, "at_ms must be between 0 and %d (the lesson's duration)", durationMS)
	}
	if end != nil && (*end < at || *end > durationMS) {
		return lectern.Errorf(lectern.EINVALID, "end_ms must be between at_ms (%d) and %d (the lesson's duration)", at, durationMS)
	}
	return nil
}

// checkFirstEntry validates the kind and visibility of an entry that
// starts a thread, and opens it when it is a question.
func checkFirstEntry(c *lectern.Comment) error {
	if !c.Kind.Valid() {
		return lectern.Errorf(lectern.EINVALID, "kind must be comment, question or note")
	}
	if !c.Visibility.Valid() {
		return lectern.Errorf(lectern.EINVALID, "visibility must be class, teachers or private")
	}
	if c.Kind == lectern.KindQuestion {
		if c.Visibility == lectern.VisibilityPrivate {
			return lectern.Errorf(lectern.EINVALID, "a private question reaches no one; ask the teachers only (visibility teachers) or write a note")
		}
		c.Status = lectern.QuestionOpen
	}
	return nil
}

// joinThread makes c a reply to parent: one level deep, with the thread's
// anchor and visibility. A kind or visibility that differs from what the
// reply gets is refused rather than silently changed.
func joinThread(c, parent *lectern.Comment) error {
	switch {
	case parent.ParentID != "":
		return lectern.Errorf(lectern.EINVALID, "replies are one level deep; reply to the thread's first entry")
	case parent.LessonID != c.LessonID:
		return lectern.Errorf(lectern.EINVALID, "parent_id names an entry of another lesson")
	case parent.Deleted:
		return lectern.Errorf(lectern.EINVALID, "cannot reply to a deleted entry")
	case c.Kind != "" && c.Kind != lectern.KindComment:
		return lectern.Errorf(lectern.EINVALID, "a reply's kind is comment")
	case c.Visibility != "" && c.Visibility != parent.Visibility:
		return lectern.Errorf(lectern.EINVALID, "a reply has its thread's visibility (%s)", parent.Visibility)
	}
	c.Kind, c.Visibility = lectern.KindComment, parent.Visibility
	c.AtMS, c.EndMS = parent.AtMS, parent.EndMS
	return nil
}

// CreateComment posts c in lesson c.LessonID as author: a first entry with
// c.Kind, c.Visibility, c.AtMS and c.EndMS, or, when c.ParentID is set, a
// reply that takes its thread's anchor and visibility. A question starts
// open; a reply by a course teacher (or an admin) to someone else's
// question marks an open question answered and notifies the asker. On
// success c is filled as author now sees it. It returns ENOTFOUND when
// author may not see the lesson or the parent, and EINVALID for a bad
// body (1 to lectern.MaxCommentBody characters, trimmed), kind,
// visibility or anchor.
func (db *DB) CreateComment(ctx context.Context, c *lectern.Comment, author *lectern.User) error {
	if author == nil {
		return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	body, err := validBody(c.Body)
	if err != nil {
		return err
	}
	nc := lectern.Comment{ID: newID(), LessonID: c.LessonID, ParentID: c.ParentID, AuthorID: author.ID,
		Kind: c.Kind, Visibility: c.Visibility, AtMS: c.AtMS, EndMS: c.EndMS, Body: body, CreatedAt: db.now()}
	var created *lectern.Comment
	err = db.write(ctx, func(t tx) error {
		lesson, err := lessonFor(ctx, t, nc.LessonID, author)
		if err != nil {
			return err
		}
		nc.CourseID = lesson.CourseID
		threadAuthor, parent := author.ID, (*lectern.Comment)(nil)
		if nc.ParentID != "" {
			if parent, err = findComment(ctx, t, nc.ParentID, author); err != nil {
				return err
			}
			if err := joinThread(&nc, parent); err != nil {
				return err
			}
			threadAuthor = parent.AuthorID
		} else {
			if err := checkFirstEntry(&nc); err != nil {
				return err
			}
			if err := checkAnchor(nc.AtMS, nc.EndMS, lesson.DurationMS); err != nil {
				return err
			}
		}
		if err := insertComment(ctx, t, &nc, threadAuthor); err != nil {
			return err
		}
		if parent != nil && parent.Kind == lectern.KindQuestion && parent.AuthorID != author.ID && teaches(author, lesson.MyRole) {
			if err := answer(ctx, t, parent, &nc); err != nil {
				return err
			}
		}
		created, err = findComment(ctx, t, nc.ID, author)
		return err
	})
	if err != nil {
		return fmt.Errorf("create comment: %w", err)
	}
	*c = *created
	return nil
}

func insertComment(ctx context.Context, t tx, c *lectern.Comment, threadAuthor string) error {
	var parent any
	if c.ParentID != "" {
		parent = c.ParentID
	}
	_, err := t.exec(ctx, `INSERT INTO comments (id, lesson_id, course_id, parent_id, author_id, thread_author_id,
			kind, visibility, at_ms, end_ms, body, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.LessonID, c.CourseID, parent, c.AuthorID, threadAuthor,
		c.Kind, c.Visibility, c.AtMS, c.EndMS, c.Body, c.Status, c.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert comment: %w", err)
	}
	return nil
}

// answer records a teacher's reply to question: an open question becomes
// answered when the reply was posted, and the asker's notification points
// at the reply, unread.
func answer(ctx context.Context, t tx, question, reply *lectern.Comment) error {
	if question.Status == lectern.QuestionOpen {
		_, err := t.exec(ctx, `UPDATE comments SET status = ?, status_changed_by = ?, status_changed_at = ?
			WHERE id = ?`, lectern.QuestionAnswered, reply.AuthorID, reply.CreatedAt, question.ID)
		if err != nil {
			return fmt.Errorf("mark question answered: %w", err)
		}
	}
	_, err := t.exec(ctx, `INSERT INTO comment_notifications (id, user_id, question_id, answer_id, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, question_id) DO UPDATE
		SET answer_id = excluded.answer_id, created_at = excluded.created_at, read_at = NULL`,
		newID(), question.AuthorID, question.ID, reply.ID, reply.CreatedAt)
	if err != nil {
		return fmt.Errorf("notify asker: %w", err)
	}
	return nil
}

// FindComment returns entry id as viewer sees it. It returns ENOTFOUND
// when there is no such entry or viewer may not see it.
func (db *DB) FindComment(ctx context.Context, id string, viewer *lectern.User) (*lectern.Comment, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "comment not found")
	}
	var c *lectern.Comment
	err := db.read(ctx, func(t tx) error {
		var err error
		c, err = findComment(ctx, t, id, viewer)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
