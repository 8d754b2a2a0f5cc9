package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

func TestPlayback(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx)
		ctx := context.Background()

		t.Run("MemberGetsSignedURLs", func(t *testing.T) {
			for name, c := range map[string]*client{"Student": m.student, "Teacher": m.teacher} {
				t.Run(name, func(t *testing.T) {
					r := c.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/playback", nil).want(http.StatusOK)
					var p playbackJSON
					r.decode(&p)
					base := mediaBase(t, p)
					want := map[string]any{
						"hls_url":        base + "master.m3u8",
						"expires_at":     fx.Clock.Now().Add(6 * time.Hour).Format(time.RFC3339),
						"poster_url":     base + "poster.jpg",
						"thumbnails_vtt": base + "thumbs/thumbs.vtt",
						"captions":       []any{},
					}
					if diff := cmp.Diff(want, r.fields()); diff != "" {
						t.Errorf("playback (-want +got):\n%s", diff)
					}
					poster := m.anonymous.do(t, "GET", *p.PosterURL, nil).want(http.StatusOK)
					if !bytes.Equal(poster.Body, m.files["poster.jpg"]) {
						t.Errorf("poster_url serves %d bytes, not the poster", len(poster.Body))
					}
				})
			}
		})

		t.Run("LessonJSON", func(t *testing.T) { testLessonJSON(t, m) })

		t.Run("AudioOnlyHasNoImages", func(t *testing.T) {
			id := m.newLesson(t, "Podcast")
			publishMediaOutput(t, fx, id, 1)
			none := ""
			if _, err := fx.DB.UpdateLesson(ctx, id, lectern.LessonUpdate{Poster: &none, Thumbnails: &none}); err != nil {
				t.Fatal(err)
			}
			got := m.student.do(t, "GET", "/api/v1/lessons/"+id+"/playback", nil).want(http.StatusOK).fields()
			if got["poster_url"] != nil || got["thumbnails_vtt"] != nil {
				t.Errorf("audio-only playback = %v; want null poster_url and thumbnails_vtt", got)
			}
			if l := m.student.do(t, "GET", "/api/v1/lessons/"+id, nil).want(http.StatusOK).fields(); l["poster_url"] != nil {
				t.Errorf("audio-only lesson poster_url = %v, want null", l["poster_url"])
			}
		})

		t.Run("NotReady", func(t *testing.T) { testNotReady(t, m) })
		t.Run("OutsiderGets404", func(t *testing.T) {
			m.outsider.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.outsider.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/playback", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			m.anonymous.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/playback", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			m.student.do(t, "GET", "/api/v1/lessons/nosuchlesson/playback", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("BorrowedToken", func(t *testing.T) { testBorrowedToken(t, m) })
		t.Run("Unenrolled", func(t *testing.T) { testUnenrolled(t, m) })
	})
}

func testLessonJSON(t *testing.T, m *mediaClass) {
	wantRenditions, err := json.Marshal(testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	var lesson struct {
		DurationMS int64           `json:"duration_ms"`
		Renditions json.RawMessage `json:"renditions"`
		PosterURL  *string         `json:"poster_url"`
	}
	m.student.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).want(http.StatusOK).decode(&lesson)
	if lesson.DurationMS != 6000 {
		t.Errorf("duration_ms = %d, want 6000", lesson.DurationMS)
	}
	if string(lesson.Renditions) != string(wantRenditions) {
		t.Errorf("renditions = %s, want %s", lesson.Renditions, wantRenditions)
	}
	if lesson.PosterURL == nil {
		t.Fatal("poster_url is null for a published lesson with a poster")
	}
	r := m.anonymous.do(t, "GET", *lesson.PosterURL, nil).want(http.StatusOK)
	if !bytes.Equal(r.Body, m.files["poster.jpg"]) || r.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("poster_url %s serves %d bytes of %q, want the JPEG poster", *lesson.PosterURL, len(r.Body), r.Header.Get("Content-Type"))
	}

	var list struct {
		Lessons []struct {
			ID         string          `json:"id"`
			Renditions json.RawMessage `json:"renditions"`
			PosterURL  *string         `json:"poster_url"`
		} `json:"lessons"`
	}
	m.student.do(t, "GET", "/api/v1/courses/"+m.course.ID+"/lessons", nil).want(http.StatusOK).decode(&list)
	for _, l := range list.Lessons {
		if l.ID == m.lessonID && (l.PosterURL == nil || string(l.Renditions) != string(wantRenditions)) {
			t.Errorf("listed lesson: renditions %s, poster_url %v; want the published ones", l.Renditions, l.PosterURL)
		}
	}
}

