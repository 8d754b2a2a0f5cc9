package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Jobs is the transcode queue as the server uses it; cmd/lectern wires a
// *jobs.Client.
type Jobs interface {
	// EnqueueTranscode puts the transcode of job's attempt on the queue. A
	// task already queued for the attempt is not an error.
	EnqueueTranscode(ctx context.Context, job *lectern.Job) error
	// CancelTranscode takes job's task off the queue: a waiting task is
	// deleted, a running one has its handler's context canceled (which
	// kills its ffmpeg). A task the queue no longer holds is not an error.
	CancelTranscode(ctx context.Context, job *lectern.Job) error
}

// DefaultMaxUploadBytes caps an upload when Options.MaxUploadBytes is zero.
const DefaultMaxUploadBytes = 4 << 30

// sourceRoute is the streaming upload's route, exempt from the JSON body
// limit (see streamingRoute).
const sourceRoute = "/api/v1/lessons/:id/source"

// afterUploadTimeout bounds what the upload endpoint does once the body
// is stored (database, queue, deleting the replaced source): it runs even
// when the client has gone, so that a stored upload is never orphaned.
const afterUploadTimeout = 30 * time.Second

// enqueueTimeout bounds putting a transcode on the queue, so that a Redis
// that is down or does not answer holds an upload's answer no longer: the
// job is recorded as queued in the database either way, and the
// reconciler enqueues it once Redis is back.
const enqueueTimeout = 3 * time.Second

func (s *Server) registerUploadRoutes(e *echo.Echo) {
	e.PUT(sourceRoute, s.handleLessonSource, s.requireUser)
}

// streamingRoute reports whether c is a request whose body is a recording
// streamed to storage, which the upload limit bounds instead of the JSON
// body limit.
func streamingRoute(c echo.Context) bool {
	return c.Request().Method == http.MethodPut && c.Path() == sourceRoute
}

func (s *Server) uploadLimit() int64 {
	if s.maxUploadBytes > 0 {
		return s.maxUploadBytes
	}
	return DefaultMaxUploadBytes
}

func tooLarge(limit int64) error {
	return lectern.Errorf(lectern.ETOOLARGE, "the recording is larger than the %d bytes this server accepts", limit)
}

type uploadResponse struct {
	Status lectern.LessonStatus `json:"status"`
	Lesson lessonJSON           `json:"lesson"`
}

// handleLessonSource stores the request body as the lesson's recording
// and queues its transcode (course teachers and admins; other members get
// 403, everyone else 404). The body streams to storage through the upload
// limit: memory stays flat whatever the size, and an upload over the limit
// gets 413 and leaves no object. A body that is empty or whose first bytes
// show it is no recording (text, an image, an archive…) gets 400 with the
// reason as soon as those bytes are in, and changes nothing. A re-upload
// replaces the source (the previous one is deleted) while the previous
// rendition stays published until the new one replaces it.
//
// If the task cannot be enqueued (within enqueueTimeout), the answer is
// still 202: the job row says queued, and the reconciler (in serve and
// every worker) enqueues it once Redis answers. The failure is logged.
func (s *Server) handleLessonSource(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findTaughtLesson(ctx, c.Param("id"), u, "upload its recordings")
	if err != nil {
		return err
	}
	room, over, err := s.checkQuota(ctx, l, u, c.Request().ContentLength)
	if err != nil {
		return err
	}
	key, err := s.storeUpload(c, l.ID, room, over)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterUploadTimeout)
	defer cancel()
	lesson, job, err := s.commitSource(ctx, l.ID, key)
	if err != nil {
		return err
	}
	resp, err := s.toLessonJSON(lesson, u)
	if err != nil {
		return err
	}
	if err := s.withChapters(ctx, &resp); err != nil {
		// The upload is stored and queued; only the answer lacks them.
		s.logger.WarnContext(ctx, "read the lesson's chapters", slog.Any("error", err))
	}
	if resp.Transcode, err = s.lessonTranscode(ctx, lesson.ID); err != nil {
		// The upload is stored and queued; only its place in line is
		// unknown.
		s.logger.WarnContext(ctx, "read the new transcode's state", slog.Any("error", err))
		resp.Transcode = toTranscodeJSON(&db.JobStatus{Job: *job})
	}
	return c.JSON(http.StatusAccepted, uploadResponse{Status: lesson.Status, Lesson: resp})
}

