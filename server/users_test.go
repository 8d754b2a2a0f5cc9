package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

func TestMe(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		u, c := ts.loginNew(t, lectern.RoleTeacher)
		got := c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).fields()
		want := map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "role": "teacher", "active": true}
		if diff := cmp.Diff(want, got, ignoreKeys("created_at")); diff != "" {
			t.Errorf("me (-want +got):\n%s", diff)
		}
		if strings.Contains(string(c.do(t, "GET", "/api/v1/me", nil).Body), "argon2") {
			t.Errorf("/me leaks the password hash")
		}

		t.Run("Anonymous", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
		t.Run("UnknownCookie", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/me", nil, "Cookie", "lectern_session=bm90LWEtc2Vzc2lvbg").
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
	})
}

func TestAPIToken(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		u, c := ts.loginNew(t, lectern.RoleTeacher)
		var tok struct{ ID, Name, Token string }
		c.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "  laptop cli "}).want(http.StatusCreated).decode(&tok)
		if tok.ID == "" || tok.Name != "laptop cli" || !strings.HasPrefix(tok.Token, "lct_") {
			t.Fatalf("token = %+v; want an id, name \"laptop cli\" and a token starting lct_", tok)
		}

		t.Run("BearerWorks", func(t *testing.T) {
			bearer := ts.client(t)
			bearer.header.Set("Authorization", "Bearer "+tok.Token)
			var me struct{ ID string }
			bearer.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
			if me.ID != u.ID {
				t.Errorf("bearer token authenticates %q, want %q", me.ID, u.ID)
			}
			// Scripts can change things with it (no browser headers).
			bearer.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Scripted"}).want(http.StatusCreated)
		})
		t.Run("UnknownToken", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer lct_not-a-real-token").
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
		t.Run("NotBearer", func(t *testing.T) {
			ts.client(t).do(t, "GET", "/api/v1/me", nil, "Authorization", "Basic dXNlcjpwYXNz").
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
		t.Run("NameRequired", func(t *testing.T) {
			c.do(t, "POST", "/api/v1/tokens", map[string]string{"name": " "}).wantError(http.StatusBadRequest, lectern.EINVALID)
		})
		t.Run("Anonymous", func(t *testing.T) {
			ts.client(t).do(t, "POST", "/api/v1/tokens", map[string]string{"name": "x"}).
				wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})
	})
}

func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, admin := ts.loginNew(t, lectern.RoleAdmin)
		_, student := ts.loginNew(t, lectern.RoleStudent)
		_, teacher := ts.loginNew(t, lectern.RoleTeacher)

		t.Run("AdminCreates", func(t *testing.T) {
			req := map[string]string{"email": " New.Teacher@Example.org ", "name": "New Teacher", "password": "correct horse", "role": "teacher"}
			got := admin.do(t, "POST", "/api/v1/users", req).want(http.StatusCreated).fields()
			want := map[string]any{"email": "new.teacher@example.org", "name": "New Teacher", "role": "teacher", "active": true}
			if diff := cmp.Diff(want, got, ignoreKeys("id", "created_at")); diff != "" {
				t.Errorf("created user (-want +got):\n%s", diff)
			}
			// The new user can log in.
			ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": "new.teacher@example.org", "password": "correct horse"}).
				want(http.StatusOK)
			// The same email in another case is taken.
			req["email"] = "NEW.TEACHER@example.org"
			admin.do(t, "POST", "/api/v1/users", req).wantError(http.StatusConflict, lectern.ECONFLICT)
		})

		t.Run("AdminLists", func(t *testing.T) {
			var got struct{ Users []struct{ Email string } }
			admin.do(t, "GET", "/api/v1/users", nil).want(http.StatusOK).decode(&got)
			found := false
			for _, u := range got.Users {
				found = found || u.Email == "new.teacher@example.org"
			}
			if len(got.Users) < 4 || !found {
				t.Errorf("users = %+v; want the 3 logged-in users and new.teacher@example.org", got.Users)
			}
		})

		t.Run("Invalid", func(t *testing.T) {
			for _, tc := range []struct{ name, email, uname, password, role string }{
				{"BadEmail", "not-an-email", "N", "long enough", "student"},
				{"DisplayNameEmail", "Bob <bob@example.org>", "N", "long enough", "student"},
				{"EmptyName", "a@example.org", "  ", "long enough", "student"},
				{"LongName", "a@example.org", strings.Repeat("n", 201), "long enough", "student"},
				{"ShortPassword", "a@example.org", "N", "short", "student"},
				{"LongPassword", "a@example.org", "N", strings.Repeat("p", 1025), "student"},
				{"UnknownRole", "a@example.org", "N", "long enough", "superuser"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					admin.do(t, "POST", "/api/v1/users", map[string]string{"email": tc.email, "name": tc.uname, "password": tc.password, "role": tc.role}).
						wantError(http.StatusBadRequest, lectern.EINVALID)
				})
			}
		})

		t.Run("NonAdminsForbidden", func(t *testing.T) {
			for name, c := range map[string]*client{"Student": student, "Teacher": teacher} {
				t.Run(name, func(t *testing.T) {
					c.do(t, "POST", "/api/v1/users", map[string]string{"email": "x@example.org", "name": "X", "password": "long enough", "role": "admin"}).
						wantError(http.StatusForbidden, lectern.EFORBIDDEN)
					c.do(t, "GET", "/api/v1/users", nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
				})
			}
		})
	})
}

func TestPassword(t *testing.T) {
	hash, err := server.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want an argon2id PHC string with OWASP's minimum parameters", hash)
	}
	again, err := server.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if again == hash {
		t.Errorf("two hashes of one password are equal; the salt is not random")
	}
	for _, tc := range []struct {
		name     string
		hash     string
		password string
		want     bool
		wantErr  bool
	}{
		{"Right", hash, "correct horse battery staple", true, false},
		{"Wrong", hash, "correct horse battery stapler", false, false},
		{"OtherSalt", again, "correct horse battery staple", true, false},
		{"NotPHC", "plaintext", "x", false, true},
		{"Bcrypt", "$2a$10$abcdefghijklmnopqrstuu", "x", false, true},
		{"HugeMemory", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA", "x", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := server.CheckPassword(tc.hash, tc.password)
			if ok != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("CheckPassword = %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
}
