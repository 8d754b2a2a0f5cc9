package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lectern/lectern"
)

// Analytics bucket limits. The default width gives about
// defaultAnalyticsBuckets buckets, in whole seconds.
const (
	defaultAnalyticsBuckets = 100
	maxAnalyticsBuckets     = 10000
)

// AnalyticsBucketMS returns the bucket width FindLessonAnalytics uses for
// a lesson of this duration when asked for 0: whole seconds, about 100
// buckets, at least one second.
func AnalyticsBucketMS(durationMS int64) int64 {
	perBucket := (durationMS + defaultAnalyticsBuckets - 1) / defaultAnalyticsBuckets
	return max(1000, (perBucket+999)/1000*1000)
}

// analyticsRow is a student of the course and their progress in the
// lesson, if any.
type analyticsRow struct {
	UserID      string     `db:"user_id"`
	Name        string     `db:"name"`
	Email       string     `db:"email"`
	Coverage    []byte     `db:"coverage"`
	Rewatched   []byte     `db:"rewatched"`
	CompletedAt *time.Time `db:"completed_at"`
	UpdatedAt   *time.Time `db:"updated_at"`
}

// FindLessonAnalytics returns how the course's students watched a lesson,
// with buckets bucketMS wide (a positive multiple of 1000; 0 picks
// AnalyticsBucketMS). Students are ordered by name, then email. Question
// counts are left at zero: comments live elsewhere. It returns ENOTFOUND
// when there is no such lesson; the caller has checked that the user
// teaches the course.
func (db *DB) FindLessonAnalytics(ctx context.Context, lessonID string, bucketMS int64) (*lectern.LessonAnalytics, error) {
	var (
		lesson struct {
			DurationMS int64  `db:"duration_ms"`
			Threshold  int    `db:"completion_threshold"`
			CourseID   string `db:"course_id"`
		}
		rows []*analyticsRow
	)
	err := db.read(ctx, func(t tx) error {
		err := t.get(ctx, &lesson, `SELECT l.duration_ms, c.completion_threshold, l.course_id
			FROM lessons l JOIN courses c ON c.id = l.course_id WHERE l.id = ?`, lessonID)
		if notFound(err) {
			return lectern.Errorf(lectern.ENOTFOUND, "lesson not found")
		}
		if err != nil {
			return err
		}
		return t.sel(ctx, &rows, `SELECT u.id AS user_id, u.name, u.email,
				p.coverage, p.rewatched, p.completed_at, p.updated_at
			FROM course_members m
			JOIN users u ON u.id = m.user_id
			LEFT JOIN lesson_progress p ON p.user_id = m.user_id AND p.lesson_id = ?
			WHERE m.course_id = ? AND m.role = ?
			ORDER BY u.name, u.email, u.id`, lessonID, lesson.CourseID, lectern.MemberStudent)
	})
	if err != nil {
		return nil, fmt.Errorf("find lesson analytics: %w", err)
	}
	if bucketMS == 0 {
		bucketMS = AnalyticsBucketMS(lesson.DurationMS)
	}
	if err := validateBucket(bucketMS, lesson.DurationMS); err != nil {
		return nil, err
	}
	a := &lectern.LessonAnalytics{
		LessonID: lessonID, DurationMS: lesson.DurationMS, CompletionThreshold: lesson.Threshold,
		BucketMS: bucketMS, Students: make([]lectern.StudentProgress, 0, len(rows)),
	}
	summarize(a, rows)
	return a, nil
}

func validateBucket(bucketMS, durationMS int64) error {
	if bucketMS < 1000 || bucketMS%1000 != 0 {
		return lectern.Errorf(lectern.EINVALID, "bucket_ms must be a whole number of seconds (a multiple of 1000)")
	}
	if (durationMS+bucketMS-1)/bucketMS > maxAnalyticsBuckets {
		return lectern.Errorf(lectern.EINVALID, "bucket_ms is too small: at most %d buckets", maxAnalyticsBuckets)
	}
	return nil
}