func testNotReady(t *testing.T, m *mediaClass) {
	ctx := context.Background()
	id := m.newLesson(t, "Not yet")
	msg := m.student.do(t, "GET", "/api/v1/lessons/"+id+"/playback", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
	if !strings.Contains(msg, "uploaded") {
		t.Errorf("awaiting upload: message %q does not say the recording is missing", msg)
	}
	processing := lectern.LessonProcessing
	if _, err := m.ts.DB.UpdateLesson(ctx, id, lectern.LessonUpdate{Status: &processing}); err != nil {
		t.Fatal(err)
	}
	msg = m.student.do(t, "GET", "/api/v1/lessons/"+id+"/playback", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
	if !strings.Contains(msg, "processed") {
		t.Errorf("processing: message %q does not say the recording is being processed", msg)
	}
	failed, reason := lectern.LessonFailed, "the file has no audio or video stream"
	if _, err := m.ts.DB.UpdateLesson(ctx, id, lectern.LessonUpdate{Status: &failed, Error: &reason}); err != nil {
		t.Fatal(err)
	}
	msg = m.student.do(t, "GET", "/api/v1/lessons/"+id+"/playback", nil).wantError(http.StatusConflict, lectern.ECONFLICT)
	if !strings.Contains(msg, reason) {
		t.Errorf("failed: message %q does not carry the reason %q", msg, reason)
	}

	t.Run("PreviousOutputStaysPlayable", func(t *testing.T) {
		id := m.newLesson(t, "Re-uploaded")
		publishMediaOutput(t, m.ts.fixture, id, 1)
		queued := lectern.LessonQueued
		if _, err := m.ts.DB.UpdateLesson(ctx, id, lectern.LessonUpdate{Status: &queued}); err != nil {
			t.Fatal(err)
		}
		base := mediaBase(t, playback(t, m.student, id))
		m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
	})
}

// testBorrowedToken uses a student's media URL as other people: without
// credentials the token suffices; with another user's credentials it is
// refused.
func testBorrowedToken(t *testing.T, m *mediaClass) {
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	var tok struct{ Token string }
	m.classmate.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}).want(http.StatusCreated).decode(&tok)
	bearer := m.ts.client(t)
	bearer.header.Set("Authorization", "Bearer "+tok.Token)
	stale := m.ts.client(t)
	stale.header.Set("Authorization", "Bearer lct_revoked-or-made-up")

	for name, tc := range map[string]struct {
		c    *client
		want int
	}{
		"Owner":              {m.student, http.StatusOK},
		"NoCredentials":      {m.anonymous, http.StatusOK},
		"UnknownBearer":      {stale, http.StatusOK},
		"OutsiderSession":    {m.outsider, http.StatusForbidden},
		"ClassmateSession":   {m.classmate, http.StatusForbidden},
		"ClassmateBearer":    {bearer, http.StatusForbidden},
		"TeacherOfTheCourse": {m.teacher, http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			r := tc.c.do(t, "GET", base+"master.m3u8", nil)
			if tc.want == http.StatusOK {
				r.want(http.StatusOK)
				return
			}
			wantForbiddenNoBytes(t, r, "GET", m.files["master.m3u8"])
		})
	}
}

// testUnenrolled removes a student after they got a media URL: the URL
// stops working at once, however much of its life is left, and no new one
// is given (TestAcceptance23_MediaLinks does the same through the API).
func testUnenrolled(t *testing.T, m *mediaClass) {
	u, c := m.ts.loginNew(t, lectern.RoleStudent)
	c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
	base := mediaBase(t, playback(t, c, m.lessonID))
	c.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
	// Through the API, which drops what the server keeps in memory
	// (TestAccessTakenAwayStopsAtOnce covers the other replicas).
	m.teacher.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/members/"+u.ID, nil).want(http.StatusNoContent)
	c.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/playback", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	c.do(t, "GET", "/api/v1/lessons/"+m.lessonID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	c.do(t, "GET", base+"v0/seg_00000.m4s", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	m.anonymous.do(t, "GET", base+"master.m3u8", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	m.ts.Clock.Advance(server.DefaultMediaTokenTTL)
	wantForbiddenNoBytes(t, m.anonymous.do(t, "GET", base+"master.m3u8", nil), "GET", m.files["master.m3u8"])
}

func TestPlaybackTokenTTL(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	m := newMediaClass(t, fx, func(o *server.Options) { o.MediaTokenTTL = 30 * time.Minute })
	p := playback(t, m.student, m.lessonID)
	if want := fx.Clock.Now().Add(30 * time.Minute); !p.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", p.ExpiresAt, want)
	}
	base := mediaBase(t, p)
	m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
	fx.Clock.Advance(30 * time.Minute)
	m.anonymous.do(t, "GET", base+"master.m3u8", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)

	if _, err := server.New(server.Options{DB: fx.DB, Storage: fx.Store, Secret: []byte("0123456789abcdef"),
		MediaTokenTTL: -time.Minute}); err == nil {
		t.Error("server.New accepted a negative MediaTokenTTL")
	}
}
