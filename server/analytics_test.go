package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// joinAs creates a student with this name in the watch class's course and
// returns a client logged in as them.
func (w *watchClass) joinAs(t *testing.T, name string) *client {
	t.Helper()
	password := testenv.Name("pw")
	u, err := server.NewUser(testenv.Name("named")+"@example.org", name, lectern.RoleStudent, password)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ts.DB.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	c := w.ts.login(t, u, password)
	var course struct {
		JoinCode string `json:"join_code"`
	}
	w.teacher.do(t, "GET", "/api/v1/courses/"+w.courseID, nil).want(http.StatusOK).decode(&course)
	c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": course.JoinCode}).want(http.StatusOK)
	return c
}

func TestAnalyticsAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		w := newWatchClass(t, ts)
		path := "/api/v1/lessons/" + w.lessonID + "/analytics"
		formula := w.joinAs(t, "=HYPERLINK(\"http://evil.example\")")
		comma := w.joinAs(t, "Doe, Jane \"JD\"")
		for i, c := range []*client{w.students[0], formula, comma, w.teacher} {
			w.put(t, c, beatJSON("tab", 0, 0))
			fx.Clock.Advance(time.Minute)
			w.put(t, c, beatJSON("tab", 1, 20, 0, int64(10*(i+1))))
		}
		fx.Clock.Advance(time.Minute)
		w.put(t, w.students[0], beatJSON("tab", 2, 10, 0, 10)) // watched again
		w.put(t, formula, beatJSON("tab", 2, 15, 5, 15))       // 5–9 again, with the first
		asker := w.studentUsers[1]
		for _, c := range []lectern.Comment{
			{Kind: lectern.KindQuestion, Visibility: lectern.VisibilityClass, AtMS: 5000, Body: "Why?"},
			{Kind: lectern.KindQuestion, Visibility: lectern.VisibilityTeachers, AtMS: 9999, Body: "And how?"},
			{Kind: lectern.KindQuestion, Visibility: lectern.VisibilityClass, AtMS: 45000, Body: "What?"},
			{Kind: lectern.KindComment, Visibility: lectern.VisibilityClass, AtMS: 6000, Body: "Nice"},
		} {
			c.LessonID = w.lessonID
			if err := fx.DB.CreateComment(context.Background(), &c, asker); err != nil {
				t.Fatal(err)
			}
		}

		var a lectern.LessonAnalytics
		w.teacher.do(t, "GET", path+"?bucket_ms=10000", nil).want(http.StatusOK).decode(&a)
		t.Run("Counts", func(t *testing.T) {
			got := []any{a.Enrolled, a.Viewers, a.Completed, a.AveragePercent, a.BucketMS, len(a.Buckets), len(a.Students)}
			// Five students (three from the class, two named): three
			// watched 10, 20 and 30 s; the teacher's 40 s do not count.
			want := []any{5, 3, 0, 12.0, int64(10000), 10, 5}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("enrolled, viewers, completed, average, bucket, buckets, rows (-want +got):\n%s", diff)
			}
			wantViewers := []int{3, 2, 1, 0, 0, 0, 0, 0, 0, 0}
			for i, b := range a.Buckets {
				if b.Viewers != wantViewers[i] {
					t.Errorf("bucket %d: %d viewers, want %d", i, b.Viewers, wantViewers[i])
				}
			}
			wantQuestions := []int{2, 0, 0, 0, 1, 0, 0, 0, 0, 0}
			for i, b := range a.Buckets {
				if b.Questions != wantQuestions[i] {
					t.Errorf("bucket %d: %d questions, want %d", i, b.Questions, wantQuestions[i])
				}
			}
			// Of three viewers, two must have gone back: seconds 5 to 9,
			// where the two questions at 5 s and 9.999 s were asked.
			wantTop := []lectern.RewatchedRange{{StartMS: 5000, EndMS: 10000, Rewatchers: 2, Questions: 2}}
			if diff := cmp.Diff(wantTop, a.MostRewatched); diff != "" || a.RewatchThreshold != 2 {
				t.Errorf("most rewatched, threshold %d (-want +got):\n%s", a.RewatchThreshold, diff)
			}
		})

		t.Run("Page", func(t *testing.T) {
			page := string(w.teacher.do(t, "GET", "/lessons/"+w.lessonID+"/analytics", nil).want(http.StatusOK).Body)
			for _, want := range []string{
				`class="chart chart-wide"`, `class="chart chart-narrow"`, `viewBox="0 0 320 200"`,
				"0:05–0:10</a>", "re-watched by 2 students, 2 questions asked here",
				"at least 2 students went back over", "3 of 5 students watched; 3 questions asked",
				`data-label="Last seen"`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("analytics page lacks %q", want)
				}
			}
		})
		t.Run("CSVMatchesJSON", func(t *testing.T) {
			raw := w.teacher.do(t, "GET", path, nil).want(http.StatusOK)
			resp := w.teacher.do(t, "GET", path+"?format=csv", nil).want(http.StatusOK)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("Content-Type = %q, want text/csv", ct)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
				t.Errorf("Content-Disposition = %q, want an attachment", cd)
			}
			other := w.teacher.do(t, "GET", path+".csv", nil).want(http.StatusOK)
			if !bytes.Equal(resp.Body, other.Body) {
				t.Errorf("?format=csv and analytics.csv differ:\n%s\n%s", resp.Body, other.Body)
			}
			records, err := csv.NewReader(bytes.NewReader(resp.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonStudentRecords(t, raw.Body, records[0]), records); diff != "" {
				t.Errorf("CSV differs from the JSON rows (-json +csv):\n%s", diff)
			}
		})

		t.Run("Access", func(t *testing.T) {
			w.admin.do(t, "GET", path, nil).want(http.StatusOK)
			w.students[0].do(t, "GET", path, nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			w.students[0].do(t, "GET", path+".csv", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			for _, c := range []*client{w.outsider, w.teacherB} {
				c.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				c.do(t, "GET", path+"?format=csv", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
			ts.client(t).do(t, "GET", path, nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("Invalid", func(t *testing.T) {
			for _, q := range []string{"?bucket_ms=abc", "?bucket_ms=0", "?bucket_ms=1500", "?format=xml"} {
				w.teacher.do(t, "GET", path+q, nil).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
		})
	})
}

// jsonStudentRecords renders the "students" rows of an analytics JSON
// body as CSV records with the given header: each cell is the JSON value's
// own text (numbers exactly as written, null as empty), with text that a
// spreadsheet would take for a formula prefixed by a quote.
func jsonStudentRecords(t *testing.T, body []byte, header []string) [][]string {
	t.Helper()
	var doc struct{ Students []map[string]any }
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := [][]string{header}
	for _, row := range doc.Students {
		if len(row) != len(header) {
			t.Errorf("JSON row has %d fields, CSV %d columns", len(row), len(header))
		}
		var rec []string
		for _, col := range header {
			v, ok := row[col]
			if !ok {
				t.Fatalf("CSV column %q is not a JSON field", col)
			}
			switch v := v.(type) {
			case nil:
				rec = append(rec, "")
			case json.Number:
				rec = append(rec, v.String())
			case bool:
				rec = append(rec, strconv.FormatBool(v))
			case string:
				if v != "" && strings.ContainsAny(v[:1], "=+-@") {
					v = "'" + v
				}
				rec = append(rec, v)
			default:
				t.Fatalf("unexpected JSON value %v for %q", v, col)
			}
		}
		out = append(out, rec)
	}
	return out
}
