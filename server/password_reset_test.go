package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/smtp"
)

// mailPublicURL is where the links in the tests' mail point; tests follow
// them by path on the test server.
const mailPublicURL = "http://lectern.test"

// newMailServer starts a server whose mail goes through a real SMTP
// server (STARTTLS and AUTH PLAIN) started for the test.
func newMailServer(t *testing.T, fx *fixture, edit ...func(*server.Options)) (*testServer, *testenv.SMTPServer) {
	t.Helper()
	mta := testenv.StartSMTP(t, true)
	return newServerMailingTo(t, fx, mta, edit...), mta
}

// newServerMailingTo starts a server whose mail goes to mta; the question
// digest is off unless edit turns it on.
func newServerMailingTo(t *testing.T, fx *fixture, mta *testenv.SMTPServer, edit ...func(*server.Options)) *testServer {
	t.Helper()
	mailer, err := smtp.New(smtp.Config{Host: mta.Host, Port: mta.Port, Security: smtp.StartTLS,
		Username: mta.Username, Password: mta.Password, TLSConfig: mta.TLSConfig, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return newServer(t, fx, func(o *server.Options) {
		o.Mailer, o.MailFrom, o.PublicURL = mailer, "Lectern <lectern@example.org>", mailPublicURL
		o.MailInterval = 20 * time.Millisecond
		o.NoDigest = true
		for _, e := range edit {
			e(o)
		}
	})
}

// linkPath is the path and query of a link from a mail, to follow on the
// test server.
func linkPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	return u.RequestURI()
}

// waitOutboxEmpty waits until the sender has dealt with every queued mail.
func waitOutboxEmpty(t *testing.T, fx *fixture) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		q, err := fx.DB.FindQueuedMail(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("mail still queued after 10 s")
}

func TestPasswordResetByMail(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		u, oldPassword := fx.createUser(t, lectern.RoleStudent)
		elsewhere := ts.login(t, u, oldPassword)
		elsewhere.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK) // and is known to the server's memory
		anon := ts.client(t)

		var known, unknown struct{ Message string }
		anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": strings.ToUpper(u.Email)}).
			want(http.StatusAccepted).decode(&known)
		anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": "nobody-" + u.Email}).
			want(http.StatusAccepted).decode(&unknown)
		if known != unknown || known.Message == "" {
			t.Errorf("answers differ: known address %q, unknown address %q", known.Message, unknown.Message)
		}
		msgs := mta.WaitMessages(t, 1, 10*time.Second)
		waitOutboxEmpty(t, fx)
		if msgs = mta.Messages(); len(msgs) != 1 {
			t.Fatalf("got %d mails, want 1 (none for the unknown address)", len(msgs))
		}
		hdr, _ := msgs[0].Parse(t)
		if len(msgs[0].To) != 1 || msgs[0].To[0] != u.Email || hdr.Get("To") != "<"+u.Email+">" {
			t.Errorf("mail went to %v (To: %q), want %s", msgs[0].To, hdr.Get("To"), u.Email)
		}
		if msgs[0].From != "lectern@example.org" || hdr.Get("Subject") != "Set a new password for Lectern" {
			t.Errorf("from %q, subject %q", msgs[0].From, hdr.Get("Subject"))
		}
		link := linkPath(t, msgs[0].Link(t, mailPublicURL+"/reset-password?token="))
		token, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])

		page := anon.do(t, "GET", link, nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), `id="reset-form"`) {
			t.Errorf("reset page shows no form:\n%s", page.Body)
		}
		confirm := map[string]string{"token": token.Get("token"), "password": "short"}
		anon.do(t, "POST", "/api/v1/password-reset/confirm", confirm).wantError(http.StatusBadRequest, "invalid")

		confirm["password"] = "a brand new password"
		var res struct{ User struct{ Email string } }
		anon.do(t, "POST", "/api/v1/password-reset/confirm", confirm).want(http.StatusOK).decode(&res)
		if res.User.Email != u.Email {
			t.Errorf("logged in as %q, want %q", res.User.Email, u.Email)
		}
		anon.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		elsewhere.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, "unauthorized")

		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": oldPassword}).
			wantError(http.StatusUnauthorized, "unauthorized")
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": confirm["password"]}).
			want(http.StatusOK)

		// The link works once.
		confirm["password"] = "yet another password"
		msg := ts.client(t).do(t, "POST", "/api/v1/password-reset/confirm", confirm).wantError(http.StatusBadRequest, "invalid")
		if !strings.Contains(msg, "expired or was already used") {
			t.Errorf("reused link: %q", msg)
		}
		if page := ts.client(t).do(t, "GET", link, nil).want(http.StatusOK); !strings.Contains(string(page.Body), `id="reset-invalid"`) {
			t.Errorf("the used link's page still offers the form:\n%s", page.Body)
		}
	})
}

