package lectern

import (
	"context"
	"time"
)

// Mailer delivers one finished message (RFC 5322, CRLF line endings) to
// the given recipients. The smtp package implements it. An error whose
// Permanent method reports true (a recipient refused for good) is not
// retried.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// Kinds of outgoing mail.
const (
	// MailPasswordReset carries a link that sets a new password.
	MailPasswordReset = "password_reset"
	// MailEmailChange carries a link that confirms a new email address.
	MailEmailChange = "email_change"
	// MailEmailChanged tells an old address that the account's address
	// changed (Payload is the new one).
	MailEmailChanged = "email_changed"
	// MailQuestionAnswered tells an asker that a teacher answered their
	// question (Payload is the answer's ID). Optional.
	MailQuestionAnswered = "question_answered"
	// MailQuestionDigest lists a teacher's open questions, once a day.
	// Optional.
	MailQuestionDigest = "question_digest"
	// MailCourseInvitation invites an address with no account to a
	// course; its link lets them set a name and password.
	MailCourseInvitation = "course_invitation"
)

// OptionalMail lists the kinds of mail a user may turn off, in the order
// the account page shows them. Account mail (resets, confirmations,
// notices of a changed address) is not among them.
var OptionalMail = []string{MailQuestionAnswered, MailQuestionDigest}

// OutgoingMail is a mail waiting in the outbox: what to send to whom, not
// the finished message, which is made when it is sent.
type OutgoingMail struct {
	ID     string  `db:"id"`
	Kind   string  `db:"kind"`
	UserID *string `db:"user_id"`
	To     string  `db:"to_addr"`
	// Payload is the kind's own data (for an email change, the new
	// address).
	Payload       string     `db:"payload"`
	CreatedAt     time.Time  `db:"created_at"`
	ExpiresAt     time.Time  `db:"expires_at"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	Attempts      int        `db:"attempts"`
	LastError     string     `db:"last_error"`
	LeaseUntil    *time.Time `db:"lease_until"`
}

// Purposes of one-time links sent by mail (UserToken.Purpose).
const (
	TokenPasswordReset = "password_reset"
	TokenEmailChange   = "email_change"
)

// UserToken is a one-time link sent by mail. Only a hash of the token is
// stored.
type UserToken struct {
	TokenHash string `db:"token_hash"`
	UserID    string `db:"user_id"`
	Purpose   string `db:"purpose"`
	// Email is the new address of an email change.
	Email     string     `db:"email"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
	UsedAt    *time.Time `db:"used_at"`
}
