package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern/smtp"
)

func TestMailConfig(t *testing.T) {
	cfg, err := loadTestConfig(t, map[string]string{
		"LECTERN_SMTP_HOST": "mail.school.example", "LECTERN_SMTP_USERNAME": "lectern",
		"LECTERN_SMTP_PASSWORD": "pw", "LECTERN_MAIL_FROM": "Lectern <lectern@school.example>",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := smtp.Config{Host: "mail.school.example", Port: 587, Security: smtp.StartTLS, Username: "lectern", Password: "pw"}
	if diff := cmp.Diff(want, cfg.smtpConfig()); diff != "" {
		t.Errorf("smtp config (-want +got):\n%s", diff)
	}
	cfg, err = loadTestConfig(t, map[string]string{"LECTERN_SMTP_HOST": "mail.school.example", "LECTERN_SMTP_TLS": "tls",
		"LECTERN_MAIL_FROM": "lectern@school.example"})
	if err != nil || cfg.smtpConfig().Port != 465 {
		t.Errorf("tls: port %d, err %v; want 465", cfg.smtpConfig().Port, err)
	}
	if cfg, err := loadTestConfig(t, nil); err != nil || cfg.Mail.Host != "" {
		t.Errorf("no mail by default: %+v, %v", cfg.Mail, err)
	}
}

func TestMailConfigErrors(t *testing.T) {
	host := func(kv ...string) map[string]string {
		env := map[string]string{"LECTERN_SMTP_HOST": "mail.school.example", "LECTERN_MAIL_FROM": "lectern@school.example"}
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
		{"Security", host("LECTERN_SMTP_TLS", "ssl"), `LECTERN_SMTP_TLS: must be starttls, tls or none, got "ssl"`},
		{"Port", host("LECTERN_SMTP_PORT", "smtp"), "LECTERN_SMTP_PORT: must be a port number"},
		{"NoFrom", host("LECTERN_MAIL_FROM", ""), "LECTERN_MAIL_FROM: required when LECTERN_SMTP_HOST is set"},
		{"BadFrom", host("LECTERN_MAIL_FROM", "lectern at school"), "LECTERN_MAIL_FROM: must be an address"},
		{"UserWithoutPassword", host("LECTERN_SMTP_USERNAME", "u"), "LECTERN_SMTP_PASSWORD: required when LECTERN_SMTP_USERNAME is set"},
		{"PasswordWithoutUser", host("LECTERN_SMTP_PASSWORD", "p"), "LECTERN_SMTP_USERNAME: required when LECTERN_SMTP_PASSWORD is set"},
		{"PlainTextPassword", host("LECTERN_SMTP_TLS", "none", "LECTERN_SMTP_USERNAME", "u", "LECTERN_SMTP_PASSWORD", "p"), "LECTERN_SMTP_TLS: is none, but a username and password are sent only over TLS"},
		{"SettingsWithoutHost", map[string]string{"LECTERN_MAIL_FROM": "lectern@school.example"}, "LECTERN_MAIL_FROM: has no effect without LECTERN_SMTP_HOST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadTestConfig(t, tc.env)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to start with %q", err, tc.want)
			}
		})
	}
}