func TestPasswordResetLinkExpires(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		u, password := fx.createUser(t, lectern.RoleTeacher)
		anon := ts.client(t)
		anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email}).want(http.StatusAccepted)
		link := linkPath(t, mta.WaitMessages(t, 1, 10*time.Second)[0].Link(t, mailPublicURL+"/reset-password?token="))
		token, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])

		fx.Clock.Advance(61 * time.Minute)
		if page := anon.do(t, "GET", link, nil).want(http.StatusOK); !strings.Contains(string(page.Body), `id="reset-invalid"`) {
			t.Errorf("an expired link's page still offers the form")
		}
		anon.do(t, "POST", "/api/v1/password-reset/confirm", map[string]string{"token": token.Get("token"), "password": "a new password"}).
			wantError(http.StatusBadRequest, "invalid")
		ts.login(t, u, password) // the old password still works
	})
}

// TestMailRetriedWhenSMTPIsDown: a reset asked for while the SMTP server
// is down is answered at once, retried with backoff, and arrives once the
// server is back, with a link that works.
func TestMailRetriedWhenSMTPIsDown(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		u, _ := fx.createUser(t, lectern.RoleStudent)
		mta.Stop()
		anon := ts.client(t)
		anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email}).want(http.StatusAccepted)

		ctx := context.Background()
		deadline := time.Now().Add(10 * time.Second)
		for {
			q, err := fx.DB.FindQueuedMail(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) == 1 && q[0].Attempts == 1 {
				if q[0].LastError == "" || !q[0].NextAttemptAt.After(fx.Clock.Now()) {
					t.Errorf("failed attempt recorded as error %q, next attempt at %v (now %v)", q[0].LastError, q[0].NextAttemptAt, fx.Clock.Now())
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no failed attempt recorded; outbox: %+v", q)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// No link was left behind by the attempt that did not send.
		if n, err := fx.DB.CountUserTokens(ctx, u.ID, lectern.TokenPasswordReset, time.Time{}); err != nil || n != 0 {
			t.Errorf("reset links after a failed send: %d, %v; want 0", n, err)
		}

		mta.Start(t)
		time.Sleep(100 * time.Millisecond)
		if n := len(mta.Messages()); n != 0 {
			t.Fatalf("mail sent before its backoff passed: %d", n)
		}
		fx.Clock.Advance(31 * time.Second)
		link := linkPath(t, mta.WaitMessages(t, 1, 10*time.Second)[0].Link(t, mailPublicURL+"/reset-password?token="))
		waitOutboxEmpty(t, fx)
		token, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
		anon.do(t, "POST", "/api/v1/password-reset/confirm", map[string]string{"token": token.Get("token"), "password": "after the outage"}).
			want(http.StatusOK)
	})
}

// TestPasswordResetLimits: one address gets 3 requests, then 429; one
// account gets at most 3 links an hour however the requests come.
func TestPasswordResetLimits(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	ts, mta := newMailServer(t, fx)
	u, _ := fx.createUser(t, lectern.RoleStudent)
	anon := ts.client(t)
	for range 3 {
		anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email}).want(http.StatusAccepted)
	}
	r := anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email})
	r.wantError(http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	mta.WaitMessages(t, 3, 10*time.Second)

	// Twenty minutes on, the address may ask again, but the account has
	// had its three links this hour.
	fx.Clock.Advance(21 * time.Minute)
	anon.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email}).want(http.StatusAccepted)
	waitOutboxEmpty(t, fx)
	if n := len(mta.Messages()); n != 3 {
		t.Errorf("got %d reset mails within the hour, want 3", n)
	}
}

// TestPasswordResetWithoutMail: without SMTP the API and the page say
// that reset by email is not set up.
func TestPasswordResetWithoutMail(t *testing.T) {
	fx := openFixture(t, "sqlite:"+t.TempDir()+"/lectern.db")
	ts := newServer(t, fx)
	u, _ := fx.createUser(t, lectern.RoleStudent)
	c := ts.client(t)
	msg := c.do(t, "POST", "/api/v1/password-reset", map[string]string{"email": u.Email}).
		wantError(http.StatusServiceUnavailable, "unavailable")
	if !strings.Contains(msg, "not set up") {
		t.Errorf("message %q does not say reset by email is not set up", msg)
	}
	page := c.do(t, "GET", "/forgot-password", nil).want(http.StatusOK)
	if !strings.Contains(string(page.Body), `id="forgot-unavailable"`) || strings.Contains(string(page.Body), `id="forgot-form"`) {
		t.Errorf("forgot page without mail:\n%s", page.Body)
	}
	if q, _ := fx.DB.FindQueuedMail(context.Background()); len(q) != 0 {
		t.Errorf("mail queued without a mailer: %d", len(q))
	}
}
