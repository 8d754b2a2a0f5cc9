package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// Mail about questions: "your question was answered" to the asker when a
// teacher answers, and a daily digest of open questions to each teacher
// who has some, at Options.DigestHour (UTC). Both are optional mail: the
// user may turn them off, and each carries an unsubscribe link. Both are
// made when sent, from what is true then: a digest with nothing open by
// then is not sent.

const (
	// answeredMailTTL is how long an answer's mail may wait to be sent.
	answeredMailTTL = 24 * time.Hour
	// digestTTL is how long a digest may wait: it is stale by the next.
	digestTTL = 20 * time.Hour
	// digestCheckEvery is how often the sender looks whether digests are
	// due.
	digestCheckEvery = time.Minute
	// digestMaxQuestions bounds the questions one digest lists.
	digestMaxQuestions = 50
)

// queueAnsweredMail queues the mail that tells the asker of the question
// cm answered, if it answered one. A failure is logged: the answer is
// posted, and the asker still sees it in their notifications.
func (s *Server) queueAnsweredMail(ctx context.Context, cm *lectern.Comment) {
	if !s.mailConfigured() || cm.ParentID == "" {
		return
	}
	userID, email, err := s.db.FindAnswerRecipient(ctx, cm.ID)
	if err == nil && userID != "" {
		err = s.queueMail(ctx, &lectern.OutgoingMail{Kind: lectern.MailQuestionAnswered, UserID: &userID, To: email,
			Payload: cm.ID, ExpiresAt: s.clock.Now().Add(answeredMailTTL)})
	}
	if err != nil {
		s.logger.WarnContext(ctx, "answered mail not queued", slog.String("comment", cm.ID), slog.Any("error", err))
	}
}

// mailRecipient returns the user an optional mail goes to, or
// errNothingToSend when the account is gone or has turned the kind off.
func (s *Server) mailRecipient(ctx context.Context, m *lectern.OutgoingMail) (*lectern.User, error) {
	if m.UserID == nil {
		return nil, errNothingToSend
	}
	u, err := s.db.FindUserByID(ctx, *m.UserID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil, errNothingToSend
	}
	if err != nil {
		return nil, err
	}
	off, err := s.db.MailOptedOut(ctx, u.ID, m.Kind)
	if err != nil {
		return nil, err
	}
	if off {
		return nil, errNothingToSend
	}
	return u, nil
}

// composeQuestionAnswered makes the mail to an asker: who answered, what
// they said, and a link to the moment. An answer since deleted, or one
// the asker can no longer see, sends nothing.
func (s *Server) composeQuestionAnswered(ctx context.Context, m *lectern.OutgoingMail) (mailContent, error) {
	u, err := s.mailRecipient(ctx, m)
	if err != nil {
		return mailContent{}, err
	}
	reply, err := s.db.FindComment(ctx, m.Payload, u)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND || (err == nil && reply.Body == "") {
		return mailContent{}, errNothingToSend
	}
	if err != nil {
		return mailContent{}, err
	}
	question, err := s.db.FindComment(ctx, reply.ParentID, u)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return mailContent{}, errNothingToSend
	}
	if err != nil {
		return mailContent{}, err
	}
	body := fmt.Sprintf(`Hello %s,

%s answered your question:

%s

Their answer:

%s

See it in the lesson: %s
`, u.Name, reply.AuthorName, quoteText(question.Body), quoteText(reply.Body), s.mail.publicURL+watchLink(question.LessonID, question.AtMS))
	return mailContent{Subject: "Your question was answered", Body: body,
		Unsubscribe: s.unsubscribeURL(u.ID, m.Kind)}, nil
}

// quoteText quotes a text for a plain-text mail.
func quoteText(s string) string {
	return "> " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
}

// composeQuestionDigest makes a teacher's digest of the questions open in
// the courses they teach, as they are now; none sends nothing.
func (s *Server) composeQuestionDigest(ctx context.Context, m *lectern.OutgoingMail, now time.Time) (mailContent, error) {
	u, err := s.mailRecipient(ctx, m)
	if err != nil {
		return mailContent{}, err
	}
	inbox, err := s.db.FindInbox(ctx, u, lectern.InboxFilter{Status: lectern.QuestionOpen, Limit: digestMaxQuestions})
	if err != nil {
		return mailContent{}, err
	}
	if len(inbox.Questions) == 0 {
		return mailContent{}, errNothingToSend
	}
	open := 0
	for _, l := range inbox.Lessons {
		open += l.Unanswered
	}
	if open < len(inbox.Questions) {
		open = len(inbox.Questions)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", u.Name)
	if open == 1 {
		b.WriteString("One question is waiting for an answer in the courses you teach:\n")
	} else {
		fmt.Fprintf(&b, "%d questions are waiting for an answer in the courses you teach:\n", open)
	}
	for _, q := range inbox.Questions {
		fmt.Fprintf(&b, "\n%s — %s, asked by %s on %s:\n%s\n%s\n", q.CourseTitle, q.LessonTitle, q.AuthorName,
			q.CreatedAt.UTC().Format("2 Jan 15:04 UTC"), quoteText(q.Body), s.mail.publicURL+watchLink(q.LessonID, q.AtMS))
	}
	if open > len(inbox.Questions) {
		fmt.Fprintf(&b, "\n…and %d more.\n", open-len(inbox.Questions))
	}
	fmt.Fprintf(&b, "\nAll of them are in your inbox: %s/inbox\n", s.mail.publicURL)
	subject := fmt.Sprintf("%d open questions in your courses", open)
	if open == 1 {
		subject = "1 open question in your courses"
	}
	return mailContent{Subject: subject, Body: b.String(), Unsubscribe: s.unsubscribeURL(u.ID, m.Kind)}, nil
}

// digestDue is the time of the most recent digest at or before now: today
// at hour (UTC), or yesterday's when that is still to come.
func digestDue(now time.Time, hour int) time.Time {
	now = now.UTC()
	due := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
	if due.After(now) {
		due = due.AddDate(0, 0, -1)
	}
	return due
}

// queueDigests queues the digests due, at most every digestCheckEvery in
// this process (the database decides who gets one).
func (s *Server) queueDigests(ctx context.Context) {
	if s.mail.digestHour < 0 {
		return
	}
	now := s.clock.Now()
	if !s.mail.lastDigestCheck.IsZero() && now.Sub(s.mail.lastDigestCheck) < digestCheckEvery && !now.Before(s.mail.lastDigestCheck) {
		return
	}
	s.mail.lastDigestCheck = now
	due := digestDue(now, s.mail.digestHour)
	n, err := s.db.QueueQuestionDigests(ctx, due, due.Add(digestTTL))
	if err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "question digests", slog.Any("error", err))
	}
	if n > 0 {
		s.logger.InfoContext(ctx, "question digests queued", slog.Int("count", n))
	}
}
