package server_test

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

func TestLogin(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		teacher, pw := fx.createUser(t, lectern.RoleTeacher)

		t.Run("OK", func(t *testing.T) {
			ts := newServer(t, fx)
			c := ts.client(t)
			// Email matching ignores case and surrounding space.
			r := c.do(t, "POST", "/api/v1/session", map[string]string{"email": " " + strings.ToUpper(teacher.Email), "password": pw})
			var got struct {
				User map[string]any `json:"user"`
			}
			r.want(http.StatusOK).decode(&got)
			want := map[string]any{"id": teacher.ID, "email": teacher.Email, "name": teacher.Name, "role": "teacher", "active": true}
			if diff := cmp.Diff(want, got.User, ignoreKeys("created_at")); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
			c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		})

		t.Run("WrongPasswordAndUnknownEmailLookTheSame", func(t *testing.T) {
			ts := newServer(t, fx)
			c := ts.client(t)
			wrong := c.do(t, "POST", "/api/v1/session", map[string]string{"email": teacher.Email, "password": pw + "x"}).
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			unknown := c.do(t, "POST", "/api/v1/session", map[string]string{"email": "nobody@example.org", "password": pw}).
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			if wrong != unknown {
				t.Errorf("wrong password says %q, unknown email says %q; want the same message", wrong, unknown)
			}
			if len(c.hc.Jar.Cookies(mustURL(t, ts.URL))) != 0 {
				t.Errorf("a failed login set a cookie")
			}
			c.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("MissingFields", func(t *testing.T) {
			ts := newServer(t, fx)
			ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": teacher.Email}).
				wantError(http.StatusBadRequest, lectern.EINVALID)
		})
	})
}

func TestSessionCookie(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		u, pw := fx.createUser(t, lectern.RoleStudent)
		for _, tc := range []struct {
			name       string
			publicURL  string
			wantSecure bool
		}{
			{"NoPublicURL", "", false},
			{"HTTPPublicURL", "http://lectern.example.org", false},
			{"HTTPSPublicURL", "https://lectern.example.org", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ts := newServer(t, fx, func(o *server.Options) { o.PublicURL = tc.publicURL })
				r := ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": pw}).want(http.StatusOK)
				cookie := findCookie(t, r.Header, "lectern_session")
				if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure != tc.wantSecure {
					t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Lax, /, Secure=%v",
						cookie.HttpOnly, cookie.SameSite, cookie.Path, cookie.Secure, tc.wantSecure)
				}
				if want := 14 * 24 * 3600; cookie.MaxAge != want {
					t.Errorf("cookie Max-Age = %d, want %d (14 days)", cookie.MaxAge, want)
				}
				if b, err := base64.RawURLEncoding.DecodeString(cookie.Value); err != nil || len(b) != 32 {
					t.Errorf("cookie value %q is not 32 base64url bytes (err %v)", cookie.Value, err)
				}
			})
		}
	})
}

func TestLogout(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		u, pw := fx.createUser(t, lectern.RoleStudent)
		c := ts.login(t, u, pw)
		stolen := sessionCookieValue(t, c, ts)

		r := c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
		if cookie := findCookie(t, r.Header, "lectern_session"); cookie.MaxAge >= 0 || cookie.Value != "" {
			t.Errorf("logout cookie Max-Age=%d value=%q; want it cleared", cookie.MaxAge, cookie.Value)
		}
		c.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		// The old cookie value no longer works either: the session is gone
		// on the server, not only in the browser.
		ts.client(t).do(t, "GET", "/api/v1/me", nil, "Cookie", "lectern_session="+stolen).
			wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		// Logging out again, or with a stale cookie, is harmless.
		c.do(t, "DELETE", "/api/v1/session", nil).want(http.StatusNoContent)
		ts.client(t).do(t, "DELETE", "/api/v1/session", nil, "Cookie", "lectern_session="+stolen).want(http.StatusNoContent)
	})
}

func TestSessionExpires(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, c := ts.loginNew(t, lectern.RoleStudent)
		fx.Clock.Advance(13 * 24 * time.Hour)
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		fx.Clock.Advance(2 * 24 * time.Hour)
		c.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
	})
}

func TestLoginRateLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		t.Run("PerAccount", func(t *testing.T) {
			ts := newServer(t, fx)
			u, pw := fx.createUser(t, lectern.RoleStudent)
			c := ts.client(t)
			for i := range 5 {
				// Case does not make a different account.
				email := u.Email
				if i%2 == 1 {
					email = strings.ToUpper(email)
				}
				c.do(t, "POST", "/api/v1/session", map[string]string{"email": email, "password": "wrong-password"}).
					wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			}
			// Even the right password is refused now.
			r := c.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": pw})
			r.wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
			if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
				t.Errorf("Retry-After = %q, want 1..60 seconds", r.Header.Get("Retry-After"))
			}
			// Another account from the same address is not affected.
			other, otherPW := fx.createUser(t, lectern.RoleStudent)
			ts.login(t, other, otherPW)
			// A minute later one more attempt is allowed.
			fx.Clock.Advance(time.Minute)
			ts.login(t, u, pw)
		})

		t.Run("PerIP", func(t *testing.T) {
			ts := newServer(t, fx)
			c := ts.client(t)
			// Successful logins cost nothing.
			students, pw := createStudents(t, fx, addressFailures+5)
			for _, u := range students {
				ts.login(t, u, pw)
			}
			exhaustIP(t, c)
			u, pw := fx.createUser(t, lectern.RoleStudent)
			r := c.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": pw})
			r.wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
			if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 6 {
				t.Errorf("Retry-After = %q, want 1..6 seconds", r.Header.Get("Retry-After"))
			}
			fx.Clock.Advance(6 * time.Second)
			ts.login(t, u, pw)
		})

		t.Run("ForgedForwardedForDoesNotEscape", func(t *testing.T) {
			ts := newServer(t, fx) // no trusted proxies
			c := ts.client(t)
			for i := range addressFailures {
				c.do(t, "POST", "/api/v1/session", map[string]string{"email": unknownEmail(i), "password": "wrong-password"},
					"X-Forwarded-For", "203.0.113."+strconv.Itoa(i+1)).
					wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			}
			c.do(t, "POST", "/api/v1/session", map[string]string{"email": unknownEmail(99), "password": "wrong-password"},
				"X-Forwarded-For", "198.51.100.7").
				wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
		})

		t.Run("TrustedProxyForwardedForSeparatesClients", func(t *testing.T) {
			ts := newServer(t, fx, func(o *server.Options) {
				o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
			})
			c := ts.client(t)
			exhaustIP(t, c, "X-Forwarded-For", "203.0.113.1")
			c.do(t, "POST", "/api/v1/session", map[string]string{"email": unknownEmail(99), "password": "wrong-password"},
				"X-Forwarded-For", "203.0.113.1").
				wantError(http.StatusTooManyRequests, lectern.ERATELIMIT)
			// Another client behind the same proxy is not throttled.
			c.do(t, "POST", "/api/v1/session", map[string]string{"email": unknownEmail(98), "password": "wrong-password"},
				"X-Forwarded-For", "203.0.113.2").
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
	})
}

// addressFailures is how many failed logins one address may make across
// accounts before it is throttled.
const addressFailures = 50

// exhaustIP spends the failed logins one address gets, each on a
// different unknown account.
func exhaustIP(t *testing.T, c *client, headers ...string) {
	t.Helper()
	for i := range addressFailures {
		c.do(t, "POST", "/api/v1/session", map[string]string{"email": unknownEmail(i), "password": "wrong-password"}, headers...).
			wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
	}
}

func unknownEmail(i int) string { return "nobody" + strconv.Itoa(i) + "@example.org" }

func findCookie(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, h.Values("Set-Cookie"))
	return nil
}

func sessionCookieValue(t *testing.T, c *client, ts *testServer) string {
	t.Helper()
	v := cookieOf(t, c, ts)
	if v == "" {
		t.Fatal("no session cookie in the jar")
	}
	return v
}
