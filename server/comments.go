package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
)

// Posting limits: each user may post 10 entries in a row, then one every
// 6 seconds (10 a minute). Edits and deletes are not limited.
const (
	postBurst = 10
	postEvery = 6 * time.Second
	// publishTimeout bounds a publish that happens after the commit, when
	// the client may already have gone.
	publishTimeout = 2 * time.Second
)

// commentState is what the comment, question and event routes share.
type commentState struct {
	bus        events.Bus
	ownBus     bool // made by newCommentState, so closed by close
	postLimits *limiterSet
	streams    *streamSet
}

// newCommentState uses bus for live updates, or an in-process bus when
// bus is nil, and caps the live streams as limits say.
func newCommentState(bus events.Bus, limits Limits) *commentState {
	st := &commentState{bus: bus, postLimits: newLimiterSet(postEvery, postBurst, limiterMaxKeys),
		streams: newStreamSet(limits.EventStreamsPerUser, limits.MaxEventStreams)}
	if st.bus == nil {
		st.bus, st.ownBus = events.NewLocal(), true
	}
	return st
}

// close ends the live streams, waits for their handlers, and closes the
// bus if it is the server's own.
func (st *commentState) close() {
	st.streams.close()
	if st.ownBus {
		_ = st.bus.Close() // an in-process bus closes without error
	}
}

func (s *Server) registerCommentRoutes(g *echo.Group) {
	g.GET("/lessons/:id/comments", s.handleCommentList, s.requireUser)
	g.POST("/lessons/:id/comments", s.handleCommentCreate, s.requireUser)
	g.GET("/lessons/:id/markers", s.handleMarkerList, s.requireUser)
	g.GET("/comments/:id", s.handleCommentGet, s.requireUser)
	g.PATCH("/comments/:id", s.handleCommentUpdate, s.requireUser)
	g.DELETE("/comments/:id", s.handleCommentDelete, s.requireUser)
}

// Live update types, as published on a lesson's topic and sent to its
// event streams.
const (
	changeCreated = "created"
	changeUpdated = "updated"
	changeDeleted = "deleted"
)

// change is what is published on a lesson's topic: which entry changed
// and how. The entry itself is read again, for each watcher, with the
// watcher's visibility.
type change struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func lessonTopic(lessonID string) string { return "lesson:" + lessonID }

// publish tells the lesson's watchers that an entry changed. It runs after
// the change is committed; a failure is logged, not returned, since the
// change itself succeeded.
func (s *Server) publish(ctx context.Context, lessonID, typ, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	data, _ := json.Marshal(change{Type: typ, ID: id}) // two strings always marshal
	if err := s.comments.bus.Publish(ctx, lessonTopic(lessonID), data); err != nil {
		s.logger.WarnContext(ctx, "publish comment change", slog.String("lesson_id", lessonID), slog.Any("error", err))
	}
}

type commentListResponse struct {
	Comments   []*lectern.Comment `json:"comments"`
	NextCursor *string            `json:"next_cursor"`
}

// handleCommentList lists the first entries of the lesson's threads that
// the caller may see, by position, a page at a time.
func (s *Server) handleCommentList(c echo.Context) error {
	f, err := commentFilter(c)
	if err != nil {
		return err
	}
	comments, next, err := s.db.FindComments(c.Request().Context(), c.Param("id"), currentUser(c), f)
	if err != nil {
		return fmt.Errorf("find comments: %w", err)
	}
	return c.JSON(http.StatusOK, commentListResponse{Comments: comments, NextCursor: optString(next)})
}

