package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// Outgoing mail. Requests queue what to send in the database's outbox
// (db.QueueMail); a sender in each API process claims due mail, makes
// the message (a one-time link is made at this moment, so the outbox
// never holds a usable one), sends it through the configured Mailer,
// and deletes it. A failed send backs off (mailBackoff) and is tried
// again until the mail expires; a permanent refusal (a 5xx reply) is not
// retried. Nothing waits for the mail server on a request's path.

const (
	// DefaultMailInterval is how often the sender looks for due mail; a
	// request that queues mail also wakes it at once.
	DefaultMailInterval = 5 * time.Second
	// mailLease is how long a sender holds the mail it claimed.
	mailLease = 2 * time.Minute
	// mailBatch bounds the mail one pass claims.
	mailBatch = 20
	// mailMaxBackoff caps the wait between attempts.
	mailMaxBackoff = 30 * time.Minute
)

// errMailNotSetUp answers requests for mail when no SMTP server is
// configured.
func errMailNotSetUp(what string) error {
	return lectern.Errorf(lectern.EUNAVAILABLE, "%s by email is not set up on this server; ask your admin", what)
}

// errNothingToSend is what composing a mail returns when, on looking, it
// has no one to go to (a reset asked for an address with no account).
var errNothingToSend = errors.New("nothing to send")

// mailBackoff is the wait after the n-th failed attempt: 30 s, doubling,
// at most mailMaxBackoff.
func mailBackoff(n int) time.Duration { return doublingBackoff(n, 30*time.Second, mailMaxBackoff) }

// mailState is the sender's configuration and lifecycle.
type mailState struct {
	mailer lectern.Mailer
	from   *mail.Address
	// publicURL is where links in mail point, without a trailing slash.
	publicURL string
	wake      chan struct{}
	// digestHour is the hour (UTC) of the daily question digest; -1
	// turns it off. lastDigestCheck is the sender's own.
	digestHour      int
	lastDigestCheck time.Time
	// sender is the loop that sends; nil when off.
	sender *loop
}

func newMailState(opts Options) (*mailState, error) {
	ms := &mailState{mailer: opts.Mailer, publicURL: strings.TrimRight(opts.PublicURL, "/"), wake: make(chan struct{}, 1),
		digestHour: opts.DigestHour}
	if opts.DigestHour < 0 || opts.DigestHour > 23 {
		return nil, fmt.Errorf("server: Options.DigestHour %d is not an hour from 0 to 23", opts.DigestHour)
	}
	if opts.NoDigest {
		ms.digestHour = -1
	}
	if opts.Mailer == nil {
		return ms, nil
	}
	from, err := mail.ParseAddress(opts.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("server: Options.MailFrom %q is not an email address", opts.MailFrom)
	}
	if ms.publicURL == "" {
		return nil, errors.New("server: Options.PublicURL is required with a Mailer, for the links in mail")
	}
	ms.from = from
	return ms, nil
}

// mailConfigured reports whether mail can be sent.
func (s *Server) mailConfigured() bool { return s.mail.mailer != nil }

// queueMail puts m in the outbox and wakes the sender.
func (s *Server) queueMail(ctx context.Context, m *lectern.OutgoingMail) error {
	if err := s.db.QueueMail(ctx, m); err != nil {
		return err
	}
	s.wakeMailSender()
	return nil
}

func (s *Server) wakeMailSender() {
	select {
	case s.mail.wake <- struct{}{}:
	default:
	}
}

// startMailSender starts the sender when mail is configured, unless
// interval is negative.
func (s *Server) startMailSender(interval time.Duration) {
	if interval < 0 || !s.mailConfigured() {
		return
	}
	if interval == 0 {
		interval = DefaultMailInterval
	}
	s.mail.sender = startWokenLoop(interval, s.mail.wake, func(ctx context.Context) {
		s.queueDigests(ctx)
		if _, err := s.sendMail(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "mail sender", slog.Any("error", err))
		}
	})
}

