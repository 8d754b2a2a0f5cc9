package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

// deepLinkPicker runs a deep linking launch up to Lectern's picker in a
// browser that blocks Lectern's cookies inside the LMS (the state comes
// back through the LMS's platform storage, as lti.js would fetch it) and
// returns the browser and the page.
func (w *ltiWorld) deepLinkPicker(t *testing.T, m *ltiplatform.Message) (*ltiplatform.Browser, *ltiplatform.Page) {
	t.Helper()
	b := ltiplatform.NewBrowser(false)
	f := w.launchForm(t, b, m, "_parent")
	vf, err := w.post(t, b, f).Form("lti-launch")
	if err != nil {
		t.Fatalf("no state cookie: want the page that reads platform storage: %v", err)
	}
	vf.Values.Set("lti_storage_state", f.Values.Get("state"))
	return b, w.post(t, b, vf)
}

// choose submits the picker with the lessons chosen (and cancel when
// asked), from the picker's own page.
func choose(t *testing.T, b *ltiplatform.Browser, picker *ltiplatform.Page, cancel bool, lessonIDs ...string) *ltiplatform.Page {
	t.Helper()
	f, err := picker.Form("lti-pick")
	if err != nil {
		t.Fatal(err)
	}
	f.Values.Del("lesson")
	for _, id := range lessonIDs {
		f.Values.Add("lesson", id)
	}
	if cancel {
		f.Values.Set("cancel", "1")
	}
	pg, err := b.Submit(f, picker.Origin())
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

// TestLTIDeepLinking follows Deep Linking 2.0 from the LMS's "add
// activity" to the links the platform made: a teacher picks lessons of the
// linked course (one of them created from the picker), Lectern posts a
// response signed with its current key (rotated meanwhile, so the platform
// must fetch Lectern's JWKS for the new kid) that the platform verifies;
// the items carry title, launch URL, the lesson in a custom parameter, a
// poster anyone in the LMS course can load, and a line item of 100; a
// student's launch of a returned link opens its lesson. The refusals: a
// student, a placement that does not take resource links or has no
// return URL, a lesson of another course, too many lessons for a
// single-item placement, and the same answer sent twice. The browser
// keeps no cookies, as inside an LMS's iframe.
func TestLTIDeepLinking(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		ctx := context.Background()
		w.launch(t, w.p.ResourceLinkMessage("t1", "l1"))
		course := w.taughtCourse(t, w.userByEmail(t, "tess@school.example"))
		mitosis := w.readyLesson(t, course.ID, "Mitosis", 60_000)
		meiosis := w.readyLesson(t, course.ID, "Meiosis", 90_000)
		prefix, poster := lectern.OutputPrefix(mitosis.ID, 1), "poster.jpg"
		if _, err := fx.Store.Put(ctx, prefix+poster, strings.NewReader("jpeg bytes of the poster")); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.DB.UpdateLesson(ctx, mitosis.ID, lectern.LessonUpdate{OutputPrefix: &prefix, Poster: &poster}); err != nil {
			t.Fatal(err)
		}

		m := w.p.DeepLinkingMessage("t1", "c1")
		b, picker := w.deepLinkPicker(t, m)
		body := string(picker.Body)
		if picker.Status != http.StatusOK || !strings.Contains(body, "Mitosis") || !strings.Contains(body, "Meiosis") {
			t.Fatalf("picker: status %d, want the course's lessons: %.600s", picker.Status, body)
		}
		// Uploaded on the spot: the picker's page creates the lesson with
		// its launch token (lti_deeplink.js), then it can be chosen.
		var fresh struct{ ID string }
		w.ts.client(t).do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Fresh upload"},
			"X-Lectern-Launch", launchToken(t, picker)).want(http.StatusCreated).decode(&fresh)

		w.admin.do(t, "POST", "/api/v1/admin/lti/keys/rotate", nil).want(http.StatusOK)
		answer := choose(t, b, picker, false, mitosis.ID, fresh.ID, meiosis.ID)
		ret, err := answer.Form("lti-deep-link-return")
		if err != nil {
			t.Fatal(err)
		}
		if ret.Action != w.p.DeepLinkReturnURL(m) || ret.Values.Get("JWT") == "" {
			t.Fatalf("answer posts to %q with %v, want the request's return URL", ret.Action, ret.Values)
		}
		if csp := answer.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+w.p.URL) {
			t.Errorf("the answer's CSP must let the form go to the LMS: %q", csp)
		}
		added, err := b.Submit(ret, answer.Origin())
		if err != nil {
			t.Fatal(err)
		}
		if added.Status != http.StatusOK || !strings.Contains(string(added.Body), "Added 3 item(s)") {
			t.Fatalf("the platform refused the response: status %d: %s", added.Status, added.Body)
		}
		got := w.p.Returned()
		if len(got) != 1 || len(got[0]) != 3 {
			t.Fatalf("platform received %+v, want one response of 3 items", got)
		}
		for i, want := range []*lectern.Lesson{mitosis, {ID: fresh.ID, Title: "Fresh upload"}, meiosis} {
			it := got[0][i]
			if it.Type != lti.TypeResourceLink || it.Title != want.Title || it.URL != w.ts.URL+"/lti/launch" ||
				it.Custom[lti.CustomLesson] != want.ID || it.LineItem == nil || it.LineItem.ScoreMaximum != 100 {
				t.Errorf("item %d = %+v (line item %+v), want a graded resource link to %s", i, it, it.LineItem, want.Title)
			}
		}
		if got[0][1].Thumbnail != "" || got[0][0].Thumbnail == "" {
			t.Fatalf("thumbnails %q, %q: want the poster of the lesson that has one", got[0][0].Thumbnail, got[0][1].Thumbnail)
		}
		t.Run("ThumbnailLoadsWithoutCredentials", func(t *testing.T) {
			resp, err := http.Get(got[0][0].Thumbnail)
			if err != nil {
				t.Fatal(err)
			}
			img, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(img, []byte("jpeg bytes of the poster")) {
				t.Errorf("thumbnail: status %d %q", resp.StatusCode, img)
			}
			forged := strings.Replace(got[0][0].Thumbnail, mitosis.ID, meiosis.ID, 1)
			if resp, err := http.Get(forged); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Errorf("a thumbnail URL made up for another lesson: %v, %v; want 404", resp.Status, err)
			}
		})
		t.Run("ReturnedLinkOpensItsLesson", func(t *testing.T) {
			pg := w.launch(t, w.p.ResourceLinkMessage("s1", got[0][2].LinkID))
			if pg.Status != http.StatusOK || !strings.Contains(string(pg.Body), `class="page-watch"`) || !strings.Contains(string(pg.Body), "Meiosis") {
				t.Fatalf("student's launch of the new link: status %d, want Meiosis's watch page: %.500s", pg.Status, pg.Body)
			}
		})
		t.Run("AnsweredOnce", func(t *testing.T) {
			wantRefused(t, choose(t, b, picker, false, mitosis.ID), lti.ReasonState)
			if n := len(w.p.Returned()); n != 1 {
				t.Errorf("platform received %d responses, want 1", n)
			}
		})
		t.Run("Cancel", func(t *testing.T) {
			b, picker := w.deepLinkPicker(t, w.p.DeepLinkingMessage("t1", "c1"))
			ret, err := choose(t, b, picker, true).Form("lti-deep-link-return")
			if err != nil {
				t.Fatal(err)
			}
			if pg, err := b.Submit(ret, w.ts.URL); err != nil || !strings.Contains(string(pg.Body), "Added 0 item(s)") {
				t.Fatalf("cancel: %v %s", err, pg.Body)
			}
		})
		t.Run("LessonOfAnotherCourse", func(t *testing.T) {
			other := w.readyLesson(t, w.otherCourse(t), "Not yours", 1000)
			b, picker := w.deepLinkPicker(t, w.p.DeepLinkingMessage("t1", "c1"))
			pg := choose(t, b, picker, false, mitosis.ID, other.ID)
			if _, err := pg.Form("lti-deep-link-return"); err == nil || pg.Status != http.StatusBadRequest ||
				!strings.Contains(string(pg.Body), "not in this course") {
				t.Fatalf("status %d, want the picker again saying why: %.500s", pg.Status, pg.Body)
			}
			if !strings.Contains(string(choose(t, b, pg, false, mitosis.ID).Body), `id="lti-deep-link-return"`) {
				t.Error("after the error, a valid choice must still go through")
			}
		})
		t.Run("SingleItemPlacement", func(t *testing.T) {
			m := w.p.DeepLinkingMessage("t1", "c1")
			m.Edit = editSettings(func(s map[string]any) { s["accept_multiple"] = false })
			b, picker := w.deepLinkPicker(t, m)
			if !strings.Contains(string(picker.Body), `type="radio" name="lesson"`) {
				t.Errorf("a single-item placement must offer one choice: %.600s", picker.Body)
			}
			pg := choose(t, b, picker, false, mitosis.ID, meiosis.ID)
			if pg.Status != http.StatusBadRequest || !strings.Contains(string(pg.Body), "one lesson") {
				t.Fatalf("two lessons for one slot: status %d: %.500s", pg.Status, pg.Body)
			}
		})
		t.Run("Refusals", func(t *testing.T) {
			for _, tc := range []struct {
				name, sub, reason string
				edit              func(map[string]any)
			}{
				{"Student", "s1", lti.ReasonRole, nil},
				{"NoResourceLinks", "t1", lti.ReasonDeepLinking, func(s map[string]any) { s["accept_types"] = []string{"file", "html"} }},
				{"ReturnURLNotHTTP", "t1", lti.ReasonDeepLinking, func(s map[string]any) { s["deep_link_return_url"] = "javascript:alert(1)" }},
				{"NoReturnURL", "t1", lti.ReasonMissingClaim, func(s map[string]any) { delete(s, "deep_link_return_url") }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m := w.p.DeepLinkingMessage(tc.sub, "c1")
					if tc.edit != nil {
						m.Edit = editSettings(tc.edit)
					}
					_, pg := w.deepLinkPicker(t, m)
					wantRefused(t, pg, tc.reason)
				})
			}
		})
	})
}

// editSettings edits a deep linking request's settings claim.
func editSettings(edit func(map[string]any)) func(map[string]any) {
	return func(claims map[string]any) { edit(claims[lti.ClaimDeepLinkingSettings].(map[string]any)) }
}

// otherCourse returns a course the LMS's teacher does not teach.
func (w *ltiWorld) otherCourse(t *testing.T) string {
	t.Helper()
	owner, _ := w.ts.createUser(t, lectern.RoleTeacher)
	c := &lectern.Course{Title: "Someone else's", OwnerID: owner.ID}
	if err := w.ts.DB.CreateCourse(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}
