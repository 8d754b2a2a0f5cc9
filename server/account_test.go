package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
)

type sessionList struct {
	Sessions []struct {
		ID         string
		Browser    string
		Current    bool
		LastSeenAt *time.Time `json:"last_seen_at"`
	}
}

func TestAccountSessionsEnd(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		u, password := fx.createUser(t, lectern.RoleStudent)
		firefox := "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
		here := ts.client(t)
		here.do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": password},
			"User-Agent", firefox).want(http.StatusOK)
		laptop := ts.login(t, u, password)
		phone := ts.login(t, u, password)
		other, otherPassword := fx.createUser(t, lectern.RoleStudent)
		stranger := ts.login(t, other, otherPassword)
		for _, c := range []*client{here, laptop, phone, stranger} {
			c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		}

		var list sessionList
		here.do(t, "GET", "/api/v1/me/sessions", nil, "User-Agent", firefox).want(http.StatusOK).decode(&list)
		if len(list.Sessions) != 3 {
			t.Fatalf("got %d sessions, want 3: %+v", len(list.Sessions), list.Sessions)
		}
		var current, victim string
		for _, s := range list.Sessions {
			if s.Current {
				current = s.ID
				if s.Browser != "Firefox on Windows" {
					t.Errorf("this session's browser is %q, want Firefox on Windows", s.Browser)
				}
			} else if victim == "" {
				victim = s.ID
			}
			if s.LastSeenAt == nil {
				t.Errorf("session %s has no last seen time", s.ID)
			}
		}
		if current == "" {
			t.Fatal("no session is marked current")
		}

		// Another user cannot end mine.
		stranger.do(t, "DELETE", "/api/v1/me/sessions/"+victim, nil).wantError(http.StatusNotFound, "not_found")
		laptop.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		phone.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)

		here.do(t, "DELETE", "/api/v1/me/sessions/"+victim, nil).want(http.StatusNoContent)
		here.do(t, "GET", "/api/v1/me/sessions", nil).want(http.StatusOK).decode(&list)
		if len(list.Sessions) != 2 {
			t.Fatalf("after ending one: %d sessions, want 2", len(list.Sessions))
		}
		ended := 0
		for _, c := range []*client{laptop, phone} {
			if c.do(t, "GET", "/api/v1/me", nil).Status == http.StatusUnauthorized {
				ended++
			}
		}
		if ended != 1 {
			t.Fatalf("%d of the two other sessions ended, want 1", ended)
		}

		var res struct{ Ended int }
		here.do(t, "DELETE", "/api/v1/me/sessions", nil).want(http.StatusOK).decode(&res)
		if res.Ended != 1 {
			t.Errorf("ended %d other sessions, want 1", res.Ended)
		}
		laptop.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, "unauthorized")
		phone.do(t, "GET", "/api/v1/me", nil).wantError(http.StatusUnauthorized, "unauthorized")
		here.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		stranger.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK)
		page := here.do(t, "GET", "/account", nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), "This browser") {
			t.Errorf("account page does not mark this browser:\n%s", page.Body)
		}
	})
}

func TestAccountNameChange(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		_, c := ts.loginNew(t, lectern.RoleStudent)
		c.do(t, "PATCH", "/api/v1/me", map[string]string{"name": "  "}).wantError(http.StatusBadRequest, "invalid")
		c.do(t, "PATCH", "/api/v1/me", map[string]string{"name": strings.Repeat("x", 201)}).wantError(http.StatusBadRequest, "invalid")
		var me struct{ Name string }
		c.do(t, "PATCH", "/api/v1/me", map[string]string{"name": " Ada Lovelace "}).want(http.StatusOK).decode(&me)
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		if me.Name != "Ada Lovelace" {
			t.Errorf("name is %q after the change", me.Name)
		}
	})
}

