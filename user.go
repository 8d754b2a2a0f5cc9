package lectern

import "time"

// Role is what a user may do across the whole server.
type Role string

// Roles. A teacher may create courses; an admin may do anything.
const (
	RoleAdmin   Role = "admin"
	RoleTeacher Role = "teacher"
	RoleStudent Role = "student"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleTeacher, RoleStudent:
		return true
	}
	return false
}

// User is a person who can log in.
type User struct {
	ID           string    `json:"id" db:"id"`
	Email        string    `json:"email" db:"email"`
	Name         string    `json:"name" db:"name"`
	Role         Role      `json:"role" db:"role"`
	PasswordHash string    `json:"-" db:"password_hash"`
	CreatedAt    time.Time `json:"created_at" db:"created_at"`
	// DeactivatedAt is when an admin deactivated the account, nil while it
	// is active: a deactivated account cannot log in and has no sessions
	// or API tokens; everything it made stays.
	DeactivatedAt *time.Time `json:"deactivated_at" db:"deactivated_at"`
}

// DeactivatedMessage is what a deactivated account is told when it tries
// to log in.
const DeactivatedMessage = "This account has been deactivated. Ask an administrator of this Lectern to reactivate it."

// IsAdmin reports whether u is an admin.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// Session is a browser login. Only a hash of the cookie value is stored.
type Session struct {
	// ID names the session to its owner (the token hash stays private).
	ID        string    `db:"id"`
	TokenHash string    `db:"token_hash"`
	UserID    string    `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	// UserAgent is the browser that logged in.
	UserAgent string `db:"user_agent"`
	// LastSeenAt is when the session was last used, recorded at most
	// every few minutes; nil until then.
	LastSeenAt *time.Time `db:"last_seen_at"`
}

// APIToken is a bearer credential for scripts and the CLI. Only a hash of
// the secret is stored; the secret is shown once. LastUsedAt is recorded
// at most about once a minute, so it may lag the latest use by that much.
type APIToken struct {
	ID         string     `json:"id" db:"id"`
	UserID     string     `json:"-" db:"user_id"`
	Name       string     `json:"name" db:"name"`
	TokenHash  string     `json:"-" db:"token_hash"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" db:"last_used_at"`
	// ExpiresAt is when the token stops working; nil means never.
	ExpiresAt *time.Time `json:"expires_at,omitempty" db:"expires_at"`
}
