package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

func (s *Server) registerAnalyticsRoutes(g *echo.Group) {
	g.GET("/lessons/:id/analytics", s.handleAnalytics, s.requireUser)
	g.GET("/lessons/:id/analytics.csv", s.handleAnalyticsCSV, s.requireUser)
}

// handleAnalytics shows a lesson's teachers how its students watched it:
// counts, the retention curve with questions and rewatches per bucket
// (?bucket_ms=, whole seconds; about 100 buckets by default), and one row
// per student. ?format=csv exports the rows, as analytics.csv does.
// Students of the course get 403: they know the lesson exists, and may
// not see others' progress. Everyone else gets 404.
func (s *Server) handleAnalytics(c echo.Context) error {
	switch f := c.QueryParam("format"); f {
	case "", "json":
	case "csv":
		return s.handleAnalyticsCSV(c)
	default:
		return lectern.Errorf(lectern.EINVALID, "format must be json or csv, not %q", f)
	}
	a, err := s.lessonAnalytics(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// handleAnalyticsCSV exports a lesson's per-student rows as CSV, with the
// same fields and values as the JSON's "students".
func (s *Server) handleAnalyticsCSV(c echo.Context) error {
	a, err := s.lessonAnalytics(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeStudentsCSV(&buf, a.Students); err != nil {
		return fmt.Errorf("write analytics csv: %w", err)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="lesson-%s-students.csv"`, a.LessonID))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// lessonAnalytics checks that the caller teaches or assists the lesson's
// course (or is an admin) and gathers its analytics with question counts.
func (s *Server) lessonAnalytics(c echo.Context) (*lectern.LessonAnalytics, error) {
	ctx := c.Request().Context()
	u := currentUser(c)
	l, err := s.findAssistedLesson(ctx, c.Param("id"), u, "see its analytics")
	if err != nil {
		return nil, err
	}
	var bucketMS int64
	if v := c.QueryParam("bucket_ms"); v != "" {
		if bucketMS, err = strconv.ParseInt(v, 10, 64); err != nil || bucketMS <= 0 {
			return nil, lectern.Errorf(lectern.EINVALID, "bucket_ms must be a positive whole number of milliseconds")
		}
	}
	a, err := s.db.FindLessonAnalytics(ctx, l.ID, bucketMS)
	if err != nil {
		return nil, fmt.Errorf("find lesson analytics: %w", err)
	}
	if err := s.addQuestionCounts(ctx, a, u); err != nil {
		return nil, err
	}
	if a.WatchBy = l.WatchBy; l.WatchBy != nil {
		for i := range a.Students {
			a.Students[i].WatchByStatus = lectern.WatchByStatus(a.Students[i].CompletedAt, *l.WatchBy)
		}
	}
	return a, nil
}

// addQuestionCounts puts the number of questions asked in each bucket
// beside the retention curve, and in each of the most rewatched ranges.
// Questions are counted per second, which every bucket width (whole
// seconds) and range (whole seconds) is made of.
func (s *Server) addQuestionCounts(ctx context.Context, a *lectern.LessonAnalytics, viewer *lectern.User) error {
	markers, err := s.db.FindMarkers(ctx, a.LessonID, viewer, 1000)
	if err != nil {
		return fmt.Errorf("find question markers: %w", err)
	}
	for _, m := range markers {
		if m.Kind != lectern.KindQuestion {
			continue
		}
		if i := m.StartMS / a.BucketMS; i >= 0 && i < int64(len(a.Buckets)) {
			a.Buckets[i].Questions += m.Count
		}
		for i, r := range a.MostRewatched {
			if m.StartMS >= r.StartMS && m.StartMS < r.EndMS {
				a.MostRewatched[i].Questions += m.Count
			}
		}
	}
	return nil
}

// studentsCSVHeader names the CSV columns: the JSON field names of
// lectern.StudentProgress, in order.
var studentsCSVHeader = []string{"user_id", "name", "email", "watched_ms", "percent", "completed", "completed_at", "last_seen_at"}

// writeStudentsCSV writes the rows with values formatted as in JSON:
// integers and decimals as JSON writes them, true/false, RFC 3339 times
// and empty cells for null.
func writeStudentsCSV(w *bytes.Buffer, rows []lectern.StudentProgress) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(studentsCSVHeader); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{
			r.UserID, csvText(r.Name), csvText(r.Email),
			strconv.FormatInt(r.WatchedMS, 10),
			strconv.FormatFloat(r.Percent, 'f', -1, 64),
			strconv.FormatBool(r.Completed),
			csvTime(r.CompletedAt), csvTime(r.LastSeenAt),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvText keeps a cell from being read as a formula by a spreadsheet
// (CSV injection): text starting with =, +, - or @ gets a leading quote.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
