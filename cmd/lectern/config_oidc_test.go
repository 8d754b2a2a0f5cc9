package main

import (
	"strings"
	"testing"
)

func TestOIDCConfig(t *testing.T) {
	cfg, err := loadTestConfig(t, map[string]string{
		"LECTERN_OIDC_ISSUER": "https://sso.school.example/realms/school", "LECTERN_OIDC_CLIENT_ID": "lectern",
		"LECTERN_OIDC_CLIENT_SECRET": "s3cret", "LECTERN_OIDC_SCOPES": "openid, email profile groups",
		"LECTERN_OIDC_TEACHER_CLAIM": "groups", "LECTERN_OIDC_TEACHER_VALUE": "staff",
		"LECTERN_OIDC_BUTTON_LABEL": "Springfield High", "LECTERN_OIDC_DISABLE_LOCAL_PASSWORDS": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.oidcOptions()
	if o == nil || o.ClientSecret != "s3cret" || strings.Join(o.Scopes, " ") != "openid email profile groups" ||
		o.TeacherClaim != "groups" || o.ButtonLabel != "Springfield High" || !o.DisableLocalPasswords {
		t.Fatalf("oidc options: %+v", o)
	}
	if cfg, err := loadTestConfig(t, nil); err != nil || cfg.oidcOptions() != nil {
		t.Errorf("single sign-on is off by default: %+v, %v", cfg.OIDC, err)
	}
}

func TestOIDCConfigErrors(t *testing.T) {
	issuer := func(kv ...string) map[string]string {
		env := map[string]string{"LECTERN_OIDC_ISSUER": "https://sso.school.example", "LECTERN_OIDC_CLIENT_ID": "lectern",
			"LECTERN_OIDC_CLIENT_SECRET": "s3cret"}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"BadIssuer", issuer("LECTERN_OIDC_ISSUER", "sso.school.example"), "LECTERN_OIDC_ISSUER: must be the provider's issuer URL"},
		{"NoClientID", issuer("LECTERN_OIDC_CLIENT_ID", ""), "LECTERN_OIDC_CLIENT_ID: required when LECTERN_OIDC_ISSUER is set"},
		{"NoSecret", issuer("LECTERN_OIDC_CLIENT_SECRET", ""), "LECTERN_OIDC_CLIENT_SECRET: required when LECTERN_OIDC_ISSUER is set"},
		{"BadRedirect", issuer("LECTERN_OIDC_REDIRECT_URL", "https://lectern.school.example/callback"), "LECTERN_OIDC_REDIRECT_URL: must be Lectern's callback URL"},
		{"NoOpenID", issuer("LECTERN_OIDC_SCOPES", "email profile"), "LECTERN_OIDC_SCOPES: must include openid"},
		{"ClaimWithoutValue", issuer("LECTERN_OIDC_TEACHER_CLAIM", "groups"), "LECTERN_OIDC_TEACHER_VALUE: required when LECTERN_OIDC_TEACHER_CLAIM is set"},
		{"BadBool", issuer("LECTERN_OIDC_DISABLE_LOCAL_PASSWORDS", "yes please"), "LECTERN_OIDC_DISABLE_LOCAL_PASSWORDS: must be true or false"},
		{"SettingsWithoutIssuer", map[string]string{"LECTERN_OIDC_CLIENT_ID": "lectern"}, "LECTERN_OIDC_CLIENT_ID: has no effect without LECTERN_OIDC_ISSUER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadTestConfig(t, tc.env)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to start with %q", err, tc.want)
			}
		})
	}
}