func TestAccountEmailChangeByMail(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		u, password := fx.createUser(t, lectern.RoleStudent)
		c := ts.login(t, u, password)
		taken, _ := fx.createUser(t, lectern.RoleStudent)
		newAddr := "renamed-" + u.Email

		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": "not an address", "current_password": password}).
			wantError(http.StatusBadRequest, "invalid")
		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": newAddr, "current_password": "wrong one"}).
			wantError(http.StatusForbidden, "forbidden")
		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": newAddr}).wantError(http.StatusBadRequest, "invalid")
		var first, second struct{ Message string }
		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": strings.ToUpper(newAddr), "current_password": password}).
			want(http.StatusAccepted).decode(&first)
		// An address another account has gets the same answer; that
		// mailbox is told, and nothing changes.
		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": taken.Email, "current_password": password}).
			want(http.StatusAccepted).decode(&second)
		if first != second {
			t.Errorf("answers differ: %q and %q", first.Message, second.Message)
		}
		msgs := mta.WaitMessages(t, 2, 10*time.Second)
		waitOutboxEmpty(t, fx)
		var link string
		for _, m := range mta.Messages() {
			hdr, body := m.Parse(t)
			switch m.To[0] {
			case newAddr:
				if hdr.Get("Subject") != "Confirm your new Lectern address" {
					t.Errorf("confirmation subject %q", hdr.Get("Subject"))
				}
				if hdr.Get("List-Unsubscribe") != "" {
					t.Error("account mail carries an unsubscribe header")
				}
				link = linkPath(t, m.Link(t, mailPublicURL+"/confirm-email?token="))
			case taken.Email:
				if !strings.Contains(body, "already belongs to an account") || strings.Contains(body, "token=") {
					t.Errorf("mail to the taken address:\n%s", body)
				}
			default:
				t.Errorf("mail to %v", m.To)
			}
		}
		if len(msgs) != 2 || link == "" {
			t.Fatalf("got %d mails, link %q", len(mta.Messages()), link)
		}
		// Until the link is used, nothing changed.
		var me struct{ Email string }
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		if me.Email != u.Email {
			t.Fatalf("address changed before confirmation: %q", me.Email)
		}
		anon := ts.client(t)
		page := anon.do(t, "GET", link, nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), `id="confirm-email-form"`) || !strings.Contains(string(page.Body), newAddr) {
			t.Errorf("confirmation page:\n%s", page.Body)
		}
		q, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
		token := map[string]string{"token": q.Get("token")}
		anon.do(t, "POST", "/api/v1/me/email/confirm", token).want(http.StatusOK).decode(&me)
		if me.Email != newAddr {
			t.Errorf("confirmed address %q, want %q", me.Email, newAddr)
		}
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		if me.Email != newAddr {
			t.Errorf("after confirming, /me says %q", me.Email)
		}
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": newAddr, "password": password}).want(http.StatusOK)
		ts.client(t).do(t, "POST", "/api/v1/session", map[string]string{"email": u.Email, "password": password}).
			wantError(http.StatusUnauthorized, "unauthorized")

		// The old address is told.
		notice := mta.WaitMessages(t, 3, 10*time.Second)[2]
		hdr, body := notice.Parse(t)
		if notice.To[0] != u.Email || hdr.Get("Subject") != "Your Lectern address was changed" || !strings.Contains(body, newAddr) {
			t.Errorf("notice to %v, subject %q:\n%s", notice.To, hdr.Get("Subject"), body)
		}

		// The link works once.
		msg := anon.do(t, "POST", "/api/v1/me/email/confirm", token).wantError(http.StatusBadRequest, "invalid")
		if !strings.Contains(msg, "expired or was already used") {
			t.Errorf("reused link: %q", msg)
		}
		if page := anon.do(t, "GET", link, nil).want(http.StatusOK); !strings.Contains(string(page.Body), `id="confirm-email-invalid"`) {
			t.Errorf("used link's page still offers the button")
		}
	})
}

func TestAccountEmailChangeLinkExpires(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		u, password := fx.createUser(t, lectern.RoleTeacher)
		c := ts.login(t, u, password)
		c.do(t, "POST", "/api/v1/me/email", map[string]string{"email": "later-" + u.Email, "current_password": password}).
			want(http.StatusAccepted)
		link := linkPath(t, mta.WaitMessages(t, 1, 10*time.Second)[0].Link(t, mailPublicURL+"/confirm-email?token="))
		q, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
		fx.Clock.Advance(25 * time.Hour)
		c.do(t, "POST", "/api/v1/me/email/confirm", map[string]string{"token": q.Get("token")}).wantError(http.StatusBadRequest, "invalid")
		var me struct{ Email string }
		c.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
		if me.Email != u.Email {
			t.Errorf("an expired link changed the address to %q", me.Email)
		}
	})
}
