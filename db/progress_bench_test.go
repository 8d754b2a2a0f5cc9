package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// BenchmarkRecordHeartbeats measures the database side of heartbeats, one
// transaction per batch of beats from different students, without HTTP
// or authentication: how much group commit gains, per database. It
// reports beats/s. bench/heartbeat measures the whole path over HTTP.
func BenchmarkRecordHeartbeats(b *testing.B) {
	dbs := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"SQLite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
		{"PostgreSQL", func(b *testing.B) string { return testenv.PostgresURL(b) }},
	}
	for _, d := range dbs {
		b.Run(d.name, func(b *testing.B) {
			fx := newBenchClass(b, openDB(b, d.url(b), nil), 256)
			for _, size := range []int{1, 16, 256} {
				b.Run(fmt.Sprint("Batch", size), func(b *testing.B) { fx.run(b, size) })
			}
		})
	}
}

type benchClass struct {
	d        *db.DB
	lessonID string
	students []*lectern.User
}

func newBenchClass(b *testing.B, d *db.DB, students int) *benchClass {
	b.Helper()
	ctx := context.Background()
	teacher := newUser(b, d, lectern.RoleTeacher)
	course := newCourse(b, d, teacher)
	l := newLesson(b, d, course)
	ready, hour := lectern.LessonReady, int64(3600_000)
	if _, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready, DurationMS: &hour}); err != nil {
		b.Fatal(err)
	}
	fx := &benchClass{d: d, lessonID: l.ID}
	for range students {
		u := newUser(b, d, lectern.RoleStudent)
		join(b, d, course, u)
		fx.students = append(fx.students, u)
	}
	return fx
}

// run records batches of size beats, each beat one more second of play
// for a different student.
func (fx *benchClass) run(b *testing.B, size int) {
	ctx := context.Background()
	reqs := make([]db.BeatRequest, size)
	seq := int64(0)
	for b.Loop() {
		seq++
		for i := range reqs {
			at := (seq*1000 + int64(i)*7000) % 3_599_000
			reqs[i] = db.BeatRequest{Viewer: fx.students[i], LessonID: fx.lessonID, Beat: lectern.Heartbeat{
				SessionID: "bench", Seq: seq, PositionMS: at + 1000,
				Ranges: []lectern.Range{{StartMS: at, EndMS: at + 1000}},
			}}
		}
		res, err := fx.d.RecordHeartbeats(ctx, reqs)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "beats/s")
}
