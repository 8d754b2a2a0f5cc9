package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// jobsListLimit caps one listing of jobs.
const jobsListLimit = 500

// canceledReason is what a lesson and its job show after an admin's cancel.
const canceledReason = "Processing was canceled by an admin"

func (s *Server) registerAdminJobRoutes(api *echo.Group) {
	g := api.Group("/admin/jobs", s.requireUser, requireAdmin)
	g.GET("", s.handleJobList)
	g.POST("/:id/retry", s.handleJobRetry)
	g.POST("/:id/cancel", s.handleJobCancel)
}

// adminJobJSON is one transcode job as the admin jobs API and page show
// it: its state in the shape every API shares (transcodeJSON), and what an
// admin needs besides.
type adminJobJSON struct {
	ID          string `json:"id"`
	LessonID    string `json:"lesson_id"`
	LessonTitle string `json:"lesson_title"`
	CourseID    string `json:"course_id"`
	CourseTitle string `json:"course_title"`
	TeacherName string `json:"teacher_name"`
	*transcodeJSON
	Attempt    int        `json:"attempt"`
	Retries    int        `json:"retries"`
	Queue      string     `json:"queue"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	WorkerHost string     `json:"worker_host"`
	LogTail    string     `json:"log_tail"`
	// Chunks is the progress of a transcode encoded in chunks (see
	// docs/operations.md); null for one encoded in one run.
	Chunks *chunksJSON `json:"chunks"`
}

// chunksJSON counts a chunked transcode's pieces and names the workers
// holding the running ones.
type chunksJSON struct {
	Done    int      `json:"done"`
	Total   int      `json:"total"`
	Workers []string `json:"workers"`
}

func toAdminJobJSON(j *db.JobDetail) adminJobJSON {
	return adminJobJSON{
		ID: j.ID, LessonID: j.LessonID, LessonTitle: j.LessonTitle, CourseID: j.CourseID,
		CourseTitle: j.CourseTitle, TeacherName: j.TeacherName, transcodeJSON: toTranscodeJSON(&j.JobStatus),
		Attempt: j.Attempt, Retries: j.Retries, Queue: j.Queue, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt,
		FinishedAt: j.FinishedAt, WorkerHost: j.WorkerHost, LogTail: j.LogTail, Chunks: toChunksJSON(j),
	}
}

func toChunksJSON(j *db.JobDetail) *chunksJSON {
	if j.ChunksTotal == 0 {
		return nil
	}
	c := &chunksJSON{Done: j.ChunksDone, Total: j.ChunksTotal, Workers: []string{}}
	if j.ChunkWorkers != "" {
		c.Workers = strings.Split(j.ChunkWorkers, ",")
	}
	return c
}

// handleJobList lists transcode jobs, newest first, optionally of one
// state (?state=queued|running|retrying|succeeded|failed|canceled).
func (s *Server) handleJobList(c echo.Context) error {
	f := db.JobFilter{Limit: jobsListLimit}
	if st := c.QueryParam("state"); st != "" {
		state := lectern.JobState(st)
		switch state {
		case lectern.JobQueued, lectern.JobRunning, lectern.JobRetrying, lectern.JobSucceeded, lectern.JobFailed, lectern.JobCanceled:
		default:
			return lectern.Errorf(lectern.EINVALID, "state must be queued, running, retrying, succeeded, failed or canceled")
		}
		f.State = &state
	}
	jobs, err := s.db.FindJobDetails(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]adminJobJSON, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, toAdminJobJSON(j))
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": out})
}

// jobDetail returns one job with its lesson, course and teacher.
func (s *Server) jobDetail(ctx context.Context, id string) (*db.JobDetail, error) {
	j, err := s.db.FindJobByID(ctx, id)
	if err != nil {
		return nil, err
	}
	jobs, err := s.db.FindJobDetails(ctx, db.JobFilter{LessonID: &j.LessonID})
	if err != nil {
		return nil, err
	}
	for _, d := range jobs {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, lectern.Errorf(lectern.ENOTFOUND, "job not found")
}

// handleJobRetry transcodes the job's lesson again from its current
// source, as a new attempt started exactly like an upload's (202 with the
// new job). A lesson whose transcode is still queued, running or retrying
// gets 409, and so does a job whose file was refused: no retry can change
// that.
func (s *Server) handleJobRetry(c echo.Context) error {
	ctx := c.Request().Context()
	j, err := s.db.FindJobByID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if j.Failure == lectern.FailureRefused {
		return lectern.Errorf(lectern.ECONFLICT,
			"a retry cannot change this: the file itself cannot be used (%s); the teacher must upload another file", j.Error)
	}
	// Only the lesson's current job can be unfinished: an upload cancels
	// the jobs it replaces.
	current, err := s.db.FindCurrentJob(ctx, j.LessonID)
	if err != nil {
		return err
	}
	if current.State.Unfinished() {
		return lectern.Errorf(lectern.ECONFLICT, "this lesson's transcode is already %s", current.State)
	}
	l, err := s.db.FindLessonByID(ctx, j.LessonID)
	if err != nil {
		return err
	}
	if l.SourceKey == "" {
		return lectern.Errorf(lectern.ECONFLICT, "this lesson has no recording to transcode")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterUploadTimeout)
	defer cancel()
	_, job, _, err := s.db.StartTranscode(ctx, l.ID, l.SourceKey)
	if err != nil {
		return fmt.Errorf("start transcode: %w", err)
	}
	s.enqueueTranscode(ctx, job)
	s.logger.InfoContext(ctx, "transcode retried by an admin", slog.String("lesson", l.ID),
		slog.String("job", job.ID), slog.Int("attempt", job.Attempt), slog.String("admin", currentUser(c).ID))
	d, err := s.jobDetail(ctx, job.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"job": toAdminJobJSON(d)})
}

// handleJobCancel cancels a queued, running or retrying job: the job and
// its lesson record the cancel at once, a waiting (or retrying) task is
// deleted from the queue and a running one is stopped (its ffmpeg killed)
// within seconds. A finished job gets 409.
func (s *Server) handleJobCancel(c echo.Context) error {
	ctx := c.Request().Context()
	j, err := s.db.CancelJob(ctx, c.Param("id"), canceledReason)
	if err != nil {
		return err
	}
	if s.jobs != nil {
		// The running handler also sees the cancel on its next heartbeat,
		// so a queue that cannot be reached now only delays the stop.
		if err := s.jobs.CancelTranscode(ctx, j); err != nil {
			s.logger.WarnContext(ctx, "cancel transcode task", slog.String("task", j.TaskID), slog.Any("error", err))
		}
	}
	s.logger.InfoContext(ctx, "transcode canceled by an admin", slog.String("lesson", j.LessonID),
		slog.String("job", j.ID), slog.String("admin", currentUser(c).ID))
	d, err := s.jobDetail(ctx, j.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"job": toAdminJobJSON(d)})
}