// commitSource makes the stored object key the lesson's recording, for
// both upload paths: it starts a transcode attempt, deletes the source it
// replaces and queues the task. When the attempt cannot start, key is
// deleted so no orphan is left.
func (s *Server) commitSource(ctx context.Context, lessonID, key string) (*lectern.Lesson, *lectern.Job, error) {
	lesson, job, prev, err := s.db.StartTranscode(ctx, lessonID, key)
	if err != nil {
		s.deleteObject(ctx, key)
		return nil, nil, fmt.Errorf("start transcode: %w", err)
	}
	if prev != "" && prev != key {
		s.deleteObject(ctx, prev)
	}
	s.enqueueTranscode(ctx, job)
	return lesson, job, nil
}

// storeUpload streams the request body to a new source key of the lesson
// and returns the key. It first reads just the body's head (a buffered
// peek, so nothing is copied twice) and refuses with 400 a body that is
// empty or plainly not a recording (lectern.CheckRecordingHead), with 413
// one over the upload limit, and with over (a 507) one larger than room,
// what is left of the storage quota (-1: no quota): nothing is stored for
// any.
func (s *Server) storeUpload(c echo.Context, lessonID string, room int64, over error) (string, error) {
	r := c.Request()
	// The body may bring limit bytes; past them, overLimit says why not:
	// the upload limit, what is left of the quota, or the disk's reserve
	// (in the embedded setup, objects share the disk of the resumable
	// uploads; see tus_space.go), whichever is smallest.
	limit := s.uploadLimit()
	overLimit := tooLarge(limit)
	if room >= 0 && room < limit {
		limit, overLimit = room, over
	}
	if disk, ok := s.diskRoom(); ok && disk < limit {
		limit, overLimit = disk, errDiskRoom
	}
	if r.ContentLength > limit {
		return "", overLimit
	}
	body := bufio.NewReaderSize(http.MaxBytesReader(c.Response().Writer, r.Body, limit), lectern.RecordingHeadSize)
	head, err := body.Peek(lectern.RecordingHeadSize)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return "", overLimit
	case err != nil && !errors.Is(err, io.EOF):
		return "", fmt.Errorf("read upload: %w", err)
	}
	if err := lectern.CheckRecordingHead(head); err != nil {
		return "", err
	}
	key := lectern.SourceKey(lessonID, newUploadID())
	if _, err := s.storage.Put(r.Context(), key, body); err != nil {
		if errors.As(err, &mbe) {
			return "", overLimit
		}
		return "", fmt.Errorf("store upload: %w", err)
	}
	return key, nil
}

// newUploadID tells one upload of a lesson from another.
func newUploadID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// deleteObject removes an object nothing refers to any more; a failure
// leaves an unreachable object behind and is logged.
func (s *Server) deleteObject(ctx context.Context, key string) {
	if err := s.storage.Delete(ctx, key); err != nil {
		s.logger.WarnContext(ctx, "delete unused upload", slog.String("key", key), slog.Any("error", err))
	}
}

// enqueueTranscode queues job's task, within enqueueTimeout. A task
// already queued for the attempt is fine; any other failure is logged and
// left to the reconciler (and the start-up requeue).
func (s *Server) enqueueTranscode(ctx context.Context, job *lectern.Job) {
	ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	if s.jobs == nil {
		s.logger.WarnContext(ctx, "no queue configured: transcode stays queued until a worker starts",
			slog.String("lesson", job.LessonID), slog.Int("attempt", job.Attempt))
		return
	}
	if err := s.jobs.EnqueueTranscode(ctx, job); err != nil {
		s.logger.ErrorContext(ctx, "enqueue transcode; the reconciler enqueues it once the queue answers",
			slog.String("lesson", job.LessonID), slog.Int("attempt", job.Attempt), slog.Any("error", err))
	}
}
