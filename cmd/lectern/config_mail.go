package main

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"

	"github.com/lectern/lectern/smtp"
)

// MailConfig says how Lectern sends mail. An empty Host means no mail:
// features that need it (password reset by email) say they are not set
// up.
type MailConfig struct {
	Host string
	// Port zero means the usual port of the security mode.
	Port     int
	Security string
	Username string
	Password string
	From     string
	// DigestHour is the hour (UTC) of teachers' daily digest of open
	// questions; -1 is off.
	DigestHour int
}

// mailConfigVars are the LECTERN_SMTP_* and LECTERN_MAIL_FROM settings.
func mailConfigVars() []configVar {
	str := func(dst func(*MailConfig) *string) func(*Config, string) error {
		return setString(func(c *Config) *string { return dst(&c.Mail) })
	}
	return []configVar{
		{"LECTERN_SMTP_HOST", "smtp-host", "SMTP server that sends Lectern's mail (default none: no mail, and password reset by email is off)", str(func(m *MailConfig) *string { return &m.Host })},
		{"LECTERN_SMTP_PORT", "smtp-port", "SMTP port (default 587 for starttls, 465 for tls, 25 for none)", setSMTPPort},
		{"LECTERN_SMTP_TLS", "smtp-tls", "starttls (required, never skipped), tls (from the first byte) or none (default starttls)", str(func(m *MailConfig) *string { return &m.Security })},
		{"LECTERN_SMTP_USERNAME", "smtp-username", "SMTP login, sent with AUTH PLAIN (default: send without logging in)", str(func(m *MailConfig) *string { return &m.Username })},
		{"LECTERN_SMTP_PASSWORD", "smtp-password", "SMTP password", func(c *Config, v string) error { c.Mail.Password = v; return nil }},
		{"LECTERN_MAIL_DIGEST_HOUR", "mail-digest-hour", "hour (0 to 23, UTC) at which teachers get the daily digest of open questions, or off (default 7)", setDigestHour},
		{"LECTERN_MAIL_FROM", "mail-from", "sender of Lectern's mail, like \"Lectern <lectern@school.example>\" (required with an SMTP host)", str(func(m *MailConfig) *string { return &m.From })},
	}
}

func setDigestHour(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") {
		c.Mail.DigestHour = -1
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 23 {
		return fmt.Errorf("must be an hour from 0 to 23, or off, got %q", v)
	}
	c.Mail.DigestHour = n
	return nil
}

func setSMTPPort(c *Config, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("must be a port number from 1 to 65535, got %q", v)
	}
	c.Mail.Port = n
	return nil
}

// smtpConfig is the SMTP client's configuration, with defaults filled in.
func (c *Config) smtpConfig() smtp.Config {
	m := c.Mail
	if m.Security == "" {
		m.Security = smtp.StartTLS
	}
	if m.Port == 0 {
		m.Port = smtp.DefaultPort(m.Security)
	}
	return smtp.Config{Host: m.Host, Port: m.Port, Security: m.Security, Username: m.Username, Password: m.Password}
}

func (c *Config) validateMail() error {
	m := c.Mail
	if m.Host == "" {
		for _, env := range []string{"LECTERN_SMTP_PORT", "LECTERN_SMTP_TLS", "LECTERN_SMTP_USERNAME", "LECTERN_SMTP_PASSWORD", "LECTERN_MAIL_FROM", "LECTERN_MAIL_DIGEST_HOUR"} {
			if _, set := c.names[env]; set {
				return c.errorf(env, "has no effect without %s", c.name("LECTERN_SMTP_HOST"))
			}
		}
		return nil
	}
	switch m.Security {
	case "", smtp.StartTLS, smtp.TLS, smtp.None:
	default:
		return c.errorf("LECTERN_SMTP_TLS", "must be starttls, tls or none, got %q", m.Security)
	}
	if (m.Username == "") != (m.Password == "") {
		if m.Username == "" {
			return c.errorf("LECTERN_SMTP_USERNAME", "required when %s is set", c.name("LECTERN_SMTP_PASSWORD"))
		}
		return c.errorf("LECTERN_SMTP_PASSWORD", "required when %s is set", c.name("LECTERN_SMTP_USERNAME"))
	}
	if err := c.smtpConfig().Validate(); err != nil {
		return c.errorf("LECTERN_SMTP_TLS", "is none, but %s", strings.TrimPrefix(err.Error(), "smtp: "))
	}
	if m.From == "" {
		return c.errorf("LECTERN_MAIL_FROM", "required when %s is set", c.name("LECTERN_SMTP_HOST"))
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return c.errorf("LECTERN_MAIL_FROM", "must be an address like lectern@school.example or \"Lectern <lectern@school.example>\", got %q", m.From)
	}
	return nil
}

// mailer is the SMTP client when mail is configured, else nil.
func (c *Config) mailer() (*smtp.Client, error) {
	if c.Mail.Host == "" {
		return nil, nil
	}
	return smtp.New(c.smtpConfig())
}