// commentFilter reads from_ms, to_ms, kind, status, cursor and limit.
func commentFilter(c echo.Context) (lectern.CommentFilter, error) {
	var (
		f   lectern.CommentFilter
		err error
	)
	if f.FromMS, err = queryMS(c, "from_ms"); err != nil {
		return f, err
	}
	if f.ToMS, err = queryMS(c, "to_ms"); err != nil {
		return f, err
	}
	if k := c.QueryParam("kind"); k != "" {
		kind := lectern.CommentKind(k)
		if !kind.Valid() {
			return f, lectern.Errorf(lectern.EINVALID, "kind must be comment, question or note")
		}
		f.Kind = &kind
	}
	if v := c.QueryParam("status"); v != "" {
		status := lectern.QuestionStatus(v)
		if !status.Valid() {
			return f, lectern.Errorf(lectern.EINVALID, "status must be open, answered or resolved")
		}
		f.Status = &status
	}
	f.After = c.QueryParam("cursor")
	f.Limit, err = queryLimit(c)
	return f, err
}

// queryMS reads an optional non-negative millisecond query parameter.
func queryMS(c echo.Context, name string) (*int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, lectern.Errorf(lectern.EINVALID, "%s must be a whole number of milliseconds, at least 0", name)
	}
	return &n, nil
}

// queryLimit reads the optional page size, 1 to 200.
func queryLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, lectern.Errorf(lectern.EINVALID, "limit must be between 1 and 200")
	}
	return n, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type commentCreateRequest struct {
	AtMS       *int64              `json:"at_ms"`
	EndMS      *int64              `json:"end_ms"`
	Body       string              `json:"body"`
	Kind       lectern.CommentKind `json:"kind"`
	Visibility lectern.Visibility  `json:"visibility"`
	ParentID   string              `json:"parent_id"`
}

// handleCommentCreate posts an entry, or a reply when parent_id is set
// (a reply takes its thread's anchor, so at_ms is not needed). Posting is
// rate limited per user.
func (s *Server) handleCommentCreate(c echo.Context) error {
	u := currentUser(c)
	if wait := s.comments.postLimits.take(u.ID, s.clock.Now()); wait > 0 {
		secs := retryAfterSeconds(wait)
		setRetryAfter(c, secs)
		return lectern.Errorf(lectern.ERATELIMIT, "you are posting too fast; try again in %d seconds", secs)
	}
	var req commentCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.AtMS == nil && req.ParentID == "" {
		return lectern.Errorf(lectern.EINVALID, "at_ms is required")
	}
	cm := &lectern.Comment{LessonID: c.Param("id"), ParentID: req.ParentID, Kind: req.Kind,
		Visibility: req.Visibility, EndMS: req.EndMS, Body: req.Body}
	if req.AtMS != nil {
		cm.AtMS = *req.AtMS
	}
	ctx := c.Request().Context()
	if err := s.db.CreateComment(ctx, cm, u); err != nil {
		return fmt.Errorf("create comment: %w", err)
	}
	s.publish(ctx, cm.LessonID, changeCreated, cm.ID)
	s.queueAnsweredMail(ctx, cm)
	if cm.ParentID != "" {
		// The thread's reply count, and perhaps its status, changed.
		s.publish(ctx, cm.LessonID, changeUpdated, cm.ParentID)
	}
	return c.JSON(http.StatusCreated, cm)
}

type threadResponse struct {
	Comment *lectern.Comment   `json:"comment"`
	Replies []*lectern.Comment `json:"replies"`
}

// handleCommentGet shows the thread an entry belongs to: its first entry
// and the replies, oldest first.
func (s *Server) handleCommentGet(c echo.Context) error {
	root, replies, err := s.db.FindThread(c.Request().Context(), c.Param("id"), currentUser(c))
	if err != nil {
		return fmt.Errorf("find thread: %w", err)
	}
	return c.JSON(http.StatusOK, threadResponse{Comment: root, Replies: replies})
}

type commentUpdateRequest struct {
	Body       *string                 `json:"body"`
	Status     *lectern.QuestionStatus `json:"status"`
	AcceptedID *string                 `json:"accepted_id"`
}

