package db

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// Page sizes of entry listings and the inbox.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// MinBucketMS is the narrowest marker bucket FindMarkers accepts.
const MinBucketMS = 1000

func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// cursor is a position in a keyset-paginated listing: the sort key of the
// last row of the page. Clients get it as opaque base64url JSON.
type cursor struct {
	AtMS      int64  `json:"a,omitempty"`
	CreatedAt int64  `json:"t"` // microseconds since the epoch, UTC
	ID        string `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of numbers and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return nil, lectern.Errorf(lectern.EINVALID, "invalid cursor; start again without one")
	}
	return &c, nil
}

func (c *cursor) createdAt() time.Time { return time.UnixMicro(c.CreatedAt).UTC() }

// where collects AND-ed SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

// listWhere builds the conditions of FindComments.
func listWhere(lessonID string, viewer *lectern.User, now time.Time, f lectern.CommentFilter) (*where, error) {
	after, err := decodeCursor(f.After)
	if err != nil {
		return nil, err
	}
	var w where
	w.add(`c.lesson_id = ? AND c.parent_id IS NULL`, lessonID)
	vis, visArgs := visibleTo(viewer, now)
	w.add(vis, visArgs...)
	// A deleted entry stays as a placeholder only while it holds replies.
	w.add(`(c.deleted_at IS NULL OR EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = c.id AND r.deleted_at IS NULL))`)
	if f.FromMS != nil {
		w.add(`COALESCE(c.end_ms, c.at_ms) >= ?`, *f.FromMS)
	}
	if f.ToMS != nil {
		w.add(`c.at_ms <= ?`, *f.ToMS)
	}
	if f.Kind != nil {
		w.add(`c.kind = ?`, *f.Kind)
	}
	if f.Status != nil {
		w.add(`c.status = ?`, *f.Status)
	}
	if after != nil {
		w.add(`(c.at_ms > ? OR (c.at_ms = ? AND (c.created_at > ? OR (c.created_at = ? AND c.id > ?))))`,
			after.AtMS, after.AtMS, after.createdAt(), after.createdAt(), after.ID)
	}
	return &w, nil
}

// FindComments returns a page of the first entries of threads in a lesson
// that viewer may see and that match f, by position in the lesson, then
// by time of posting, then by id; and the cursor of the next page ("" on
// the last). The order is a total order on values that never change, so
// paging is stable while others post: no entry is skipped or repeated. A
// deleted entry is listed (as a placeholder) while it has replies. It
// returns ENOTFOUND unless viewer is a member of the lesson's course or
// an admin.
func (db *DB) FindComments(ctx context.Context, lessonID string, viewer *lectern.User, f lectern.CommentFilter) ([]*lectern.Comment, string, error) {
	if viewer == nil {
		return nil, "", lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	w, err := listWhere(lessonID, viewer, db.now(), f)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(f.Limit)
	comments := []*lectern.Comment{}
	err = db.read(ctx, func(t tx) error {
		if _, err := lessonFor(ctx, t, lessonID, viewer, db.now()); err != nil {
			return err
		}
		return t.sel(ctx, &comments, `SELECT `+commentColumns+` FROM comments c `+commentJoins+` `+viewerJoin+`
			WHERE `+w.sql()+` ORDER BY c.at_ms, c.created_at, c.id LIMIT ?`,
			append(append([]any{viewer.ID}, w.args...), limit+1)...)
	})
	if err != nil {
		return nil, "", fmt.Errorf("find comments: %w", err)
	}
	next := ""
	if len(comments) > limit {
		comments = comments[:limit]
		last := comments[limit-1]
		next = cursor{AtMS: last.AtMS, CreatedAt: last.CreatedAt.UnixMicro(), ID: last.ID}.encode()
	}
	return comments, next, nil
}

// FindThread returns the thread that entry id belongs to, as viewer sees
// it: its first entry and its replies, oldest first (deleted replies as
// placeholders). It returns ENOTFOUND when viewer may not see the entry.
func (db *DB) FindThread(ctx context.Context, id string, viewer *lectern.User) (*lectern.Comment, []*lectern.Comment, error) {
	if viewer == nil {
		return nil, nil, lectern.Errorf(lectern.ENOTFOUND, "comment not found")
	}
	var (
		root    *lectern.Comment
		replies = []*lectern.Comment{}
	)
	err := db.read(ctx, func(t tx) error {
		var err error
		if root, err = findComment(ctx, t, id, viewer, db.now()); err != nil {
			return err
		}
		if root.ParentID != "" {
			if root, err = findComment(ctx, t, root.ParentID, viewer, db.now()); err != nil {
				return err
			}
		}
		vis, visArgs := visibleTo(viewer, db.now())
		return t.sel(ctx, &replies, `SELECT `+commentColumns+` FROM comments c `+commentJoins+` `+viewerJoin+`
			WHERE c.parent_id = ? AND `+vis+` ORDER BY c.created_at, c.id`,
			append([]any{viewer.ID, root.ID}, visArgs...)...)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find thread: %w", err)
	}
	return root, replies, nil
}

// FindMarkers counts the first entries of threads in a lesson that viewer
// may see, not deleted, by bucket of bucketMS milliseconds (an entry falls
// in the bucket of its anchor), kind and status, in that order. Buckets
// with nothing in them are left out. bucketMS must be at least
// MinBucketMS. It returns ENOTFOUND unless viewer is a member of the
// lesson's course or an admin.
func (db *DB) FindMarkers(ctx context.Context, lessonID string, viewer *lectern.User, bucketMS int64) ([]lectern.Marker, error) {
	if viewer == nil {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
	}
	if bucketMS < MinBucketMS {
		return nil, lectern.Errorf(lectern.EINVALID, "bucket_ms must be at least %d", MinBucketMS)
	}
	markers := []lectern.Marker{}
	err := db.read(ctx, func(t tx) error {
		if _, err := lessonFor(ctx, t, lessonID, viewer, db.now()); err != nil {
			return err
		}
		vis, visArgs := visibleTo(viewer, db.now())
		args := append([]any{bucketMS, bucketMS, viewer.ID, lessonID}, visArgs...)
		return t.sel(ctx, &markers, `SELECT (c.at_ms / ?) * ? AS start_ms, c.kind, c.status, COUNT(*) AS count
			FROM comments c `+viewerJoin+`
			WHERE c.lesson_id = ? AND c.parent_id IS NULL AND c.deleted_at IS NULL AND `+vis+`
			GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("find markers: %w", err)
	}
	return markers, nil
}
