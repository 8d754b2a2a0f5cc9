package server

// Storage quotas. Each teacher's lessons (the lessons of the courses they
// own: sources and published outputs) may take at most Options.StorageQuota
// bytes; admins, who set the quota, have none. An upload that would go
// past it is refused before anything is stored, with 507 and a message
// saying how much is left.
//
// Usage is summed in SQL from sizes measured in storage and kept in the
// database (db.LessonStorage). A source key and an output prefix never
// change once written (a new upload or transcode gets new ones), so each
// is measured once, the first time usage is asked for after it appears:
// one Stat per upload, one List per published transcode. That keeps the
// transcode worker and the upload paths out of it, counts lessons stored
// before quotas existed, and cannot drift from what storage holds the way
// a running total updated on every change could. A measurement that fails
// (storage down) leaves the lesson uncounted until the next look.

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/storage/disk"
)

// storageUsage measures what has not been measured yet in the courses
// ownerID owns (every course when ""), then returns the bytes stored by
// owner.
func (s *Server) storageUsage(ctx context.Context, ownerID string) (map[string]int64, error) {
	todo, err := s.db.FindUnmeasuredLessons(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	for _, ls := range todo {
		// A slow store delays the page by one storage timeout at most.
		mctx, cancel := context.WithTimeout(ctx, s.storageTimeout)
		m, err := s.measureLesson(mctx, ls)
		cancel()
		if err != nil {
			s.logger.WarnContext(ctx, "measure a lesson's storage", slog.String("lesson", ls.LessonID), slog.Any("error", err))
			break // the rest waits for the next look
		}
		err = s.db.RecordLessonStorage(ctx, m)
		if err != nil {
			s.logger.WarnContext(ctx, "measure a lesson's storage", slog.String("lesson", ls.LessonID), slog.Any("error", err))
		}
	}
	return s.db.StorageUsage(ctx, ownerID)
}

// measureLesson sizes the source and the output of ls that its measured
// sizes (zero) do not cover.
func (s *Server) measureLesson(ctx context.Context, ls db.LessonStorage) (db.LessonStorage, error) {
	if ls.SourceKey != "" && ls.SourceBytes == 0 {
		info, err := s.storage.Stat(ctx, ls.SourceKey)
		switch lectern.ErrorCode(err) {
		case "":
			ls.SourceBytes = info.Size
		case lectern.ENOTFOUND: // deleted meanwhile: nothing stored
		default:
			return ls, fmt.Errorf("measure source: %w", err)
		}
	}
	if ls.OutputPrefix != "" && ls.OutputBytes == 0 {
		for obj, err := range s.storage.List(ctx, ls.OutputPrefix) {
			if err != nil {
				return ls, fmt.Errorf("measure output: %w", err)
			}
			ls.OutputBytes += obj.Size
		}
	}
	return ls, nil
}

// quota is a teacher's storage quota and use.
type quota struct {
	Used  int64
	Limit int64 // 0: no limit
}

// Left returns the bytes an upload may still take, and false when there
// is no limit.
func (q quota) Left() (int64, bool) {
	if q.Limit <= 0 {
		return 0, false
	}
	return max(q.Limit-q.Used, 0), true
}

// String says it for people: "1.2 GB of 10.0 GB", or "1.2 GB" without
// a limit.
func (q quota) String() string {
	if q.Limit <= 0 {
		return disk.FormatBytes(q.Used)
	}
	return disk.FormatBytes(q.Used) + " of " + disk.FormatBytes(q.Limit)
}

// quotaOf returns the quota of user u as a course owner.
func (s *Server) quotaOf(ctx context.Context, u *lectern.User) (quota, error) {
	usage, err := s.storageUsage(ctx, u.ID)
	if err != nil {
		return quota{}, err
	}
	q := quota{Used: usage[u.ID]}
	if !u.IsAdmin() {
		q.Limit = s.storageQuota
	}
	return q, nil
}

// lessonQuota returns the quota of the owner of lesson l's course, as
// seen by uploader u (a teacher of that course).
func (s *Server) lessonQuota(ctx context.Context, l *lectern.Lesson, u *lectern.User) (quota, error) {
	if s.storageQuota <= 0 {
		return quota{}, nil
	}
	c, err := s.db.FindCourse(ctx, l.CourseID, u)
	if err != nil {
		return quota{}, err
	}
	owner := u
	if c.OwnerID != u.ID {
		if owner, err = s.db.FindUserByID(ctx, c.OwnerID); err != nil {
			return quota{}, fmt.Errorf("find course owner: %w", err)
		}
	}
	return s.quotaOf(ctx, owner)
}

// checkQuota refuses an upload of size bytes (-1 when not known yet) to
// lesson l that would take its course owner past their quota. It returns
// how many bytes the upload may take (-1 for no limit) and the error for
// one that turns out larger.
func (s *Server) checkQuota(ctx context.Context, l *lectern.Lesson, u *lectern.User, size int64) (room int64, over, err error) {
	q, err := s.lessonQuota(ctx, l, u)
	if err != nil {
		return 0, nil, err
	}
	left, limited := q.Left()
	if !limited {
		return -1, nil, nil
	}
	if size > left || left == 0 {
		return 0, nil, overQuota(q, size)
	}
	return left, overQuota(q, 0), nil
}

// overQuota is the 507 of an upload that does not fit in the quota.
func overQuota(q quota, size int64) error {
	left, _ := q.Left()
	need := ""
	if size > 0 {
		need = " This recording is " + disk.FormatBytes(size) + "."
	}
	return lectern.Errorf(lectern.ENOSPACE,
		"Not enough storage left: this course's teacher has used %s, and %s is left.%s Delete lessons you no longer need, or ask an administrator for more space.",
		q, disk.FormatBytes(left), need)
}
