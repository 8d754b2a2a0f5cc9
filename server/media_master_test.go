package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// TestMasterPlaylistCachedPerOutput runs two API replicas on one database
// and one Redis. The master playlist with its subtitles group is written
// once per output and then served from memory: a warm load reads neither
// storage nor the database (both are changed behind the API's back, with
// no invalidation, and the load does not see it), yet a caption change
// made through the API on one replica shows in the master the other
// serves on its next load, and a deleted lesson's master is refused at
// once.
func TestMasterPlaylistCachedPerOutput(t *testing.T) {
	prefix := testenv.Name("lectern:test:master") + ":"
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	a := newServer(t, fx, withRedisEvents(t, prefix, nil))
	m := mediaClassOn(t, a) // every change is made on a
	uploadCaptions(t, m.teacher, m.lessonID, "en", "?default=true", captionsEN)
	// b starts after the upload: no invalidation of it can reach b late.
	b := newServer(t, fx, withRedisEvents(t, prefix, nil))
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	onA := &client{base: a.URL, hc: &http.Client{}, header: http.Header{}}
	onB := &client{base: b.URL, hc: &http.Client{}, header: http.Header{}}
	// eventually polls get on b until ok, as long as an invalidation
	// takes to cross Redis.
	eventually := func(t *testing.T, what string, get func() *response, ok func(*response) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for r := get(); !ok(r); r = get() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %d:\n%s", what, r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	master := func(c *client) *response { return c.do(t, "GET", base+"master.m3u8", nil) }
	key := lectern.OutputPrefix(m.lessonID, 1) + "master.m3u8"
	// b keeps answers once it has subscribed to invalidations, which it
	// does in the background after its start. Until a load is answered
	// from memory, each round stores the playlist again behind the API's
	// back (no invalidation): a load that does not show it read nothing.
	var first *response
	for round, deadline := 0, time.Now().Add(10*time.Second); ; round++ {
		r := master(onB).want(http.StatusOK)
		rewritten := fmt.Sprintf("%s# stored again %d\n", m.files["master.m3u8"], round)
		if _, err := fx.Store.Put(t.Context(), key, strings.NewReader(rewritten)); err != nil {
			t.Fatal(err)
		}
		if again := master(onB).want(http.StatusOK); bytes.Equal(again.Body, r.Body) {
			first = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never answered the master playlist from memory")
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkShortCache(t, first, "master playlist")
	if !strings.Contains(string(first.Body), `NAME="English"`) {
		t.Fatalf("master without the English track:\n%s", first.Body)
	}

	t.Run("WarmLoadReadsNothing", func(t *testing.T) {
		label := "Renamed in the database"
		if _, err := fx.DB.UpdateCaptionTrack(t.Context(), m.lessonID, "en", db.CaptionTrackUpdate{Label: &label}); err != nil {
			t.Fatal(err)
		}
		warm := master(onB).want(http.StatusOK)
		if !bytes.Equal(warm.Body, first.Body) || warm.Header.Get("ETag") != first.Header.Get("ETag") {
			t.Errorf("a warm load read storage or the database:\n%s", warm.Body)
		}
		checkShortCache(t, warm, "warm master playlist")
		onB.do(t, "GET", base+"master.m3u8", nil, "If-None-Match", first.Header.Get("ETag")).want(http.StatusNotModified)
	})

	t.Run("CaptionChangeReachesTheOtherReplica", func(t *testing.T) {
		m.teacher.do(t, "PATCH", "/api/v1/lessons/"+m.lessonID+"/captions/en", map[string]string{"label": "English (UK)"}).
			want(http.StatusOK)
		eventually(t, "master on b after the track was renamed on a", func() *response { return master(onB) }, func(r *response) bool {
			// Written again: the new label, and the playlist as stored now.
			return r.Status == http.StatusOK && strings.Contains(string(r.Body), `NAME="English (UK)"`) &&
				strings.Contains(string(r.Body), "# stored again")
		})
		master(onB).want(http.StatusOK) // kept again
		m.teacher.do(t, "PATCH", "/api/v1/lessons/"+m.lessonID+"/captions/en", map[string]string{"status": "draft"}).
			want(http.StatusOK)
		eventually(t, "master on b after the track went back to a draft", func() *response { return master(onB) }, func(r *response) bool {
			return r.Status == http.StatusOK && !strings.Contains(string(r.Body), "#EXT-X-MEDIA:TYPE=SUBTITLES")
		})
	})

	t.Run("DeletedLessonRefusedAtOnce", func(t *testing.T) {
		master(onA).want(http.StatusOK)
		master(onB).want(http.StatusOK)
		m.teacher.do(t, "DELETE", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusNoContent)
		master(onA).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		eventually(t, "master on b after the lesson was deleted on a", func() *response { return master(onB) }, func(r *response) bool {
			return r.Status == http.StatusNotFound
		})
	})
}

// TestMasterPlaylistOfAProgressiveOutput: an output published playable
// while its later chunks are still encoded gets its final playlists,
// under the same prefix, when the last chunk is done. Its master playlist
// is not kept while a plan encodes it, so the first load after the final
// publication serves the final playlist; from then on it is kept.
func TestMasterPlaylistOfAProgressiveOutput(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	m := newMediaClass(t, fx)
	ctx := t.Context()
	id := m.newLesson(t, "Encoded in chunks")
	l, job, _, err := fx.DB.StartTranscode(ctx, id, lectern.SourceKey(id, "src"))
	if err != nil {
		t.Fatal(err)
	}
	lease, err := fx.DB.TakeLease(ctx, id, l.Attempt, job.ID, "", "planner")
	if err != nil {
		t.Fatal(err)
	}
	pieces := []db.Chunk{{Index: 0, Kind: db.ChunkAudio, MaxTries: 3}, {Index: 1, Kind: db.ChunkVideo, Segs: 2, MaxTries: 3}}
	if _, err := fx.DB.CreatePlan(ctx, lease, "{}", pieces); err != nil {
		t.Fatal(err)
	}
	storeMaster := func(comment string) {
		t.Helper()
		body := "#EXTM3U\n# " + comment + "\n#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=640x360\nv0/index.m3u8\n"
		if _, err := fx.Store.Put(ctx, lease.Prefix+"master.m3u8", strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	storeMaster("estimated")
	if claimed, err := fx.DB.ClaimPlayable(ctx, job.ID); err != nil || !claimed {
		t.Fatalf("claim playable: %v, %v", claimed, err)
	}
	if _, err := fx.DB.PublishPlayable(ctx, job.ID, testRenditions, 6000); err != nil {
		t.Fatal(err)
	}
	base := mediaBase(t, playback(t, m.student, id))
	load := func() string {
		return string(m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK).Body)
	}
	if got := load(); !strings.Contains(got, "# estimated") {
		t.Fatalf("master while encoding:\n%s", got)
	}

	storeMaster("final")
	if _, err := fx.DB.PublishLesson(ctx, id, l.Attempt, db.Publication{JobID: job.ID, LeaseToken: lease.Token,
		OutputPrefix: lease.Prefix, Renditions: testRenditions, DurationMS: 6000}); err != nil {
		t.Fatal(err)
	}
	if got := load(); !strings.Contains(got, "# final") {
		t.Fatalf("first master load after the final publication still serves the estimate:\n%s", got)
	}
	storeMaster("behind the API's back")
	if got := load(); !strings.Contains(got, "# final") {
		t.Errorf("the finished output's master is not kept:\n%s", got)
	}
}