// handleCommentUpdate edits an entry's body (its author), a question's
// status (the asker or a course teacher) or its accepted answer (a course
// teacher).
func (s *Server) handleCommentUpdate(c echo.Context) error {
	var req commentUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cm, err := s.db.UpdateComment(ctx, c.Param("id"), currentUser(c),
		lectern.CommentUpdate{Body: req.Body, Status: req.Status, AcceptedID: req.AcceptedID})
	if err != nil {
		return fmt.Errorf("update comment: %w", err)
	}
	s.publish(ctx, cm.LessonID, changeUpdated, cm.ID)
	return c.JSON(http.StatusOK, cm)
}

// handleCommentDelete soft-deletes an entry (its author or a course
// teacher); its replies stay.
func (s *Server) handleCommentDelete(c echo.Context) error {
	ctx := c.Request().Context()
	cm, err := s.db.DeleteComment(ctx, c.Param("id"), currentUser(c))
	if err != nil {
		return fmt.Errorf("delete comment: %w", err)
	}
	s.publish(ctx, cm.LessonID, changeDeleted, cm.ID)
	if cm.ParentID != "" {
		s.publish(ctx, cm.LessonID, changeUpdated, cm.ParentID)
	}
	return c.NoContent(http.StatusNoContent)
}

// Marker buckets: at least a second, at most a day; by default a lesson's
// timeline gets about markerBuckets of them, in whole seconds.
const (
	minBucketMS   = 1000
	maxBucketMS   = 24 * 60 * 60 * 1000
	markerBuckets = 100
)

// markerBucket counts the visible entries anchored in
// [start_ms, start_ms+bucket_ms): all of them, by kind, and the questions
// by status.
type markerBucket struct {
	StartMS   int64                          `json:"start_ms"`
	Count     int                            `json:"count"`
	Kinds     map[lectern.CommentKind]int    `json:"kinds"`
	Questions map[lectern.QuestionStatus]int `json:"questions"`
}

type markerResponse struct {
	LessonID   string         `json:"lesson_id"`
	BucketMS   int64          `json:"bucket_ms"`
	DurationMS int64          `json:"duration_ms"`
	Buckets    []markerBucket `json:"buckets"`
}

// handleMarkerList counts the entries the caller may see per time bucket,
// for dots on the player's timeline. Empty buckets are left out.
func (s *Server) handleMarkerList(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	lesson, _, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	bucket, err := bucketMS(c, lesson.DurationMS)
	if err != nil {
		return err
	}
	markers, err := s.db.FindMarkers(ctx, lesson.ID, u, bucket)
	if err != nil {
		return fmt.Errorf("find markers: %w", err)
	}
	resp := markerResponse{LessonID: lesson.ID, BucketMS: bucket, DurationMS: lesson.DurationMS, Buckets: []markerBucket{}}
	for _, m := range markers {
		if n := len(resp.Buckets); n == 0 || resp.Buckets[n-1].StartMS != m.StartMS {
			resp.Buckets = append(resp.Buckets, markerBucket{StartMS: m.StartMS,
				Kinds: map[lectern.CommentKind]int{}, Questions: map[lectern.QuestionStatus]int{}})
		}
		b := &resp.Buckets[len(resp.Buckets)-1]
		b.Count += m.Count
		b.Kinds[m.Kind] += m.Count
		if m.Kind == lectern.KindQuestion {
			b.Questions[m.Status] += m.Count
		}
	}
	return c.JSON(http.StatusOK, resp)
}

// bucketMS reads bucket_ms, or picks one that splits the lesson into about
// markerBuckets whole-second buckets.
func bucketMS(c echo.Context, durationMS int64) (int64, error) {
	v := c.QueryParam("bucket_ms")
	if v == "" {
		secs := (durationMS/markerBuckets + 999) / 1000
		return max(minBucketMS, secs*1000), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < minBucketMS || n > maxBucketMS {
		return 0, lectern.Errorf(lectern.EINVALID, "bucket_ms must be between %d and %d", minBucketMS, maxBucketMS)
	}
	return n, nil
}