// sendMail sends the mail due now and returns how many were sent.
func (s *Server) sendMail(ctx context.Context) (int, error) {
	now := s.clock.Now()
	due, err := s.db.ClaimDueMail(ctx, now, mailLease, mailBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, m := range due {
		ok, err := s.sendOneMail(ctx, m, now)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// sendOneMail makes and sends m. It reports whether a message went out;
// an error is the database's.
func (s *Server) sendOneMail(ctx context.Context, m *lectern.OutgoingMail, now time.Time) (bool, error) {
	log := s.logger.With(slog.String("mail", m.ID), slog.String("kind", m.Kind))
	if !now.Before(m.ExpiresAt) {
		log.ErrorContext(ctx, "mail not delivered before it expired", slog.Int("attempts", m.Attempts),
			slog.String("last_error", m.LastError))
		return false, s.db.DeleteMail(ctx, m.ID)
	}
	msg, undo, err := s.composeMail(ctx, m, now)
	if errors.Is(err, errNothingToSend) {
		return false, s.db.DeleteMail(ctx, m.ID)
	}
	if err != nil {
		return false, err
	}
	sendErr := s.mail.mailer.Send(ctx, s.mail.from.Address, []string{m.To}, msg)
	if sendErr == nil {
		return true, s.db.DeleteMail(ctx, m.ID)
	}
	// The message did not leave: a link it carried must not work.
	if undo != nil {
		if err := undo(ctx); err != nil {
			return false, err
		}
	}
	var p interface{ Permanent() bool }
	if errors.As(sendErr, &p) && p.Permanent() {
		log.ErrorContext(ctx, "mail refused by the smtp server", slog.Any("error", sendErr))
		return false, s.db.DeleteMail(ctx, m.ID)
	}
	log.WarnContext(ctx, "mail not sent; will retry", slog.Int("attempt", m.Attempts+1), slog.Any("error", sendErr))
	return false, s.db.MarkMailFailed(ctx, m.ID, sendErr.Error(), now.Add(mailBackoff(m.Attempts+1)))
}

// composeMail makes m's message. undo, when not nil, takes back what
// making it did (a one-time link) should the message not be sent.
func (s *Server) composeMail(ctx context.Context, m *lectern.OutgoingMail, now time.Time) (msg []byte, undo func(context.Context) error, err error) {
	var c mailContent
	switch m.Kind {
	case lectern.MailPasswordReset:
		c, undo, err = s.composePasswordReset(ctx, m)
	case lectern.MailEmailChange:
		c, undo, err = s.composeEmailChange(ctx, m)
	case lectern.MailEmailChanged:
		c = s.composeEmailChanged(m)
	case lectern.MailQuestionAnswered:
		c, err = s.composeQuestionAnswered(ctx, m)
	case lectern.MailQuestionDigest:
		c, err = s.composeQuestionDigest(ctx, m, now)
	case lectern.MailCourseInvitation:
		c, undo, err = s.composeCourseInvitation(ctx, m)
	default:
		s.logger.ErrorContext(ctx, "mail of unknown kind dropped", slog.String("kind", m.Kind))
		return nil, nil, errNothingToSend
	}
	if err != nil {
		return nil, nil, err
	}
	return s.formatMail(m, c, now), undo, nil
}

// mailContent is what a mail says.
type mailContent struct {
	Subject string
	Body    string
	// Unsubscribe, for optional mail, is the link that turns it off,
	// shown at the end and in List-Unsubscribe.
	Unsubscribe string
}

// formatMail writes c as an RFC 5322 message of plain UTF-8 text
// (quoted-printable, so that any server takes it).
func (s *Server) formatMail(m *lectern.OutgoingMail, c mailContent, now time.Time) []byte {
	var b bytes.Buffer
	domain := "lectern"
	if _, d, ok := strings.Cut(s.mail.from.Address, "@"); ok {
		domain = d
	}
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", s.mail.from.String())
	hdr("To", (&mail.Address{Address: m.To}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", c.Subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+m.ID+"."+fmt.Sprint(m.Attempts)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	body := c.Body
	if c.Unsubscribe != "" {
		hdr("List-Unsubscribe", "<"+c.Unsubscribe+">")
		hdr("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		body += "\n-- \nTo stop getting this mail, open " + c.Unsubscribe + "\nor choose what you get on " +
			s.mail.publicURL + "/account\n"
	}
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	_, _ = w.Write([]byte(body)) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return b.Bytes()
}
