package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/lti"
	"github.com/lectern/lectern/server"
)

// platformBody is a registration as the admin page sends it.
func platformBody(issuer, clientID string, deployments ...string) map[string]any {
	return map[string]any{"name": "School LMS", "issuer": issuer, "client_id": clientID,
		"deployment_ids": deployments, "auth_login_url": issuer + "/auth", "token_url": issuer + "/token",
		"jwks_url": issuer + "/jwks"}
}

type platformList struct {
	Tool struct {
		LoginURL       string   `json:"login_url"`
		RedirectURLs   []string `json:"redirect_urls"`
		DeepLinkingURL string   `json:"deep_linking_url"`
		JWKSURL        string   `json:"jwks_url"`
	} `json:"tool"`
	Platforms []lectern.LTIPlatform `json:"platforms"`
}

// TestLTIRegistration: an admin registers several platforms through the
// API and sees the values the LMS admin must enter; bad registrations are
// refused with nothing stored; only admins may register.
func TestLTIRegistration(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx, func(o *server.Options) { o.PublicURL = "https://lectern.example.org" })
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)

		var moodle lectern.LTIPlatform
		admin.do(t, "POST", "/api/v1/admin/lti/platforms", platformBody("https://moodle.school.example", "abc123", "1", "2", "1")).
			want(http.StatusCreated).decode(&moodle)
		if diff := cmp.Diff([]string{"1", "2"}, moodle.Deployments); diff != "" {
			t.Errorf("deployments (-want +got):\n%s", diff)
		}
		admin.do(t, "POST", "/api/v1/admin/lti/platforms", platformBody("https://canvas.example", "10000000000001", "dep-a")).
			want(http.StatusCreated)

		t.Run("Refused", func(t *testing.T) {
			for name, edit := range map[string]func(b map[string]any){
				"NoIssuer":            func(b map[string]any) { b["issuer"] = " " },
				"NoClientID":          func(b map[string]any) { delete(b, "client_id") },
				"NoDeployment":        func(b map[string]any) { b["deployment_ids"] = []string{" "} },
				"RelativeURL":         func(b map[string]any) { b["token_url"] = "/token" },
				"NotHTTP":             func(b map[string]any) { b["jwks_url"] = "file:///etc/passwd" },
				"UnknownRole":         func(b map[string]any) { b["admin_role"] = "owner" },
				"SameIssuerAndClient": func(b map[string]any) { b["issuer"] = "https://moodle.school.example"; b["client_id"] = "abc123" },
			} {
				t.Run(name, func(t *testing.T) {
					b := platformBody("https://other.example", "c1", "d1")
					edit(b)
					r := admin.do(t, "POST", "/api/v1/admin/lti/platforms", b)
					if r.Status != http.StatusBadRequest && r.Status != http.StatusConflict {
						t.Fatalf("status %d, want 400 or 409: %s", r.Status, r.Body)
					}
				})
			}
		})
		teacher.do(t, "POST", "/api/v1/admin/lti/platforms", platformBody("https://evil.example", "x", "1")).
			wantError(http.StatusForbidden, lectern.EFORBIDDEN)

		var list platformList
		admin.do(t, "GET", "/api/v1/admin/lti/platforms", nil).want(http.StatusOK).decode(&list)
		if len(list.Platforms) != 2 {
			t.Fatalf("%d platforms registered, want the 2 valid ones: %+v", len(list.Platforms), list.Platforms)
		}
		tool := []string{list.Tool.LoginURL, list.Tool.RedirectURLs[0], list.Tool.DeepLinkingURL, list.Tool.JWKSURL}
		want := []string{"https://lectern.example.org/lti/login", "https://lectern.example.org/lti/launch",
			"https://lectern.example.org/lti/launch", "https://lectern.example.org/lti/jwks"}
		if diff := cmp.Diff(want, tool); diff != "" {
			t.Errorf("values for the LMS admin (-want +got):\n%s", diff)
		}

		page := admin.do(t, "GET", "/admin/lti", nil).want(http.StatusOK)
		for _, s := range append(want, "https://moodle.school.example", "abc123", "10000000000001") {
			if !strings.Contains(string(page.Body), s) {
				t.Errorf("the admin page does not show %q", s)
			}
		}
		teacher.do(t, "GET", "/admin/lti", nil).want(http.StatusNotFound)

		b := platformBody("https://moodle.school.example", "abc123", "3")
		b["admin_role"] = "admin"
		var updated lectern.LTIPlatform
		admin.do(t, "PUT", "/api/v1/admin/lti/platforms/"+moodle.ID, b).want(http.StatusOK).decode(&updated)
		if updated.AdminRole != lectern.RoleAdmin || !cmp.Equal(updated.Deployments, []string{"3"}) {
			t.Errorf("after update: %+v", updated)
		}
		admin.do(t, "DELETE", "/api/v1/admin/lti/platforms/"+moodle.ID, nil).want(http.StatusNoContent)
		admin.do(t, "GET", "/api/v1/admin/lti/platforms/"+moodle.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	})
}

type jwks struct {
	Keys []struct {
		Kid string `json:"kid"`
		Kty string `json:"kty"`
		D   string `json:"d"`
	} `json:"keys"`
}

// TestLTIKeyRotation: Lectern publishes its public key; after a rotation
// both keys are published, and the old one leaves once what it signed has
// expired (lti.KeyGrace).
func TestLTIKeyRotation(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		anon := ts.client(t)
		get := func() jwks {
			t.Helper()
			var set jwks
			r := anon.do(t, "GET", "/lti/jwks", nil).want(http.StatusOK)
			if err := json.Unmarshal(r.Body, &set); err != nil {
				t.Fatal(err)
			}
			for _, k := range set.Keys {
				if k.D != "" || k.Kty != "RSA" {
					t.Fatalf("the JWKS publishes a private or non-RSA key: %s", r.Body)
				}
			}
			return set
		}
		first := get()
		if len(first.Keys) != 1 {
			t.Fatalf("JWKS has %d keys, want 1", len(first.Keys))
		}
		var rot struct {
			Current   string   `json:"current_kid"`
			Published []string `json:"published_kids"`
		}
		admin.do(t, "POST", "/api/v1/admin/lti/keys/rotate", nil).want(http.StatusOK).decode(&rot)
		if rot.Current == first.Keys[0].Kid || len(rot.Published) != 2 {
			t.Fatalf("after rotation: %+v, want a new current key and both published", rot)
		}
		if got := get(); len(got.Keys) != 2 {
			t.Fatalf("JWKS right after rotation has %d keys, want 2", len(got.Keys))
		}
		fx.Clock.Advance(lti.KeyGrace + time.Minute)
		got := get()
		if len(got.Keys) != 1 || got.Keys[0].Kid != rot.Current {
			t.Errorf("JWKS after the grace period: %+v, want only %s", got.Keys, rot.Current)
		}
	})
}
