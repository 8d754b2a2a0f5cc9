package lti_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/ltiplatform"
	"github.com/lectern/lectern/lti"
)

// newPlatform starts a platform with a teacher, a student, a course and
// a graded link, and a tool JWKS served from ring.
func newPlatform(t *testing.T, ring *[]*lti.Key) *ltiplatform.Platform {
	t.Helper()
	p := ltiplatform.New(t, ltiplatform.Options{})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(lti.JWKS(*ring, time.Now()))
	}))
	t.Cleanup(jwks.Close)
	p.SetTool(ltiplatform.Tool{LoginURL: "https://tool.example/lti/login", RedirectURL: "https://tool.example/lti/launch", JWKSURL: jwks.URL})
	p.AddUser(ltiplatform.User{Sub: "t1", Name: "Tess Teacher", Email: "tess@school.example"})
	p.AddUser(ltiplatform.User{Sub: "s1", Name: "Sam Student", Email: "sam@school.example"})
	p.AddContext(ltiplatform.Context{ID: "c1", Title: "Biology", Members: []ltiplatform.Member{
		{Sub: "t1", Roles: []string{ltiplatform.RoleInstructor}}, {Sub: "s1", Roles: []string{ltiplatform.RoleLearner}}}})
	p.AddLink(ltiplatform.Link{ID: "l1", ContextID: "c1", Title: "Cells"}, 100)
	return p
}

func expect(p *ltiplatform.Platform, nonce string) lti.Expect {
	return lti.Expect{Issuer: p.URL, ClientID: p.ClientID, Deployments: []string{p.DeploymentID},
		Nonce: nonce, JWKSURL: p.JWKSURL(), Now: time.Now()}
}

func TestParseIDToken(t *testing.T) {
	var ring []*lti.Key
	p := newPlatform(t, &ring)
	keys := lti.NewKeySets(nil, time.Now)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		m := p.ResourceLinkMessage("s1", "l1")
		tok, err := p.IDToken(m, "n-ok")
		if err != nil {
			t.Fatal(err)
		}
		l, err := lti.ParseIDToken(ctx, tok, keys, expect(p, "n-ok"))
		if err != nil {
			t.Fatalf("ParseIDToken: %v", err)
		}
		got := []string{l.Subject, l.Name, l.Email, l.MessageType, l.Context.ID, l.ResourceLink.ID}
		want := []string{"s1", "Sam Student", "sam@school.example", lti.MessageResourceLink, "c1", "l1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("launch (-want +got):\n%s", diff)
		}
		if l.Role() != lti.RoleLearner || l.AGS == nil || l.AGS.LineItem == "" || l.NRPS == nil {
			t.Errorf("role %v, ags %+v, nrps %+v: want a learner with a line item and a roster URL", l.Role(), l.AGS, l.NRPS)
		}
	})

	refusals := []struct {
		name   string
		reason string
		edit   func(m *ltiplatform.Message, e *lti.Expect)
	}{
		{"BadSignature", lti.ReasonBadSignature, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { c["sub"] = "s1" } // signed fine; tampered below
		}},
		{"UnknownKid", lti.ReasonUnknownKey, func(m *ltiplatform.Message, _ *lti.Expect) { m.Unpublished = true }},
		{"WrongAudience", lti.ReasonWrongAudience, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { c["aud"] = "another-tool"; c["azp"] = "another-tool" }
		}},
		{"WrongAzp", lti.ReasonWrongAzp, func(m *ltiplatform.Message, e *lti.Expect) {
			m.Edit = func(c map[string]any) { c["aud"] = []string{e.ClientID, "other"}; c["azp"] = "other" }
		}},
		{"WrongIssuer", lti.ReasonWrongIssuer, func(_ *ltiplatform.Message, e *lti.Expect) { e.Issuer = "https://other.example" }},
		{"Expired", lti.ReasonExpired, func(_ *ltiplatform.Message, e *lti.Expect) { e.Now = e.Now.Add(time.Hour) }},
		{"WrongNonce", lti.ReasonNonce, func(_ *ltiplatform.Message, e *lti.Expect) { e.Nonce = "another" }},
		{"UnknownDeployment", lti.ReasonDeployment, func(_ *ltiplatform.Message, e *lti.Expect) { e.Deployments = []string{"dep-other"} }},
		{"MissingRoles", lti.ReasonMissingClaim, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { delete(c, lti.ClaimRoles) }
		}},
		{"MissingResourceLink", lti.ReasonMissingClaim, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { delete(c, lti.ClaimResourceLink) }
		}},
		{"MissingDeployment", lti.ReasonMissingClaim, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { delete(c, lti.ClaimDeploymentID) }
		}},
		{"MissingSub", lti.ReasonMissingClaim, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { delete(c, "sub") }
		}},
		{"WrongVersion", lti.ReasonVersion, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { c[lti.ClaimVersion] = "1.1" }
		}},
		{"UnknownMessageType", lti.ReasonMessageType, func(m *ltiplatform.Message, _ *lti.Expect) {
			m.Edit = func(c map[string]any) { c[lti.ClaimMessageType] = "LtiSubmissionReviewRequest" }
		}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			m := p.ResourceLinkMessage("s1", "l1")
			e := expect(p, "n-"+tc.name)
			tc.edit(m, &e)
			tok, err := p.IDToken(m, "n-"+tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason == lti.ReasonBadSignature {
				tok = tamper(t, tok)
			}
			_, err = lti.ParseIDToken(ctx, tok, keys, e)
			var r *lti.Refusal
			if !errors.As(err, &r) || r.Reason != tc.reason {
				t.Fatalf("err = %v, want a refusal for %s", err, tc.reason)
			}
			if r.Message == "" {
				t.Error("the refusal has no words for the person")
			}
		})
	}
}

// TestRotatedPlatformKey: a platform replaces its key; the cached key set
// lacks the new kid, so it is fetched again, though not within
// MinRefresh of the last fetch (made-up kids cannot make Lectern hammer
// the platform).
func TestRotatedPlatformKey(t *testing.T) {
	var ring []*lti.Key
	p := newPlatform(t, &ring)
	now := time.Now()
	keys := lti.NewKeySets(nil, func() time.Time { return now })
	ctx := context.Background()
	launch := func(nonce string) error {
		tok, err := p.IDToken(p.ResourceLinkMessage("t1", "l1"), nonce)
		if err != nil {
			t.Fatal(err)
		}
		_, err = lti.ParseIDToken(ctx, tok, keys, expect(p, nonce))
		return err
	}
	if err := launch("n1"); err != nil {
		t.Fatalf("first launch: %v", err)
	}
	p.RotateKey(true)
	var r *lti.Refusal
	if err := launch("n2"); !errors.As(err, &r) || r.Reason != lti.ReasonUnknownKey {
		t.Fatalf("new kid right after a fetch: %v, want unknown_key", err)
	}
	now = now.Add(lti.MinRefresh + time.Second)
	if err := launch("n3"); err != nil {
		t.Fatalf("new kid after MinRefresh: %v", err)
	}
}

// tamper changes the payload of a signed JWT, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := splitJWT(tok)
	payload := decodeSegment(t, parts[1])
	payload["sub"] = "t1" // a student passing as the teacher
	parts[1] = encodeSegment(t, payload)
	return parts[0] + "." + parts[1] + "." + parts[2]
}
