package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// TestAcceptance23_MediaLinks is RELIABILITY 23: a media token with TTL T
// works at T−5 s and fails at T+5 s (on the server's injected clock); it
// fails for another lesson and for another logged-in user; removing a
// student from the course, or the student leaving it, stops new playlist
// (and segment) loads at once, long before the token expires.
func TestAcceptance23_MediaLinks(t *testing.T) {
	const ttl = 30 * time.Minute
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx, func(o *server.Options) { o.MediaTokenTTL = ttl })
		// What hls.js loads, in order: the master playlist, a media
		// playlist, the init segment and the segments.
		files := []string{"master.m3u8", "v0/index.m3u8", "v0/init.mp4", "v0/seg_00000.m4s"}
		served := func(t *testing.T, c *client, base string) {
			t.Helper()
			for _, rel := range files {
				r := c.do(t, "GET", base+rel, nil).want(http.StatusOK)
				if !bytes.Equal(r.Body, m.files[rel]) {
					t.Errorf("%s: served %d bytes that are not the stored file", rel, len(r.Body))
				}
			}
		}

		t.Run("TTL", func(t *testing.T) {
			p := playback(t, m.student, m.lessonID)
			if want := fx.Clock.Now().Add(ttl); !p.ExpiresAt.Equal(want) {
				t.Errorf("expires_at = %v, want now + T = %v", p.ExpiresAt, want)
			}
			base := mediaBase(t, p)
			fx.Clock.Advance(ttl - 5*time.Second)
			served(t, m.anonymous, base)
			served(t, m.student, base)
			fx.Clock.Advance(10 * time.Second)
			for _, rel := range files {
				for _, c := range []*client{m.anonymous, m.student} {
					wantForbiddenNoBytes(t, c.do(t, "GET", base+rel, nil), "GET", m.files[rel])
				}
			}
			// The player asks for a new link and carries on.
			served(t, m.anonymous, mediaBase(t, playback(t, m.student, m.lessonID)))
		})

		t.Run("OtherLesson", func(t *testing.T) {
			otherID := m.newLesson(t, "Week 2")
			other := publishMediaOutput(t, fx, otherID, 1)
			base := mediaBase(t, playback(t, m.student, m.lessonID))
			otherBase := mediaBase(t, playback(t, m.student, otherID))
			// The same names through the first lesson's token are the first
			// lesson's files (all but the media playlist differ between them).
			served(t, m.anonymous, base)
			// Climbing out of the token's output, or grafting the other
			// lesson's payload onto this token's signature, reaches nothing.
			for _, p := range []string{
				"../../../" + otherID + "/hls/1/master.m3u8",
				"..%2f..%2f..%2f" + otherID + "%2fhls%2f1%2fv0%2fseg_00000.m4s",
			} {
				r := m.anonymous.do(t, "GET", base+p, nil)
				if r.Status == http.StatusOK || bytes.Contains(r.Body, other["master.m3u8"]) || bytes.Contains(r.Body, other["v0/seg_00000.m4s"][:64]) {
					t.Errorf("lesson 1's token reached lesson 2 through %q: %d", p, r.Status)
				}
			}
			tok := strings.Trim(strings.TrimPrefix(base, "/media/"), "/")
			otherTok := strings.Trim(strings.TrimPrefix(otherBase, "/media/"), "/")
			_, mac, _ := strings.Cut(tok, ".")
			otherPayload, _, _ := strings.Cut(otherTok, ".")
			grafted := "/media/" + otherPayload + "." + mac + "/"
			for _, rel := range files {
				wantForbiddenNoBytes(t, m.anonymous.do(t, "GET", grafted+rel, nil), "GET", other[rel])
			}
		})

		t.Run("OtherUser", func(t *testing.T) {
			base := mediaBase(t, playback(t, m.student, m.lessonID))
			for name, c := range map[string]*client{
				"Classmate": m.classmate, "Outsider": m.outsider, "TeacherOfTheCourse": m.teacher,
			} {
				t.Run(name, func(t *testing.T) {
					for _, rel := range files {
						wantForbiddenNoBytes(t, c.do(t, "GET", base+rel, nil), "GET", m.files[rel])
					}
				})
			}
			served(t, m.student, base) // the holder still can
		})

		t.Run("RemovedStudent", func(t *testing.T) {
			u, c := m.ts.loginNew(t, lectern.RoleStudent)
			c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
			p := playback(t, c, m.lessonID)
			base := mediaBase(t, p)
			served(t, c, base)
			// Browsers must ask the server again on every playlist load,
			// not answer from their cache.
			master := c.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
			if cc := master.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
				t.Errorf("master playlist Cache-Control = %q: a browser could reload it from its cache", cc)
			}
			m.teacher.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/members/"+u.ID, nil).want(http.StatusNoContent)
			// A browser revalidating its copy is refused too.
			c.do(t, "GET", base+"master.m3u8", nil, "If-None-Match", master.Header.Get("ETag")).
				wantError(http.StatusNotFound, lectern.ENOTFOUND)
			// No time passes: the token has hours left, and nothing loads.
			if !fx.Clock.Now().Before(p.ExpiresAt) {
				t.Fatal("the clock passed the token's expiry")
			}
			wantMediaGone(t, m, base, files, c, m.anonymous)
			c.do(t, "GET", "/api/v1/lessons/"+m.lessonID+"/playback", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			// Joining again is joining again: a new link works.
			c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
			served(t, c, mediaBase(t, playback(t, c, m.lessonID)))
		})

		t.Run("StudentWhoLeft", func(t *testing.T) {
			_, c := m.ts.loginNew(t, lectern.RoleStudent)
			c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
			base := mediaBase(t, playback(t, c, m.lessonID))
			served(t, c, base)
			c.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/membership", nil).want(http.StatusNoContent)
			wantMediaGone(t, m, base, files, c, m.anonymous)
		})
	})
}

// wantMediaGone checks that every file under base now answers 404 with no
// byte of it, with and without the former member's credentials.
func wantMediaGone(t *testing.T, m *mediaClass, base string, files []string, clients ...*client) {
	t.Helper()
	for _, rel := range files {
		for _, c := range clients {
			r := c.do(t, "GET", base+rel, nil)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s after the removal: status %d, want 404", rel, r.Status)
				continue
			}
			r.wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if f := m.files[rel]; bytes.Contains(r.Body, f[:min(len(f), 64)]) {
				t.Errorf("%s after the removal: the answer carries the file's bytes", rel)
			}
		}
	}
}
