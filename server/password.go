package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/lectern/lectern"
)

// Argon2id parameters: OWASP's first recommended configuration (19 MiB,
// two passes, one lane), its stated minimum. Hashes carry their
// parameters, so raising these later does not invalidate stored hashes.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Limits on what CheckPassword accepts from a stored hash, so that a
// corrupt or hostile row cannot make a login allocate gigabytes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 16
	maxArgonKeyLen    = 128
)

// Limits on user fields.
const (
	minPasswordLen = 8
	maxPasswordLen = 1024
	maxNameLen     = 200
	maxEmailLen    = 254
)

// HashPassword hashes password with argon2id and a random 16-byte salt,
// returning a PHC string "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, a PHC argon2id
// string as HashPassword returns, using the parameters the hash carries.
// The comparison is constant-time. A malformed hash is an error.
func CheckPassword(hash, password string) (bool, error) {
	var (
		version int
		m, t    uint32
		p       uint8
	)
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("check password: not an argon2id PHC string")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("check password: unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("check password: bad parameters %q", parts[3])
	}
	if m == 0 || m > maxArgonMemoryKiB || t == 0 || t > maxArgonTime || p == 0 {
		return false, fmt.Errorf("check password: parameters %q out of range", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return false, errors.New("check password: bad salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > maxArgonKeyLen {
		return false, errors.New("check password: bad hash")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NewUser validates a new user's fields and hashes the password. The
// email is trimmed and lowercased and the name trimmed. Invalid fields are
// EINVALID errors whose message names the field.
func NewUser(email, name string, role lectern.Role, password string) (*lectern.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, lectern.Errorf(lectern.EINVALID, "name is required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return nil, lectern.Errorf(lectern.EINVALID, "name must be at most %d characters", maxNameLen)
	}
	if !role.Valid() {
		return nil, lectern.Errorf(lectern.EINVALID, "role must be admin, teacher or student")
	}
	if err := validatePassword(password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return &lectern.User{Email: email, Name: name, Role: role, PasswordHash: hash}, nil
}

// validatePassword checks a new password against the rules every
// password follows.
func validatePassword(password string) error {
	if n := utf8.RuneCountInString(password); n < minPasswordLen || n > maxPasswordLen {
		return lectern.Errorf(lectern.EINVALID, "password must be %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	return nil
}

// normalizeEmail trims and lowercases email and checks that it is a bare
// address (no display name, no angle brackets).
func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", lectern.Errorf(lectern.EINVALID, "email is required")
	}
	if len(email) > maxEmailLen {
		return "", lectern.Errorf(lectern.EINVALID, "email must be at most %d characters", maxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", lectern.Errorf(lectern.EINVALID, "email %q is not a valid address", email)
	}
	return email, nil
}

// hashSlots caps the password hashes computed at once. Each argon2id hash
// holds 19 MiB and a CPU for tens of milliseconds: without a cap, a burst
// of logins grows memory without bound (20 concurrent wrong logins took a
// server from 76 MB to 466 MB) and starves every other request of CPU.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration

	running atomic.Int64
	peak    atomic.Int64 // most hashes ever running at once, for tests and metrics
}

func newHashSlots(n int, wait time.Duration) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, n), wait: wait}
}

// errHashBusy is the answer when no hashing slot frees up in time.
func errHashBusy() error {
	return lectern.Errorf(lectern.EUNAVAILABLE, "the server is busy checking other passwords; try again in a few seconds")
}

// acquire waits up to h.wait for a free slot. It reports false when none
// came in time or ctx ended first; the caller answers 503 then.
func (h *hashSlots) acquire(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// release frees a slot that acquire took.
func (h *hashSlots) release() { <-h.slots }

// run runs one hash (f) in a slot the caller holds, counting it.
func (h *hashSlots) run(f func()) {
	n := h.running.Add(1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	defer h.running.Add(-1)
	f()
}
