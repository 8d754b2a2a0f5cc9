package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lectern/lectern"
)

// commentChange is an entry being changed by someone: the entry as they
// see it and whether they teach its course.
type commentChange struct {
	cur     *lectern.Comment
	by      *lectern.User
	teacher bool
	set     setClause
	// now is the time of the change, and of the visibility checks made
	// for it.
	now time.Time
}

// UpdateComment applies upd to entry id on behalf of viewer and returns
// the entry as viewer then sees it. Only the author edits the body (which
// sets EditedAt). A question's status may be set by the asker or a course
// teacher (answered by a teacher only); each change records who and when.
// A course teacher may accept one non-deleted reply as the answer (an open
// question becomes answered) or withdraw it with "". It returns ENOTFOUND
// when viewer may not see the entry, EFORBIDDEN when viewer may see it but
// not make this change, and EINVALID for a change that does not apply.
func (db *DB) UpdateComment(ctx context.Context, id string, viewer *lectern.User, upd lectern.CommentUpdate) (*lectern.Comment, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "comment not found")
	}
	if upd.Body == nil && upd.Status == nil && upd.AcceptedID == nil {
		return nil, lectern.Errorf(lectern.EINVALID, "nothing to change: give body, status or accepted_id")
	}
	var updated *lectern.Comment
	err := db.write(ctx, func(t tx) error {
		ch, err := db.beginChange(ctx, t, id, viewer)
		if err != nil {
			return err
		}
		if ch.cur.Deleted {
			return lectern.Errorf(lectern.EINVALID, "this entry was deleted")
		}
		if err := db.changeBody(ch, upd.Body); err != nil {
			return err
		}
		if err := db.changeStatus(ch, upd.Status); err != nil {
			return err
		}
		if err := db.changeAccepted(ctx, t, ch, upd.AcceptedID, upd.Status != nil); err != nil {
			return err
		}
		if len(ch.set.cols) > 0 {
			_, err := t.exec(ctx, `UPDATE comments SET `+ch.set.sql()+` WHERE id = ?`, append(ch.set.args, id)...)
			if err != nil {
				return fmt.Errorf("update comment: %w", err)
			}
		}
		updated, err = findComment(ctx, t, id, viewer, ch.now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update comment: %w", err)
	}
	return updated, nil
}

func (db *DB) beginChange(ctx context.Context, t tx, id string, viewer *lectern.User) (*commentChange, error) {
	now := db.now()
	cur, err := findComment(ctx, t, id, viewer, now)
	if err != nil {
		return nil, err
	}
	role, err := memberRole(ctx, t, cur.CourseID, viewer.ID)
	if err != nil {
		return nil, fmt.Errorf("find member role: %w", err)
	}
	return &commentChange{cur: cur, by: viewer, teacher: teaches(viewer, role), now: now}, nil
}

func (db *DB) changeBody(ch *commentChange, body *string) error {
	if body == nil {
		return nil
	}
	if ch.cur.AuthorID != ch.by.ID {
		return lectern.Errorf(lectern.EFORBIDDEN, "only its author may edit an entry")
	}
	b, err := validBody(*body)
	if err != nil {
		return err
	}
	if b != ch.cur.Body {
		ch.set.add("body", b)
		ch.set.add("edited_at", ch.now)
	}
	return nil
}

func isQuestion(c *lectern.Comment) bool {
	return c.Kind == lectern.KindQuestion && c.ParentID == ""
}

func (db *DB) changeStatus(ch *commentChange, status *lectern.QuestionStatus) error {
	if status == nil {
		return nil
	}
	switch {
	case !isQuestion(ch.cur):
		return lectern.Errorf(lectern.EINVALID, "only questions have a status")
	case !status.Valid():
		return lectern.Errorf(lectern.EINVALID, "status must be open, answered or resolved")
	case !ch.teacher && ch.cur.AuthorID != ch.by.ID:
		return lectern.Errorf(lectern.EFORBIDDEN, "only the asker or the course's teachers may change a question's status")
	case *status == lectern.QuestionAnswered && !ch.teacher:
		return lectern.Errorf(lectern.EFORBIDDEN, "only the course's teachers may mark a question answered")
	}
	if *status != ch.cur.Status {
		ch.set.add("status", *status)
		ch.set.add("status_changed_by", ch.by.ID)
		ch.set.add("status_changed_at", ch.now)
	}
	return nil
}

// changeAccepted sets or withdraws the accepted answer. Accepting one
// answers an open question, unless the same update sets the status.
func (db *DB) changeAccepted(ctx context.Context, t tx, ch *commentChange, acceptedID *string, statusSet bool) error {
	if acceptedID == nil {
		return nil
	}
	switch {
	case !isQuestion(ch.cur):
		return lectern.Errorf(lectern.EINVALID, "only questions have an accepted answer")
	case !ch.teacher:
		return lectern.Errorf(lectern.EFORBIDDEN, "only the course's teachers may accept an answer")
	}
	if *acceptedID == "" {
		if ch.cur.AcceptedID != "" {
			ch.set.add("accepted_id", nil)
			ch.set.add("accepted_by", nil)
			ch.set.add("accepted_at", nil)
		}
		return nil
	}
	var n int
	err := t.get(ctx, &n, `SELECT COUNT(*) FROM comments WHERE id = ? AND parent_id = ? AND deleted_at IS NULL`,
		*acceptedID, ch.cur.ID)
	if err != nil {
		return fmt.Errorf("find reply: %w", err)
	}
	if n == 0 {
		return lectern.Errorf(lectern.EINVALID, "accepted_id must name a reply to this question")
	}
	now := ch.now
	ch.set.add("accepted_id", *acceptedID)
	ch.set.add("accepted_by", ch.by.ID)
	ch.set.add("accepted_at", now)
	if !statusSet && ch.cur.Status == lectern.QuestionOpen {
		ch.set.add("status", lectern.QuestionAnswered)
		ch.set.add("status_changed_by", ch.by.ID)
		ch.set.add("status_changed_at", now)
	}
	return nil
}

// DeleteComment soft-deletes entry id on behalf of viewer, its author or a
// teacher of its course (or an admin), and returns it as viewer then sees
// it: empty body, Deleted set. Its replies stay. Deleting a reply that was
// the accepted answer withdraws the acceptance. Deleting a deleted entry
// changes nothing. It returns ENOTFOUND when viewer may not see the entry
// and EFORBIDDEN when viewer may see it but not delete it.
func (db *DB) DeleteComment(ctx context.Context, id string, viewer *lectern.User) (*lectern.Comment, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "comment not found")
	}
	var deleted *lectern.Comment
	err := db.write(ctx, func(t tx) error {
		ch, err := db.beginChange(ctx, t, id, viewer)
		if err != nil {
			return err
		}
		if ch.cur.AuthorID != viewer.ID && !ch.teacher {
			return lectern.Errorf(lectern.EFORBIDDEN, "only its author or the course's teachers may delete an entry")
		}
		if !ch.cur.Deleted {
			_, err := t.exec(ctx, `UPDATE comments SET body = '', deleted_at = ?, deleted_by = ? WHERE id = ?`,
				ch.now, viewer.ID, id)
			if err != nil {
				return fmt.Errorf("delete comment: %w", err)
			}
			_, err = t.exec(ctx, `UPDATE comments SET accepted_id = NULL, accepted_by = NULL, accepted_at = NULL
				WHERE accepted_id = ?`, id)
			if err != nil {
				return fmt.Errorf("withdraw accepted answer: %w", err)
			}
		}
		deleted, err = findComment(ctx, t, id, viewer, ch.now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete comment: %w", err)
	}
	return deleted, nil
}