// summarize fills a's counts, student rows and buckets from the rows.
func summarize(a *lectern.LessonAnalytics, rows []*analyticsRow) {
	slots := lectern.CoverageSlots(a.DurationMS)
	secsPerBucket := int(a.BucketMS / 1000)
	nBuckets := (slots + secsPerBucket - 1) / secsPerBucket
	a.Buckets = make([]lectern.AnalyticsBucket, nBuckets)
	for i := range a.Buckets {
		a.Buckets[i].StartMS = int64(i) * a.BucketMS
		a.Buckets[i].EndMS = min(int64(i+1)*a.BucketMS, a.DurationMS)
	}
	totalWatched := 0
	rewatches := make([]lectern.Coverage, 0, len(rows))
	for _, r := range rows {
		coverage := lectern.Coverage(r.Coverage).Truncate(slots)
		rewatched := lectern.Coverage(r.Rewatched).Truncate(slots)
		rewatches = append(rewatches, rewatched)
		watched := coverage.Count()
		totalWatched += watched
		if watched > 0 {
			a.Viewers++
		}
		if r.CompletedAt != nil {
			a.Completed++
		}
		a.Students = append(a.Students, lectern.StudentProgress{
			UserID: r.UserID, Name: r.Name, Email: r.Email,
			WatchedMS:   min(int64(watched)*1000, a.DurationMS),
			Percent:     lectern.CoveragePercent(watched, slots),
			Completed:   r.CompletedAt != nil,
			CompletedAt: r.CompletedAt,
			LastSeenAt:  r.UpdatedAt,
		})
		for i := range a.Buckets {
			lo := i * secsPerBucket
			hi := min(lo+secsPerBucket, slots)
			if n := coverage.CountIn(lo, hi); n > 0 && 2*n >= hi-lo {
				a.Buckets[i].Viewers++
			}
			if rewatched.CountIn(lo, hi) > 0 {
				a.Buckets[i].Rewatchers++
			}
		}
	}
	a.Enrolled = len(rows)
	a.CompletionRate = lectern.CoveragePercent(a.Completed, a.Enrolled)
	a.AveragePercent = lectern.CoveragePercent(totalWatched, slots*a.Enrolled)
	a.RewatchThreshold = RewatchThreshold(a.Viewers)
	a.MostRewatched = mostRewatched(rewatches, slots, a.RewatchThreshold, a.DurationMS)
}

// rewatchGapSeconds is the longest run of quieter seconds that still
// leaves one rewatched part, rather than two: students going back over a
// passage do not all replay exactly the same seconds.
const rewatchGapSeconds = 2

// RewatchThreshold is how many students must have watched a second again
// for it to belong to a lesson's most rewatched parts, given how many
// watched the lesson: a fifth of them, and at least two once three or
// more watched, so that one student's habit is not the class's pattern.
// With one or two viewers, one is enough.
func RewatchThreshold(viewers int) int {
	if viewers <= 2 {
		return 1
	}
	return max(2, (viewers+4)/5)
}

// mostRewatched merges the seconds that at least threshold students
// watched again into ranges (bridging gaps of up to rewatchGapSeconds),
// counts the students who went back over each, and returns the
// lectern.MostRewatchedLimit ranges with the most of them: the longer,
// then the earlier, first on a tie.
func mostRewatched(rewatches []lectern.Coverage, slots, threshold int, durationMS int64) []lectern.RewatchedRange {
	perSecond := make([]int, slots)
	for _, c := range rewatches {
		for s := range slots {
			if c.Has(s) {
				perSecond[s]++
			}
		}
	}
	type span struct{ lo, hi int }
	var spans []span
	for s, n := range perSecond {
		if n < threshold || n == 0 {
			continue
		}
		if k := len(spans) - 1; k >= 0 && s-spans[k].hi <= rewatchGapSeconds {
			spans[k].hi = s + 1
		} else {
			spans = append(spans, span{s, s + 1})
		}
	}
	out := make([]lectern.RewatchedRange, 0, len(spans))
	for _, sp := range spans {
		r := lectern.RewatchedRange{StartMS: int64(sp.lo) * 1000, EndMS: min(int64(sp.hi)*1000, durationMS)}
		for _, c := range rewatches {
			if c.CountIn(sp.lo, sp.hi) > 0 {
				r.Rewatchers++
			}
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b lectern.RewatchedRange) int {
		if a.Rewatchers != b.Rewatchers {
			return b.Rewatchers - a.Rewatchers
		}
		return int((b.EndMS - b.StartMS) - (a.EndMS - a.StartMS))
	})
	return out[:min(len(out), lectern.MostRewatchedLimit)]
}
