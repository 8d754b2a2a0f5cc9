package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// encodingJSON is what a lesson's JSON says about how much of it is
// stored.
type encodingJSON struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Playable     bool   `json:"playable"`
	DurationMS   int64  `json:"duration_ms"`
	ReadyUntilMS *int64 `json:"ready_until_ms"`
	EncodedMS    *int64 `json:"encoded_ms"`
}

// A lesson published while its chunks are still encoded tells students
// and teachers how much of it plays without waiting (the part from 0:00
// without a gap) and how much is stored in all, when a seek had a later
// chunk done first; both are the whole length once every part is stored,
// and absent once the lesson is ready; a
// re-upload's plan says nothing while students still watch the old
// recording in full.
func TestLessonEncodingProgress(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		get := func(c *client, lessonID string) encodingJSON {
			t.Helper()
			var got encodingJSON
			c.do(t, "GET", "/api/v1/lessons/"+lessonID, nil).want(http.StatusOK).decode(&got)
			return got
		}
		l := &lectern.Lesson{CourseID: cl.courseID, Title: "A long lecture", PublishedAt: new(time.Unix(0, 0))}
		if err := fx.DB.CreateLesson(ctx, l); err != nil {
			t.Fatal(err)
		}
		// 56 s: 14 segments in chunks of 4, 4, 4 and 2, after the audio.
		job, lease := planChunks(t, fx.DB, l.ID, []int{4, 4, 4, 2})
		finish := func(want int) {
			t.Helper()
			kind := db.ChunkVideo
			if want == 0 {
				kind = db.ChunkAudio
			}
			_, c, err := fx.DB.ClaimChunk(ctx, job, kind, "worker", fx.Clock.Now().Add(-time.Minute))
			if err != nil || c.Index != want {
				t.Fatalf("claimed %+v, %v; want piece %d", c, err, want)
			}
			if err := fx.DB.FinishChunk(ctx, c, "{}", func(done, total int) float64 { return float64(90 * done / total) }); err != nil {
				t.Fatal(err)
			}
		}
		finish(0)
		finish(1)
		if _, err := fx.DB.PublishPlayable(ctx, job, lectern.Renditions{}, 56_000); err != nil {
			t.Fatal(err)
		}
		// A student seeks to 0:50 (segment 12): the last chunk is done next.
		if _, _, err := fx.DB.SegmentPending(ctx, lease.Prefix, db.ChunkVideo, 12, true); err != nil {
			t.Fatal(err)
		}
		finish(4)
		for name, c := range map[string]*client{"Student": cl.author, "Teacher": cl.teacher} {
			got := get(c, l.ID)
			if got.Status != "processing" || !got.Playable || got.ReadyUntilMS == nil || got.EncodedMS == nil ||
				*got.ReadyUntilMS != 16_000 || *got.EncodedMS != 24_000 {
				t.Errorf("%s sees %+v (ready until %v, encoded %v); want processing, playable, ready until 16000, encoded 24000",
					name, got, deref(got.ReadyUntilMS), deref(got.EncodedMS))
			}
		}
		var list struct{ Lessons []encodingJSON }
		cl.author.do(t, "GET", "/api/v1/courses/"+cl.courseID+"/lessons", nil).want(http.StatusOK).decode(&list)
		listed := false
		for _, got := range list.Lessons {
			listed = listed || got.ID == l.ID
			if got.ID == l.ID && (deref(got.ReadyUntilMS) != 16_000 || deref(got.EncodedMS) != 24_000) {
				t.Errorf("the lesson list says ready until %v, encoded %v; want 16000, 24000", deref(got.ReadyUntilMS), deref(got.EncodedMS))
			}
			if got.ID == cl.lessonID && got.ReadyUntilMS != nil {
				t.Errorf("the list gives the ready lesson ready_until_ms %v", deref(got.ReadyUntilMS))
			}
		}
		if !listed {
			t.Errorf("the lesson list %+v has no lesson %s", list.Lessons, l.ID)
		}
		finish(2)
		if got := get(cl.author, l.ID); deref(got.ReadyUntilMS) != 32_000 || deref(got.EncodedMS) != 40_000 {
			t.Errorf("after the second chunk: ready until %v, encoded %v; want 32000, 40000", deref(got.ReadyUntilMS), deref(got.EncodedMS))
		}
		finish(3)
		if got := get(cl.author, l.ID); deref(got.ReadyUntilMS) != 56_000 || deref(got.EncodedMS) != 56_000 {
			t.Errorf("with every chunk stored: ready until %v, encoded %v; want the whole 56000", deref(got.ReadyUntilMS), deref(got.EncodedMS))
		}
		ready := lectern.LessonReady
		if _, err := fx.DB.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: &ready}); err != nil {
			t.Fatal(err)
		}
		if got := get(cl.author, l.ID); got.ReadyUntilMS != nil || got.EncodedMS != nil {
			t.Errorf("once ready: ready until %v, encoded %v; want both absent", deref(got.ReadyUntilMS), deref(got.EncodedMS))
		}

		// A re-upload: students watch the previous recording, all of it.
		again := readyLesson(t, ts, cl.courseID, "Recorded again", 60_000)
		first, firstJob, _, err := fx.DB.StartTranscode(ctx, again, lectern.SourceKey(again, "first"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.DB.PublishLesson(ctx, again, first.Attempt, db.Publication{JobID: firstJob.ID,
			OutputPrefix: lectern.OutputPrefix(again, 99), Renditions: lectern.Renditions{}, DurationMS: 60_000}); err != nil {
			t.Fatal(err)
		}
		planChunks(t, fx.DB, again, []int{4, 4})
		if got := get(cl.author, again); got.Status != "processing" || !got.Playable || got.ReadyUntilMS != nil || got.EncodedMS != nil {
			t.Errorf("during a re-upload the student sees %+v (ready until %v); want processing, playable, no ready part",
				got, deref(got.ReadyUntilMS))
		}
	})
}

// planChunks starts a transcode of lessonID and plans it as an audio piece
// and video chunks of segs segments each, as a worker would; it returns
// the job and the lease the plan is under.
func planChunks(t *testing.T, d *db.DB, lessonID string, segs []int) (string, *db.Lease) {
	t.Helper()
	ctx := context.Background()
	l, job, _, err := d.StartTranscode(ctx, lessonID, lectern.SourceKey(lessonID, "chunked"))
	if err != nil {
		t.Fatal(err)
	}
	lease, err := d.TakeLease(ctx, lessonID, l.Attempt, job.ID, "", "planner")
	if err != nil {
		t.Fatal(err)
	}
	pieces := []db.Chunk{{Kind: db.ChunkAudio, MaxTries: 3, Priority: 1}}
	start := 0
	for i, n := range segs {
		pieces = append(pieces, db.Chunk{Index: i + 1, Kind: db.ChunkVideo, StartSeg: start, Segs: n, MaxTries: 3})
		start += n
	}
	if _, err := d.CreatePlan(ctx, lease, "{}", pieces); err != nil {
		t.Fatal(err)
	}
	return job.ID, lease
}

// deref is *p, or -1 for absent.
func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
