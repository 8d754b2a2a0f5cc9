package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// A plan belongs to the delivery that made it: a delivery that takes the
// job's lease over (an admin's retry, a reclaimed job) plans afresh, and
// the old plan's pieces can no longer be claimed.
func TestPlanBelongsToItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		l := newLesson(t, d, course)
		_, job, _ := mustStart(t, d, l, "up")
		pieces := []db.Chunk{{Index: 0, Kind: db.ChunkAudio, MaxTries: 3}, {Index: 1, Kind: db.ChunkVideo, Segs: 2, MaxTries: 3}}
		a, err := d.TakeLease(ctx, l.ID, 1, job.ID, "", "planner-a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreatePlan(ctx, a, "{}", pieces); err != nil {
			t.Fatal(err)
		}
		b, err := d.TakeLease(ctx, l.ID, 1, job.ID, "", "planner-b")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = d.ClaimChunk(ctx, job.ID, db.ChunkAudio, "worker", clock.Peek().Add(-time.Minute))
		wantCode(t, err, lectern.ECONFLICT)
		_, err = d.CreatePlan(ctx, a, "{}", pieces)
		wantCode(t, err, lectern.ECONFLICT)
		if _, err := d.CreatePlan(ctx, b, "{}", pieces[:1]); err != nil {
			t.Fatalf("plan again under the new lease: %v", err)
		}
		p, chunks, err := d.FindPlan(ctx, job.ID)
		if err != nil || p.LeaseToken != b.Token || len(chunks) != 1 {
			t.Fatalf("plan %+v with %d pieces, %v; want b's plan with its one piece", p, len(chunks), err)
		}
		if _, c, err := d.ClaimChunk(ctx, job.ID, db.ChunkAudio, "worker", clock.Peek().Add(-time.Minute)); err != nil || c.Kind != db.ChunkAudio {
			t.Errorf("claim under b's plan: %+v, %v", c, err)
		}
	})
}

// The chunk progress the metrics show counts a running plan's pieces by
// state and its running ones by worker, and forgets the lesson once its
// transcode ends.
func TestFindChunkProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
		l := newLesson(t, d, course)
		_, job, _ := mustStart(t, d, l, "up")
		lease, err := d.TakeLease(ctx, l.ID, 1, job.ID, "", "planner")
		if err != nil {
			t.Fatal(err)
		}
		pieces := []db.Chunk{{Index: 0, Kind: db.ChunkAudio, MaxTries: 3},
			{Index: 1, Kind: db.ChunkVideo, Segs: 2, MaxTries: 3}, {Index: 2, Kind: db.ChunkVideo, StartSeg: 2, Segs: 2, MaxTries: 3}}
		if _, err := d.CreatePlan(ctx, lease, "{}", pieces); err != nil {
			t.Fatal(err)
		}
		for w, kind := range map[string]string{"host:1": db.ChunkAudio, "host:2": db.ChunkVideo} {
			if _, _, err := d.ClaimChunk(ctx, job.ID, kind, w, clock.Peek().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		counts, workers, err := d.FindChunkProgress(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := []db.ChunkCount{{LessonID: l.ID, State: db.ChunkPending, N: 1}, {LessonID: l.ID, State: db.ChunkRunning, N: 2}}
		wantWorkers := []db.WorkerChunks{{Worker: "host:1", N: 1}, {Worker: "host:2", N: 1}}
		if diff := cmp.Diff(wantCounts, counts); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantWorkers, workers); diff != "" {
			t.Errorf("workers (-want +got):\n%s", diff)
		}
		if _, err := d.CancelJob(ctx, job.ID, "canceled"); err != nil {
			t.Fatal(err)
		}
		if counts, workers, err := d.FindChunkProgress(ctx); err != nil || len(counts) != 0 || len(workers) != 0 {
			t.Errorf("after the cancel: %v, %v, %v; want nothing", counts, workers, err)
		}
	})
}
