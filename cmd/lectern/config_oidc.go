package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lectern/lectern/server"
)

// oidcConfigVars are the LECTERN_OIDC_* settings.
func oidcConfigVars() []configVar {
	str := func(dst func(*server.OIDCOptions) *string) func(*Config, string) error {
		return setString(func(c *Config) *string { return dst(&c.OIDC) })
	}
	return []configVar{
		{"LECTERN_OIDC_ISSUER", "oidc-issuer", "issuer URL of the school's OpenID Connect provider, for single sign-on (default none: no single sign-on)", str(func(o *server.OIDCOptions) *string { return &o.Issuer })},
		{"LECTERN_OIDC_CLIENT_ID", "oidc-client-id", "Lectern's client ID at the provider (required with an issuer)", str(func(o *server.OIDCOptions) *string { return &o.ClientID })},
		{"LECTERN_OIDC_CLIENT_SECRET", "oidc-client-secret", "Lectern's client secret at the provider (required with an issuer)", func(c *Config, v string) error { c.OIDC.ClientSecret = strings.TrimSpace(v); return nil }},
		{"LECTERN_OIDC_REDIRECT_URL", "oidc-redirect-url", "callback URL registered at the provider (default <public URL>/auth/oidc/callback)", str(func(o *server.OIDCOptions) *string { return &o.RedirectURL })},
		{"LECTERN_OIDC_SCOPES", "oidc-scopes", "space- or comma-separated scopes asked for; openid is always asked (default openid email profile)", setOIDCScopes},
		{"LECTERN_OIDC_EMAIL_CLAIM", "oidc-email-claim", "claim holding the user's email, trusted as the provider's word, like upn or preferred_username (default email, trusted only with email_verified true)", str(func(o *server.OIDCOptions) *string { return &o.EmailClaim })},
		{"LECTERN_OIDC_TEACHER_CLAIM", "oidc-teacher-claim", "claim that makes a user a teacher when it is (or, for a list such as groups, contains) LECTERN_OIDC_TEACHER_VALUE (default none: single sign-on makes students)", str(func(o *server.OIDCOptions) *string { return &o.TeacherClaim })},
		{"LECTERN_OIDC_TEACHER_VALUE", "oidc-teacher-value", "value of the teacher claim that makes a teacher, like staff (required with a teacher claim)", str(func(o *server.OIDCOptions) *string { return &o.TeacherValue })},
		{"LECTERN_OIDC_BUTTON_LABEL", "oidc-button-label", "name of the provider on the login page's \"Log in with …\" button, like your school's name (default single sign-on)", str(func(o *server.OIDCOptions) *string { return &o.ButtonLabel })},
		{"LECTERN_OIDC_DISABLE_LOCAL_PASSWORDS", "oidc-disable-local-passwords", "true refuses password logins, password changes and password resets of users linked to the provider: they log in with single sign-on (default false)", setOIDCDisableLocalPasswords},
	}
}

func setOIDCScopes(c *Config, v string) error {
	c.OIDC.Scopes = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	return nil
}

func setOIDCDisableLocalPasswords(c *Config, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be true or false, got %q", v)
	}
	c.OIDC.DisableLocalPasswords = b
	return nil
}

func (c *Config) validateOIDC() error {
	o := c.OIDC
	if o.Issuer == "" {
		for _, env := range []string{"LECTERN_OIDC_CLIENT_ID", "LECTERN_OIDC_CLIENT_SECRET", "LECTERN_OIDC_REDIRECT_URL", "LECTERN_OIDC_SCOPES",
			"LECTERN_OIDC_EMAIL_CLAIM", "LECTERN_OIDC_TEACHER_CLAIM", "LECTERN_OIDC_TEACHER_VALUE", "LECTERN_OIDC_BUTTON_LABEL", "LECTERN_OIDC_DISABLE_LOCAL_PASSWORDS"} {
			if _, set := c.names[env]; set {
				return c.errorf(env, "has no effect without %s", c.name("LECTERN_OIDC_ISSUER"))
			}
		}
		return nil
	}
	if !httpURL(o.Issuer) {
		return c.errorf("LECTERN_OIDC_ISSUER", "must be the provider's issuer URL like https://login.school.example/realms/school, got %q", o.Issuer)
	}
	if o.ClientID == "" {
		return c.errorf("LECTERN_OIDC_CLIENT_ID", "required when %s is set", c.name("LECTERN_OIDC_ISSUER"))
	}
	if o.ClientSecret == "" {
		return c.errorf("LECTERN_OIDC_CLIENT_SECRET", "required when %s is set", c.name("LECTERN_OIDC_ISSUER"))
	}
	if o.RedirectURL != "" {
		u, err := url.Parse(o.RedirectURL)
		if !httpURL(o.RedirectURL) || err != nil || u.Path != server.OIDCCallbackPath {
			return c.errorf("LECTERN_OIDC_REDIRECT_URL", "must be Lectern's callback URL, like https://lectern.school.example%s, got %q", server.OIDCCallbackPath, o.RedirectURL)
		}
	}
	if len(o.Scopes) > 0 && !slices.Contains(o.Scopes, "openid") {
		return c.errorf("LECTERN_OIDC_SCOPES", "must include openid, got %q", strings.Join(o.Scopes, " "))
	}
	if (o.TeacherClaim == "") != (o.TeacherValue == "") {
		if o.TeacherClaim == "" {
			return c.errorf("LECTERN_OIDC_TEACHER_CLAIM", "required when %s is set", c.name("LECTERN_OIDC_TEACHER_VALUE"))
		}
		return c.errorf("LECTERN_OIDC_TEACHER_VALUE", "required when %s is set", c.name("LECTERN_OIDC_TEACHER_CLAIM"))
	}
	return nil
}

func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// oidcOptions are the server's single sign-on options, nil when off.
func (c *Config) oidcOptions() *server.OIDCOptions {
	if c.OIDC.Issuer == "" {
		return nil
	}
	o := c.OIDC
	return &o
}
