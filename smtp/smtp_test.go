package smtp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/smtp"
)

const testMessage = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"

func TestSend(t *testing.T) {
	mta := testenv.StartSMTP(t, true)
	cfg := smtp.Config{Host: mta.Host, Port: mta.Port, Security: smtp.StartTLS, Username: mta.Username,
		Password: mta.Password, TLSConfig: mta.TLSConfig, Timeout: 5 * time.Second}
	send := func(t *testing.T, cfg smtp.Config) error {
		t.Helper()
		c, err := smtp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c.Send(context.Background(), "a@example.org", []string{"b@example.org"}, []byte(testMessage))
	}

	t.Run("OK", func(t *testing.T) {
		if err := send(t, cfg); err != nil {
			t.Fatal(err)
		}
		msgs := mta.WaitMessages(t, 1, 5*time.Second)
		if msgs[0].From != "a@example.org" || len(msgs[0].To) != 1 || msgs[0].To[0] != "b@example.org" ||
			!strings.Contains(string(msgs[0].Data), "Hello.") {
			t.Errorf("got %+v", msgs[0])
		}
	})
	t.Run("WrongPasswordIsPermanent", func(t *testing.T) {
		bad := cfg
		bad.Password = "wrong"
		err := send(t, bad)
		var se *smtp.Error
		if !errors.As(err, &se) || !se.Permanent() || se.Op != "auth" {
			t.Errorf("err = %v, want a permanent auth refusal", err)
		}
	})
	t.Run("UntrustedCertificateIsRefused", func(t *testing.T) {
		untrusted := cfg
		untrusted.TLSConfig = nil // the system's roots do not know the test's certificate
		if err := send(t, untrusted); err == nil || !strings.Contains(err.Error(), "starttls") {
			t.Errorf("err = %v, want a STARTTLS failure", err)
		}
	})
	t.Run("ServerDown", func(t *testing.T) {
		mta.Stop()
		defer mta.Start(t)
		err := send(t, cfg)
		var se *smtp.Error
		if err == nil || errors.As(err, &se) {
			t.Errorf("err = %v, want a connection error (not an SMTP reply)", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  smtp.Config
		ok   bool
	}{
		{"StartTLS", smtp.Config{Host: "mail.example.org", Port: 587, Security: smtp.StartTLS, Username: "u", Password: "p"}, true},
		{"NoneToLoopbackWithAuth", smtp.Config{Host: "127.0.0.1", Port: 25, Security: smtp.None, Username: "u", Password: "p"}, true},
		{"NoneToRemoteWithAuth", smtp.Config{Host: "mail.example.org", Port: 25, Security: smtp.None, Username: "u", Password: "p"}, false},
		{"NoneToRemoteWithoutAuth", smtp.Config{Host: "mail.example.org", Port: 25, Security: smtp.None}, true},
		{"BadSecurity", smtp.Config{Host: "mail.example.org", Port: 25, Security: "ssl"}, false},
		{"NoHost", smtp.Config{Port: 25, Security: smtp.TLS}, false},
		{"BadPort", smtp.Config{Host: "mail.example.org", Port: 0, Security: smtp.TLS}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
