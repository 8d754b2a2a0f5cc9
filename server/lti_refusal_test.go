package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

// TestLTILaunchRefusals: every launch Lectern must not believe gets a
// page that says why in words (and a reason code), and lets no one in.
func TestLTILaunchRefusals(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		w := newLTIWorld(t, fx)
		edited := func(edit func(c map[string]any)) *ltiplatform.Message {
			m := w.p.ResourceLinkMessage("s1", "l1")
			m.Edit = edit
			return m
		}
		// The course exists: learners' launches are refused for their
		// token, not for an unlinked course.
		launchToken(t, w.launch(t, w.p.ResourceLinkMessage("t1", "l1")))

		for _, tc := range []struct {
			name   string
			m      func() *ltiplatform.Message
			reason string
		}{
			{"UnknownKid", func() *ltiplatform.Message { m := w.p.ResourceLinkMessage("s1", "l1"); m.Unpublished = true; return m }, lti.ReasonUnknownKey},
			{"WrongAudience", func() *ltiplatform.Message {
				return edited(func(c map[string]any) { c["aud"] = "another-tool"; delete(c, "azp") })
			}, lti.ReasonWrongAudience},
			{"Expired", func() *ltiplatform.Message {
				return edited(func(c map[string]any) {
					c["iat"] = fx.Clock.Now().Add(-10 * time.Minute).Unix()
					c["exp"] = fx.Clock.Now().Add(-5 * time.Minute).Unix()
				})
			}, lti.ReasonExpired},
			{"UnknownDeployment", func() *ltiplatform.Message {
				return edited(func(c map[string]any) { c[lti.ClaimDeploymentID] = "dep-unknown" })
			}, lti.ReasonDeployment},
			{"MissingRoles", func() *ltiplatform.Message { return edited(func(c map[string]any) { delete(c, lti.ClaimRoles) }) }, lti.ReasonMissingClaim},
			{"MissingMessageType", func() *ltiplatform.Message {
				return edited(func(c map[string]any) { delete(c, lti.ClaimMessageType) })
			}, lti.ReasonMissingClaim},
			{"MissingResourceLink", func() *ltiplatform.Message {
				return edited(func(c map[string]any) { delete(c, lti.ClaimResourceLink) })
			}, lti.ReasonMissingClaim},
			{"OtherMessageType", func() *ltiplatform.Message {
				return edited(func(c map[string]any) { c[lti.ClaimMessageType] = "LtiSubmissionReviewRequest" })
			}, lti.ReasonMessageType},
			{"GuestRole", func() *ltiplatform.Message {
				return edited(func(c map[string]any) {
					c[lti.ClaimRoles] = []string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Guest"}
				})
			}, lti.ReasonRole},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pg := w.launch(t, tc.m())
				wantRefused(t, pg, tc.reason)
				if launchTokenRe.Match(pg.Body) {
					t.Error("a refused launch carries a session token")
				}
			})
		}

		t.Run("BadSignature", func(t *testing.T) {
			b := ltiplatform.NewBrowser(true)
			f := w.launchForm(t, b, w.p.ResourceLinkMessage("s1", "l1"), "")
			f.Values.Set("id_token", tamperSub(t, f.Values.Get("id_token"), "t1"))
			wantRefused(t, w.post(t, b, f), lti.ReasonBadSignature)
		})

		t.Run("RotatedPlatformKeyIsFetched", func(t *testing.T) {
			w.p.RotateKey(true)
			fx.Clock.Advance(lti.MinRefresh + time.Second)
			launchToken(t, w.launch(t, w.p.ResourceLinkMessage("s1", "l1")))
		})

		t.Run("ReplayedLaunch", func(t *testing.T) {
			b := ltiplatform.NewBrowser(true)
			f := w.launchForm(t, b, w.p.ResourceLinkMessage("s1", "l1"), "")
			launchToken(t, w.post(t, b, f))
			wantRefused(t, w.post(t, b, f), lti.ReasonState)
		})

		t.Run("ReplayedNonce", func(t *testing.T) {
			// An old id_token with the state of a fresh login of the same
			// browser: the nonce is not the one this login sent.
			b := ltiplatform.NewBrowser(true)
			old := w.launchForm(t, b, w.p.ResourceLinkMessage("s1", "l1"), "")
			launchToken(t, w.post(t, b, old))
			fresh := w.launchForm(t, b, w.p.ResourceLinkMessage("s1", "l1"), "")
			fresh.Values.Set("id_token", old.Values.Get("id_token"))
			wantRefused(t, w.post(t, b, fresh), lti.ReasonNonce)
		})

		t.Run("UnknownPlatform", func(t *testing.T) {
			v := w.p.LoginParams(w.p.ResourceLinkMessage("s1", "l1"), "")
			v.Set("iss", "https://unknown-lms.example")
			pg, err := ltiplatform.NewBrowser(true).Get(w.ts.URL + "/lti/login?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			wantRefused(t, pg, lti.ReasonPlatform)
		})

		t.Run("UnknownDeploymentAtLogin", func(t *testing.T) {
			v := w.p.LoginParams(w.p.ResourceLinkMessage("s1", "l1"), "")
			v.Set("lti_deployment_id", "dep-unknown")
			pg, _ := ltiplatform.NewBrowser(true).Get(w.ts.URL + "/lti/login?" + v.Encode())
			wantRefused(t, pg, lti.ReasonDeployment)
		})

		t.Run("TargetElsewhere", func(t *testing.T) {
			v := w.p.LoginParams(w.p.ResourceLinkMessage("s1", "l1"), "")
			v.Set("target_link_uri", "https://evil.example/lti/launch")
			pg, _ := ltiplatform.NewBrowser(true).Get(w.ts.URL + "/lti/login?" + v.Encode())
			wantRefused(t, pg, lti.ReasonTarget)
		})

		t.Run("AnotherBrowsersLaunch", func(t *testing.T) {
			// The login ran in the attacker's browser; the victim's (no
			// state cookie, no platform storage) posts the launch.
			f := w.launchForm(t, ltiplatform.NewBrowser(true), w.p.ResourceLinkMessage("s1", "l1"), "")
			victim := ltiplatform.NewBrowser(true)
			pg := w.post(t, victim, f)
			wantRefused(t, pg, lti.ReasonState)
			if !strings.Contains(string(pg.Body), "Open in a new window") {
				t.Error("the refusal offers no way on")
			}
		})

		t.Run("PlatformStorage", func(t *testing.T) {
			// A browser that blocks Lectern's cookies inside the LMS: the
			// state comes back through the LMS's postMessage storage
			// (what lti.js does, done here by hand).
			b := ltiplatform.NewBrowser(false)
			f := w.launchForm(t, b, w.p.ResourceLinkMessage("s1", "l1"), "_parent")
			verify := w.post(t, b, f)
			vf, err := verify.Form("lti-launch")
			if err != nil {
				t.Fatalf("no state cookie: want the page that reads platform storage: %v", err)
			}
			wrong := cloneForm(vf)
			wrong.Values.Set("lti_storage_state", "a state of another login")
			wantRefused(t, w.post(t, b, wrong), lti.ReasonState)

			vf2 := cloneForm(vf)
			vf2.Values.Set("lti_storage_state", f.Values.Get("state"))
			launchToken(t, w.post(t, b, vf2))
		})

		var detail struct {
			Launches []struct{ Outcome string } `json:"launches"`
		}
		w.admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+w.platform.ID, nil).want(http.StatusOK).decode(&detail)
		refused := 0
		for _, l := range detail.Launches {
			if l.Outcome != "ok" {
				refused++
			}
		}
		if refused < 10 {
			t.Errorf("the admin sees %d refused launches, want each refusal", refused)
		}
	})
}

func cloneForm(f *ltiplatform.Form) *ltiplatform.Form {
	c := *f
	c.Values = url.Values{}
	for k, v := range f.Values {
		c.Values[k] = append([]string(nil), v...)
	}
	return &c
}
