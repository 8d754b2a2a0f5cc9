package server_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// The audio of a lesson published while it is still encoded is stored
// from the start as its run goes: a request for an audio segment already
// stored is answered at once, one for the next to be stored is held until
// it is, and one far ahead of the run is answered, after the hold, with a
// 503 the player retries, never a 404.
func TestAudioSegmentHeldUntilStored(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		l := &lectern.Lesson{CourseID: cl.courseID, Title: "A long lecture", PublishedAt: new(time.Unix(0, 0))}
		if err := fx.DB.CreateLesson(ctx, l); err != nil {
			t.Fatal(err)
		}
		job, lease := planChunks(t, fx.DB, l.ID, []int{2, 4})
		_, audio, err := fx.DB.ClaimChunk(ctx, job, db.ChunkAudio, "worker", fx.Clock.Now().Add(-time.Minute))
		if err != nil || audio.Index != 0 {
			t.Fatalf("claimed %+v, %v; want the audio piece", audio, err)
		}
		put := func(rel string) []byte {
			body := testBytes(lease.Prefix+rel, 2000)
			if _, err := fx.Store.Put(ctx, lease.Prefix+rel, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			return body
		}
		seg0 := put("a/seg_00000.m4s")
		put("a/seg_00001.m4s")
		if err := fx.DB.RecordChunkProgress(ctx, audio, 2, "{}"); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.DB.PublishPlayable(ctx, job, lectern.Renditions{}, 24_000); err != nil {
			t.Fatal(err)
		}
		base := mediaBase(t, playback(t, cl.author, l.ID))
		if r := cl.author.do(t, "GET", base+"a/seg_00000.m4s", nil).want(http.StatusOK); !bytes.Equal(r.Body, seg0) {
			t.Error("a stored audio segment was not served as stored")
		}

		// The run stores segments 2 and 3 a second from now.
		stored := make(chan []byte, 1)
		go func() {
			time.Sleep(time.Second)
			put("a/seg_00002.m4s")
			body := put("a/seg_00003.m4s")
			if err := fx.DB.RecordChunkProgress(ctx, audio, 4, "{}"); err != nil {
				body = nil
			}
			stored <- body
		}()
		start := time.Now()
		r := cl.author.do(t, "GET", base+"a/seg_00003.m4s", nil).want(http.StatusOK)
		waited, same := time.Since(start), bytes.Equal(r.Body, <-stored)
		if waited < 900*time.Millisecond || !same {
			t.Errorf("the next audio segment came after %v (want held until stored, about 1 s), the stored bytes: %v", waited, same)
		}

		start = time.Now()
		r = cl.author.do(t, "GET", base+"a/seg_00005.m4s", nil)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" || time.Since(start) < 7*time.Second {
			t.Errorf("an audio segment ahead of the run: %d, Retry-After %q after %v; want 503, 1 after the 8 s hold",
				r.Status, r.Header.Get("Retry-After"), time.Since(start))
		}
	})
}
