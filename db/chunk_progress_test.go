package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// FindEncodingProgress says how much of a lesson published while its
// chunks are still encoded is stored: the part from 0:00 without a gap,
// and every stored segment, when a seek had a later chunk done first.
func TestFindEncodingProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course, l, job, lease := leasedTranscode(t, d)
		// Audio, then 14 segments in chunks of 4, 4, 4 and 2.
		pieces := []db.Chunk{{Index: 0, Kind: db.ChunkAudio, MaxTries: 3, Priority: 10}}
		for i, start := range []int{0, 4, 8, 12} {
			pieces = append(pieces, db.Chunk{Index: i + 1, Kind: db.ChunkVideo, StartSeg: start, Segs: min(4, 14-start), MaxTries: 3})
		}
		if _, err := d.CreatePlan(ctx, lease, "{}", pieces); err != nil {
			t.Fatal(err)
		}
		finishNext := func(want int) {
			t.Helper()
			_, c, err := d.ClaimChunk(ctx, job.ID, kindOf(want), "worker", clock.Peek().Add(-time.Minute))
			if err != nil || c.Index != want {
				t.Fatalf("claimed %+v, %v; want piece %d", c, err, want)
			}
			if err := d.FinishChunk(ctx, c, "{}", func(done, total int) float64 { return float64(done * 100 / total) }); err != nil {
				t.Fatal(err)
			}
		}
		other := newLesson(t, d, course) // nothing published
		progress := func() (lectern.EncodingProgress, error) {
			t.Helper()
			m, err := d.FindEncodingProgress(ctx, course.ID)
			if _, ok := m[other.ID]; ok {
				t.Errorf("a lesson with nothing published has encoding progress %+v", m[other.ID])
			}
			p, ok := m[l.ID]
			if err == nil && !ok {
				err = lectern.Errorf(lectern.ENOTFOUND, "not in %v", m)
			}
			return p, err
		}

		finishNext(0)
		finishNext(1)
		_, err := progress()
		wantCode(t, err, lectern.ENOTFOUND) // stored, but not published yet
		if _, err := d.PublishPlayable(ctx, job.ID, lectern.Renditions{}, 55_000); err != nil {
			t.Fatal(err)
		}
		got, err := progress()
		if diff := cmp.Diff(lectern.EncodingProgress{ReadySegs: 4, DoneSegs: 4, TotalSegs: 14}, got); err != nil || diff != "" {
			t.Fatalf("after the opening chunk (-want +got, %v):\n%s", err, diff)
		}
		// A student seeks to segment 13: the last chunk goes first.
		if pending, _, err := d.SegmentPending(ctx, lease.Prefix, db.ChunkVideo, 13, true); err != nil || !pending {
			t.Fatalf("segment 13 pending %v, %v", pending, err)
		}
		finishNext(4)
		got, err = progress()
		if diff := cmp.Diff(lectern.EncodingProgress{ReadySegs: 4, DoneSegs: 6, TotalSegs: 14}, got); err != nil || diff != "" {
			t.Fatalf("after the last chunk out of order (-want +got, %v):\n%s", err, diff)
		}
		finishNext(2)
		got, err = progress()
		if diff := cmp.Diff(lectern.EncodingProgress{ReadySegs: 8, DoneSegs: 10, TotalSegs: 14}, got); err != nil || diff != "" {
			t.Fatalf("after the second chunk (-want +got, %v):\n%s", err, diff)
		}
		finishNext(3)
		got, err = progress()
		if diff := cmp.Diff(lectern.EncodingProgress{ReadySegs: 14, DoneSegs: 14, TotalSegs: 14}, got); err != nil || diff != "" {
			t.Fatalf("with every chunk done (-want +got, %v):\n%s", err, diff)
		}
		if err := d.FinishPlan(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		_, err = progress()
		wantCode(t, err, lectern.ENOTFOUND) // the finished output is published
	})
}
