package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// The audio piece of a chunked transcode stores its segments as its run
// writes them: what it records says which audio segments a held media
// request may have, and how much of the lesson plays.
func TestAudioStoredAsItRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		course, l, job, lease := leasedTranscode(t, d)
		// The audio first here, then 6 segments in chunks of 2 and 4.
		pieces := []db.Chunk{{Index: 0, Kind: db.ChunkAudio, MaxTries: 3, Priority: 10},
			{Index: 1, Kind: db.ChunkVideo, StartSeg: 0, Segs: 2, MaxTries: 3, Priority: 5},
			{Index: 2, Kind: db.ChunkVideo, StartSeg: 2, Segs: 4, MaxTries: 3}}
		if _, err := d.CreatePlan(ctx, lease, "{}", pieces); err != nil {
			t.Fatal(err)
		}
		claim := func(want int) *db.Chunk {
			t.Helper()
			_, c, err := d.ClaimChunk(ctx, job.ID, kindOf(want), "worker", clock.Peek().Add(-time.Minute))
			if err != nil || c.Index != want {
				t.Fatalf("claimed %+v, %v; want piece %d", c, err, want)
			}
			return c
		}
		audioPending := func(seg int) bool {
			t.Helper()
			pending, inProgress, err := d.SegmentPending(ctx, lease.Prefix, db.ChunkAudio, seg, true)
			if err != nil || !inProgress {
				t.Fatalf("audio segment %d: in progress %v, %v", seg, inProgress, err)
			}
			return pending
		}
		readySegs := func() int {
			t.Helper()
			m, err := d.FindEncodingProgress(ctx, course.ID)
			if err != nil {
				t.Fatal(err)
			}
			return m[l.ID].ReadySegs
		}
		pct := func(done, total int) float64 { return float64(done * 100 / total) }

		audio := claim(0)
		if err := d.RecordChunkProgress(ctx, audio, 1, `{"audio_segs":[{"uri":"seg_00000.m4s"}]}`); err != nil {
			t.Fatal(err)
		}
		if audioPending(0) || !audioPending(1) {
			t.Errorf("with one audio segment stored: segment 0 pending %v, 1 pending %v; want false, true", audioPending(0), audioPending(1))
		}
		_, chunks, err := d.FindPlan(ctx, job.ID)
		if err != nil || chunks[0].StoredSegs != 1 || chunks[0].State != db.ChunkRunning || chunks[0].Result == "" {
			t.Fatalf("audio piece %+v, %v; want running with 1 segment stored and its result so far", chunks[0], err)
		}
		if err := d.FinishChunk(ctx, claim(1), "{}", pct); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PublishPlayable(ctx, job.ID, lectern.Renditions{}, 24_000); err != nil {
			t.Fatal(err)
		}
		if got := readySegs(); got != 1 {
			t.Errorf("video to segment 2, audio to 1: %d segments ready, want 1", got)
		}
		if err := d.RecordChunkProgress(ctx, audio, 5, "{}"); err != nil {
			t.Fatal(err)
		}
		if got := readySegs(); got != 2 {
			t.Errorf("video to segment 2, audio to 5: %d segments ready, want 2", got)
		}
		// A later record never takes back what is stored.
		if err := d.RecordChunkProgress(ctx, audio, 3, "{}"); err != nil {
			t.Fatal(err)
		}
		if audioPending(4) || !audioPending(5) {
			t.Error("a smaller record took back stored audio segments")
		}
		// A try that lost its lease records nothing.
		if ok, err := d.ReleaseChunk(ctx, audio); err != nil || !ok {
			t.Fatal(ok, err)
		}
		wantCode(t, d.RecordChunkProgress(ctx, audio, 6, "{}"), lectern.ECONFLICT)
		again := claim(0)
		if err := d.FinishChunk(ctx, again, "{}", pct); err != nil {
			t.Fatal(err)
		}
		if audioPending(100) {
			t.Error("an audio segment is pending after the audio piece is done")
		}
		if got := readySegs(); got != 2 {
			t.Errorf("audio done, video to segment 2: %d segments ready, want 2", got)
		}
	})
}

// kindOf is the kind of piece index in the plans of these tests: the
// audio first, then video chunks.
func kindOf(index int) string {
	if index == 0 {
		return db.ChunkAudio
	}
	return db.ChunkVideo
}

// leasedTranscode starts the transcode of a new lesson in a new course
// and takes its lease, as the delivery planning it does.
func leasedTranscode(t *testing.T, d *db.DB) (*lectern.Course, *lectern.Lesson, *lectern.Job, *db.Lease) {
	t.Helper()
	course := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
	l := newLesson(t, d, course)
	_, job, _ := mustStart(t, d, l, "up")
	lease, err := d.TakeLease(context.Background(), l.ID, 1, job.ID, "", "planner")
	if err != nil {
		t.Fatal(err)
	}
	return course, l, job, lease
}
