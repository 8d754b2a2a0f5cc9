package lectern

import "time"

// LTIPlatform is an LMS registered to launch Lectern with LTI 1.3: the
// values its admin gave Lectern's admin.
type LTIPlatform struct {
	ID           string `json:"id" db:"id"`
	Name         string `json:"name" db:"name"`
	Issuer       string `json:"issuer" db:"issuer"`
	ClientID     string `json:"client_id" db:"client_id"`
	AuthLoginURL string `json:"auth_login_url" db:"auth_login_url"`
	TokenURL     string `json:"token_url" db:"token_url"`
	JWKSURL      string `json:"jwks_url" db:"jwks_url"`
	// AdminRole is what an LMS Administrator becomes: a Lectern admin, or
	// a teacher or a student of the course.
	AdminRole   Role      `json:"admin_role" db:"admin_role"`
	Deployments []string  `json:"deployment_ids" db:"-"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
}

// LTILogin is an OIDC login Lectern started for a platform: the state
// (stored hashed) and nonce it sent, consumed by the launch.
type LTILogin struct {
	StateHash  string `db:"state_hash"`
	PlatformID string `db:"platform_id"`
	Nonce      string `db:"nonce"`
	// Params are the login initiation's parameters (URL-encoded), kept to
	// start the login again in a new window.
	Params        string    `db:"params"`
	StorageTarget string    `db:"storage_target"`
	CreatedAt     time.Time `db:"created_at"`
	ExpiresAt     time.Time `db:"expires_at"`
}

// LTILaunchRecord is one launch, let in or refused, as admins see it.
type LTILaunchRecord struct {
	ID             string    `json:"id" db:"id"`
	PlatformID     string    `json:"platform_id" db:"platform_id"`
	At             time.Time `json:"at" db:"at"`
	Sub            string    `json:"sub" db:"sub"`
	UserID         *string   `json:"user_id,omitempty" db:"user_id"`
	UserName       string    `json:"user_name,omitempty" db:"user_name"`
	MessageType    string    `json:"message_type" db:"message_type"`
	ContextID      string    `json:"context_id" db:"context_id"`
	ResourceLinkID string    `json:"resource_link_id" db:"resource_link_id"`
	// Outcome is "ok" or the reason the launch was refused.
	Outcome string `json:"outcome" db:"outcome"`
	Detail  string `json:"detail,omitempty" db:"detail"`
}

// LTIScore is a score queued for a line item, as admins see it.
type LTIScore struct {
	LinkID        string     `json:"link_id" db:"link_id"`
	PlatformID    string     `json:"platform_id" db:"platform_id"`
	UserID        string     `json:"user_id" db:"user_id"`
	UserName      string     `json:"user_name" db:"user_name"`
	Sub           string     `json:"sub" db:"sub"`
	LessonID      string     `json:"lesson_id" db:"lesson_id"`
	LessonTitle   string     `json:"lesson_title" db:"lesson_title"`
	DurationMS    int64      `json:"-" db:"duration_ms"`
	LineItemURL   string     `json:"lineitem_url" db:"lineitem_url"`
	CoveredSecs   int64      `json:"covered_secs" db:"covered_secs"`
	ChangedAt     time.Time  `json:"changed_at" db:"changed_at"`
	SentSecs      int64      `json:"sent_secs" db:"sent_secs"`
	SentAt        *time.Time `json:"sent_at,omitempty" db:"sent_at"`
	Attempts      int        `json:"attempts" db:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at" db:"next_attempt_at"`
	LastError     string     `json:"last_error,omitempty" db:"last_error"`
}

// LTIDeepLink is a deep linking request a teacher is answering: the
// platform asked for content, Lectern showed its picker. It is stored
// under the hash of a secret the picker page carries, used once.
type LTIDeepLink struct {
	IDHash     string `db:"id"`
	PlatformID string `db:"platform_id"`
	UserID     string `db:"user_id"`
	CourseID   string `db:"course_id"`
	// Request is what answering needs of the request (JSON; see
	// server/lti_deeplink.go).
	Request   string    `db:"request"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}
