package lti

import "fmt"

// Reasons a message is refused, for logs, the admin's list of launches
// and tests. The Refusal's Message says it in words for the person who
// clicked.
const (
	ReasonMalformed     = "malformed_token"
	ReasonBadSignature  = "bad_signature"
	ReasonUnknownKey    = "unknown_key"
	ReasonKeySet        = "key_set_unavailable"
	ReasonWrongIssuer   = "wrong_issuer"
	ReasonWrongAudience = "wrong_audience"
	ReasonWrongAzp      = "wrong_azp"
	ReasonExpired       = "expired"
	ReasonNonce         = "nonce"
	ReasonState         = "state"
	ReasonDeployment    = "unknown_deployment"
	ReasonMissingClaim  = "missing_claim"
	ReasonMessageType   = "unsupported_message_type"
	ReasonVersion       = "unsupported_version"
	ReasonPlatform      = "unknown_platform"
	ReasonTarget        = "bad_target_link"
	ReasonRole          = "role"
	ReasonContext       = "context"
	ReasonDeepLinking   = "deep_linking_settings"
)

// Refusal is why Lectern will not believe or act on an LTI message.
type Refusal struct {
	Reason  string
	Message string
	err     error
}

func (r *Refusal) Error() string {
	if r.err != nil {
		return fmt.Sprintf("lti: %s: %s (%v)", r.Reason, r.Message, r.err)
	}
	return fmt.Sprintf("lti: %s: %s", r.Reason, r.Message)
}

// Unwrap returns the underlying error, if any.
func (r *Refusal) Unwrap() error { return r.err }

// Refuse returns a Refusal with the reason and a message in words.
func Refuse(reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func refuse(reason, format string, args ...any) *Refusal { return Refuse(reason, format, args...) }
