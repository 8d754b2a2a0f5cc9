package server_test

import (
	"net/http"
	"testing"

	"github.com/lectern/lectern"
)

// TestPasswordChange: the current password is required; a change ends
// every other session and keeps this one; the old password stops working.
func TestPasswordChange(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		u, password := fx.createUser(t, lectern.RoleTeacher)
		here, elsewhere := ts.login(t, u, password), ts.login(t, u, password)
		elsewhere.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)

		here.do(t, "PUT", "/api/v1/me/password", map[string]string{"current_password": "not it", "new_password": "a changed password"}).
			wantError(http.StatusForbidden, "forbidden")
		here.do(t, "PUT", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": "short"}).
			wantError(http.StatusBadRequest, "invalid")
		elsewhere.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)

		here.do(t, "PUT", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": "a changed password"}).
			want(http.StatusNoContent)
		here.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		elsewhere.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, "unauthorized")
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": password}).
			wantError(http.StatusUnauthorized, "unauthorized")
		ts.login(t, u, "a changed password")
	})
}
