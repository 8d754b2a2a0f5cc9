package transcode

import (
	"testing"

	"github.com/lectern/lectern/db"
)

// A student who starts a lesson the moment it plays never catches up with
// an encoder at twice the speed of playback, or more: after the 8 s
// opening chunk each chunk is at most as long as everything before it,
// growing to the chunk length set, and the lesson is covered once, in
// order, without a short chunk at the end.
func TestPlanChunksRampUp(t *testing.T) {
	src := &Source{DurationMS: 600_000, Video: &VideoStream{Width: 1920, Height: 1080, FPS: 30}}
	l := PlanLadder(src)
	spec, chunks, ok := planChunks(src, l, DefaultChunkSeconds)
	if !ok {
		t.Fatal("a 10-minute recording is not planned in chunks")
	}
	var lengths []int
	next := 0
	for _, c := range chunks {
		if c.Kind != db.ChunkVideo {
			continue
		}
		if c.StartSeg != next {
			t.Fatalf("chunk %d starts at segment %d, want %d", c.Index, c.StartSeg, next)
		}
		if next > 0 && c.Segs > next {
			t.Errorf("chunk %d is %d segments after only %d: a student could catch up with its encoder", c.Index, c.Segs, next)
		}
		lengths = append(lengths, c.Segs*SegmentSeconds)
		next += c.Segs
	}
	if next != spec.TotalSegs || spec.TotalSegs != 150 {
		t.Errorf("chunks cover %d of %d segments, want all 150", next, spec.TotalSegs)
	}
	want := []int{8, 8, 16, 32, 32}
	for i, s := range want {
		if i >= len(lengths) || lengths[i] != s {
			t.Fatalf("chunk lengths %v s, want them to start %v", lengths, want)
		}
	}
	if last := lengths[len(lengths)-1]; last < DefaultChunkSeconds/2 {
		t.Errorf("the last chunk is %d s: a short chunk costs its start-up for little", last)
	}
}
