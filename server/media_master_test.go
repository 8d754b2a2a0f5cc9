package server_test

import (
	"bytes"
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
	b := newServer(t, fx, withRedisEvents(t, prefix, nil))
	m := mediaClassOn(t, a) // every change is made on a
	uploadCaptions(t, m.teacher, m.lessonID, "en", "?default=true", captionsEN)
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
	// The first load on b writes the master: it has the track.
	first := master(onB).want(http.StatusOK)
	checkShortCache(t, first, "master playlist")
	if !strings.Contains(string(first.Body), `NAME="English"`) {
		t.Fatalf("master without the English track:\n%s", first.Body)
	}

	t.Run("WarmLoadReadsNothing", func(t *testing.T) {
		key := lectern.OutputPrefix(m.lessonID, 1) + "master.m3u8"
		rewritten := string(m.files["master.m3u8"]) + "# stored again\n"
		if _, err := fx.Store.Put(t.Context(), key, strings.NewReader(rewritten)); err != nil {
			t.Fatal(err)
		}
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
