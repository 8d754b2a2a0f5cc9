package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// JobStatus is a job with its place in line.
type JobStatus struct {
	lectern.Job
	// QueuePosition is, for a queued job, where it waits: 1 is the next
	// to start. A worker serves the queues in strict priority order and
	// each queue first in, first out, so it is 1 + the queued jobs on
	// queues of higher priority + the queued jobs on its own queue created
	// before it. Nil for a job in any other state.
	QueuePosition *int `db:"queue_position"`
}

// queuePosition computes JobStatus.QueuePosition of the job aliased j.
const queuePosition = `CASE WHEN j.state = 'queued' THEN 1 + (SELECT COUNT(*) FROM jobs o
		WHERE o.state = 'queued' AND (o.queue_priority > j.queue_priority
			OR (o.queue = j.queue AND (o.created_at < j.created_at
				OR (o.created_at = j.created_at AND o.id < j.id)))))
	END AS queue_position`

// FindCurrentJob returns the job of the lesson's current transcode attempt
// (its latest upload or retry), with its place in line. It returns
// ENOTFOUND when nothing was ever uploaded to the lesson. The caller has
// checked that the user may see the lesson.
func (db *DB) FindCurrentJob(ctx context.Context, lessonID string) (*JobStatus, error) {
	var j JobStatus
	err := db.read(ctx, func(t tx) error {
		err := t.get(ctx, &j, `SELECT `+qualified(jobColumns, "j")+`, `+queuePosition+`
			FROM jobs j JOIN lessons l ON l.id = j.lesson_id AND l.attempt = j.attempt
			WHERE l.id = ?`, lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "this lesson has no transcode job")
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find current job: %w", err)
	}
	return &j, nil
}

// FindCurrentJobs returns the job of the current transcode attempt of every
// lesson of a course that has one, with its place in line, by lesson id.
// The caller has checked that the user may see the course.
func (db *DB) FindCurrentJobs(ctx context.Context, courseID string) (map[string]*JobStatus, error) {
	jobs := []*JobStatus{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &jobs, `SELECT `+qualified(jobColumns, "j")+`, `+queuePosition+`
			FROM jobs j JOIN lessons l ON l.id = j.lesson_id AND l.attempt = j.attempt
			WHERE l.course_id = ?`, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find current jobs: %w", err)
	}
	byLesson := make(map[string]*JobStatus, len(jobs))
	for _, j := range jobs {
		byLesson[j.LessonID] = j
	}
	return byLesson, nil
}
