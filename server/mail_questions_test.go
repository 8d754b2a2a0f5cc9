package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
)

// mailsTo returns the mails mta received for addr.
func mailsTo(mta *testenv.SMTPServer, addr string) []testenv.SMTPMessage {
	var out []testenv.SMTPMessage
	for _, m := range mta.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

type mailPrefs struct {
	Preferences []struct {
		Kind    string
		Enabled bool
	}
}

func prefEnabled(t *testing.T, c *client, kind string) bool {
	t.Helper()
	var p mailPrefs
	c.do(t, "GET", "/api/v1/me/mail-preferences", nil).want(http.StatusOK).decode(&p)
	for _, k := range p.Preferences {
		if k.Kind == kind {
			return k.Enabled
		}
	}
	t.Fatalf("no preference %q in %+v", kind, p)
	return false
}

func TestQuestionAnsweredMailAndUnsubscribe(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts, mta := newMailServer(t, fx)
		cl := newClassroom(t, ts)
		var author struct{ Email string }
		cl.author.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&author)

		q := cl.post(t, cl.author, "question", "teachers", 90_000, "Why does the integral converge?")
		cl.refill()
		cl.reply(t, cl.teacher, q, "Because the tail decays exponentially.")
		msgs := mta.WaitMessages(t, 1, 10*time.Second)
		waitOutboxEmpty(t, fx)
		if len(mta.Messages()) != 1 || msgs[0].To[0] != author.Email {
			t.Fatalf("mails: %d, first to %v; want one, to the asker %s", len(mta.Messages()), msgs[0].To, author.Email)
		}
		hdr, body := msgs[0].Parse(t)
		if hdr.Get("Subject") != "Your question was answered" || !strings.Contains(body, "tail decays exponentially") ||
			!strings.Contains(body, mailPublicURL+"/watch/"+cl.lessonID+"?t=90") {
			t.Errorf("subject %q, body:\n%s", hdr.Get("Subject"), body)
		}
		if hdr.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post = %q", hdr.Get("List-Unsubscribe-Post"))
		}
		unsub := strings.Trim(hdr.Get("List-Unsubscribe"), "<>")
		if !strings.HasPrefix(unsub, mailPublicURL+"/unsubscribe?token=") || !strings.Contains(body, unsub) {
			t.Fatalf("List-Unsubscribe %q; body:\n%s", unsub, body)
		}

		// Logged out: the page asks and changes nothing; the POST does it.
		anon := ts.client(t)
		page := anon.do(t, "GET", linkPath(t, unsub), nil).want(http.StatusOK)
		if !strings.Contains(string(page.Body), `id="unsubscribe-form"`) {
			t.Fatalf("unsubscribe page:\n%s", page.Body)
		}
		if !prefEnabled(t, cl.author, "question_answered") {
			t.Fatal("opening the unsubscribe page turned the mail off")
		}
		u, _ := url.Parse(unsub)
		forged := strings.Replace(u.Query().Get("token"), ".", ".x", 1)
		anon.do(t, "POST", "/unsubscribe", url.Values{"token": {forged}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded").want(http.StatusBadRequest)
		done := anon.do(t, "POST", "/unsubscribe", url.Values{"token": {u.Query().Get("token")}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded").want(http.StatusOK)
		if !strings.Contains(string(done.Body), `id="unsubscribe-done"`) {
			t.Errorf("after unsubscribing:\n%s", done.Body)
		}
		if prefEnabled(t, cl.author, "question_answered") {
			t.Fatal("still subscribed after unsubscribing")
		}

		// No more answered mail; turning it back on brings it back.
		cl.refill()
		q2 := cl.post(t, cl.author, "question", "teachers", 1000, "And the first term?")
		cl.refill()
		cl.reply(t, cl.teacher, q2, "It is bounded.")
		waitOutboxEmpty(t, fx) // dropped when its time came: the preference is read when sending
		cl.author.do(t, "PUT", "/api/v1/me/mail-preferences", map[string]bool{"nonsense": true}).wantError(http.StatusBadRequest, "invalid")
		cl.author.do(t, "PUT", "/api/v1/me/mail-preferences", map[string]bool{"question_answered": true}).want(http.StatusOK)
		cl.refill()
		q3 := cl.post(t, cl.author, "question", "teachers", 2000, "And the last one?")
		cl.refill()
		cl.reply(t, cl.teacher, q3, "Also bounded.")
		mta.WaitMessages(t, 2, 10*time.Second)
		waitOutboxEmpty(t, fx)
		got := mailsTo(mta, author.Email)
		if len(got) != 2 {
			t.Fatalf("asker got %d mails, want 2 (none while unsubscribed)", len(got))
		}
		if _, body := got[1].Parse(t); !strings.Contains(body, "Also bounded.") {
			t.Errorf("second mail is not about the third answer:\n%s", body)
		}

		// A mail client's one-click POST (RFC 8058) to the header's URL.
		anon.do(t, "POST", linkPath(t, unsub), "List-Unsubscribe=One-Click",
			"Content-Type", "application/x-www-form-urlencoded").want(http.StatusOK)
		if prefEnabled(t, cl.author, "question_answered") {
			t.Error("one-click unsubscribe did not turn the mail off")
		}
	})
}

func TestQuestionDigestOnceADay(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		mta := testenv.StartSMTP(t, true)
		hour := fx.Clock.Now().UTC().Hour()
		digestAt := func(o *server.Options) { o.NoDigest, o.DigestHour = false, hour }
		ts := newServerMailingTo(t, fx, mta) // no digest here: only for the classroom
		cl := newClassroom(t, ts)
		var teacher struct{ Email string }
		cl.teacher.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&teacher)
		cl.post(t, cl.author, "question", "teachers", 5000, "What is a pole?")
		cl.refill()
		cl.post(t, cl.classmate, "question", "class", 6000, "And a zero?")

		// Two API processes with the digest on.
		newServerMailingTo(t, fx, mta, digestAt)
		newServerMailingTo(t, fx, mta, digestAt)
		msgs := mta.WaitMessages(t, 1, 20*time.Second)
		waitOutboxEmpty(t, fx)
		hdr, body := msgs[0].Parse(t)
		if msgs[0].To[0] != teacher.Email || hdr.Get("Subject") != "2 open questions in your courses" ||
			!strings.Contains(body, "What is a pole?") || !strings.Contains(body, "And a zero?") ||
			!strings.HasPrefix(hdr.Get("List-Unsubscribe"), "<"+mailPublicURL+"/unsubscribe?token=") {
			t.Errorf("digest to %v, subject %q, headers %v:\n%s", msgs[0].To, hdr.Get("Subject"), hdr, body)
		}
		// A restart the same day sends none.
		newServerMailingTo(t, fx, mta, digestAt)
		fx.Clock.Advance(2 * time.Hour)
		time.Sleep(time.Second) // the processes look every 20 ms
		waitOutboxEmpty(t, fx)
		if n := len(mta.Messages()); n != 1 {
			t.Fatalf("%d mails on the first day, want one digest", n)
		}
		// The next day, one more.
		fx.Clock.Advance(24 * time.Hour)
		mta.WaitMessages(t, 2, 20*time.Second)
		time.Sleep(time.Second)
		waitOutboxEmpty(t, fx)
		if n := len(mta.Messages()); n != 2 {
			t.Fatalf("%d mails after the second day, want two digests", n)
		}
	})
}
